#!/usr/bin/env bash
# fetch-onnxruntime.sh: cache the official ONNX Runtime 1.30.0 CPU library
# (linux/x64) at .cache/onnxruntime/libonnxruntime.so.1 in the repository.
#
# The library comes from the npm package onnxruntime-node@1.30.0, fetched with
# `npm pack` (never `npm install`: the package's install script tries to
# download CUDA providers) by fetch-npm-libs.sh. Both the tarball and the
# extracted library are checked against pinned sha256 sums. Running it again
# does nothing when the cached library is present and its checksum matches.
#
# Environment:
#   WTONNX_ORT_TARBALL  use this already downloaded onnxruntime-node-1.30.0.tgz
#                       instead of running `npm pack` (it is still verified).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="$(cd "$here/.." && pwd)/.cache/onnxruntime"

if [[ -n "${WTONNX_ORT_TARBALL:-}" ]]; then
	[[ -f "$WTONNX_ORT_TARBALL" ]] || { echo "fetch-onnxruntime: WTONNX_ORT_TARBALL=${WTONNX_ORT_TARBALL}: no such file" >&2; exit 1; }
	tarballs="$(mktemp -d)"
	trap 'rm -rf "$tarballs"' EXIT
	ln -s "$(cd "$(dirname "$WTONNX_ORT_TARBALL")" && pwd)/$(basename "$WTONNX_ORT_TARBALL")" "$tarballs/onnxruntime-node-1.30.0.tgz"
	export WTONNX_NPM_TARBALL_DIR="$tarballs"
fi
"$here/fetch-npm-libs.sh" "$dest" onnxruntime-node@1.30.0 \
	6e3390d6b783e7be946fad629292799da28d0b42f84856e50d2c1b0383291e75 \
	"package/bin/napi-v6/linux/x64/libonnxruntime.so.1=libonnxruntime.so.1=ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23"
