#!/usr/bin/env bash
# install-deps.sh: install the Debian packages wtonnx's build and tests need
# when they are missing: gcc (cgo, the custom-op library), npm (fetching ONNX
# Runtime), python3-onnx (the ONNX checker used in tests), python3-torch and
# python3-torchvision (the full-size torchvision models cmd/wtonnx's verify
# tests export with testmodels/gen/fullsize.py). Does nothing when
# everything is present; needs root (or sudo) otherwise.
set -euo pipefail

need=()
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)
command -v npm >/dev/null 2>&1 || need+=(npm)
command -v make >/dev/null 2>&1 || need+=(make)
/usr/bin/python3 -c 'import onnx' >/dev/null 2>&1 || need+=(python3-onnx)
/usr/bin/python3 -c 'import torch, torchvision' >/dev/null 2>&1 || need+=(python3-torch python3-torchvision)
[ "${WTONNX_WITH_CHROMIUM:-1}" = 1 ] && ! command -v chromium >/dev/null 2>&1 && need+=(chromium)

if [ ${#need[@]} -eq 0 ]; then
	exit 0
fi
echo "install-deps: installing ${need[*]}" >&2
sudo=""
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null 2>&1 || { echo "install-deps: run as root: apt-get install ${need[*]}" >&2; exit 1; }
	sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
