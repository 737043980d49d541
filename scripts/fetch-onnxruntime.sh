#!/usr/bin/env bash
# fetch-onnxruntime.sh: cache the official ONNX Runtime 1.30.0 CPU library
# (linux/x64) at .cache/onnxruntime/libonnxruntime.so.1 in the repository.
#
# The library comes from the npm package onnxruntime-node@1.30.0, fetched with
# `npm pack` (never `npm install`: the package's install script tries to
# download CUDA providers). Both the tarball and the extracted library are
# checked against pinned sha256 sums. Running it again does nothing when the
# cached library is present and its checksum matches.
#
# Environment:
#   WTONNX_ORT_TARBALL  use this already downloaded onnxruntime-node-1.30.0.tgz
#                       instead of running `npm pack` (it is still verified).
set -euo pipefail

ORT_VERSION=1.30.0
NPM_SPEC="onnxruntime-node@${ORT_VERSION}"
TARBALL_SHA256=6e3390d6b783e7be946fad629292799da28d0b42f84856e50d2c1b0383291e75
LIB_SHA256=ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23
LIB_IN_TARBALL=package/bin/napi-v6/linux/x64/libonnxruntime.so.1

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest_dir="${repo_root}/.cache/onnxruntime"
dest="${dest_dir}/libonnxruntime.so.1"

log() { printf 'fetch-onnxruntime: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

sha256_of() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum "$1" | cut -d' ' -f1
	elif command -v shasum >/dev/null 2>&1; then
		shasum -a 256 "$1" | cut -d' ' -f1
	else
		die "need sha256sum or shasum to verify downloads"
	fi
}

if [[ -f "$dest" ]]; then
	if [[ "$(sha256_of "$dest")" == "$LIB_SHA256" ]]; then
		log "ONNX Runtime ${ORT_VERSION} already cached at ${dest}"
		exit 0
	fi
	log "cached ${dest} has a wrong checksum; fetching it again"
fi

os="$(uname -s)"
arch="$(uname -m)"
if [[ "$os" != "Linux" || ( "$arch" != "x86_64" && "$arch" != "amd64" ) ]]; then
	die "this script provides the linux/x64 library only (this machine is ${os}/${arch}); set WTONNX_ORT_LIB to an ONNX Runtime ${ORT_VERSION} shared library instead"
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

if [[ -n "${WTONNX_ORT_TARBALL:-}" ]]; then
	[[ -f "$WTONNX_ORT_TARBALL" ]] || die "WTONNX_ORT_TARBALL=${WTONNX_ORT_TARBALL}: no such file"
	log "using tarball ${WTONNX_ORT_TARBALL}"
	tarball="$WTONNX_ORT_TARBALL"
else
	command -v npm >/dev/null 2>&1 || die "npm not found: install Node.js/npm, or set WTONNX_ORT_TARBALL to a downloaded onnxruntime-node-${ORT_VERSION}.tgz, or WTONNX_ORT_LIB to the library"
	log "downloading ${NPM_SPEC} with npm pack (about 110 MB)"
	(cd "$tmp" && npm pack --ignore-scripts --silent "$NPM_SPEC" >/dev/null) ||
		die "npm pack ${NPM_SPEC} failed"
	tarball="${tmp}/onnxruntime-node-${ORT_VERSION}.tgz"
	[[ -f "$tarball" ]] || die "npm pack did not produce ${tarball}"
fi

got="$(sha256_of "$tarball")"
[[ "$got" == "$TARBALL_SHA256" ]] ||
	die "${tarball}: sha256 ${got}, want ${TARBALL_SHA256}"

tar -xzf "$tarball" -C "$tmp" "$LIB_IN_TARBALL" ||
	die "${tarball} does not contain ${LIB_IN_TARBALL}"
lib="${tmp}/${LIB_IN_TARBALL}"
got="$(sha256_of "$lib")"
[[ "$got" == "$LIB_SHA256" ]] ||
	die "${LIB_IN_TARBALL}: sha256 ${got}, want ${LIB_SHA256}"

mkdir -p "$dest_dir"
cp "$lib" "${dest}.partial"
chmod 0644 "${dest}.partial"
mv -f "${dest}.partial" "$dest"
log "cached ONNX Runtime ${ORT_VERSION} at ${dest}"
