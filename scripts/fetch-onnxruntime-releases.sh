#!/usr/bin/env bash
# fetch-onnxruntime-releases.sh: cache older official ONNX Runtime CPU
# libraries at .cache/onnxruntime-releases/VERSION/libonnxruntime.so.1, from
# the onnxruntime-node npm package of each release, so that the custom-op
# library is tested on every API version it accepts
# (`make customop-ort-releases-test`). 1.30.0 is `make ort`'s library.
# Tarballs: 52 MB (1.17.3), 70 MB (1.20.1), 86 MB (1.24.3).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="$(cd "$here/.." && pwd)/.cache/onnxruntime-releases"

"$here/fetch-npm-libs.sh" "$dest/1.17.3" onnxruntime-node@1.17.3 \
	fd586d4ab53d89fdade19ffcc75b208fd66ab417b247cb6ae299be1bb40d76be \
	"package/bin/napi-v3/linux/x64/libonnxruntime.so.1.17.3=libonnxruntime.so.1=f96ba39c4021546992807e596c5be53a73b3683fe5dc89c43ffb4769bffeea3f"
"$here/fetch-npm-libs.sh" "$dest/1.20.1" onnxruntime-node@1.20.1 \
	0d8e3928e14fd4e2bdcf4feabbd5db689ba980ccabb9c806f43a303cdc13c5a5 \
	"package/bin/napi-v3/linux/x64/libonnxruntime.so.1.20.1=libonnxruntime.so.1=b7ccdd4204a273d0f2812958c7b074f3632d1de3ab91252a8791fe6da7046d19"
"$here/fetch-npm-libs.sh" "$dest/1.24.3" onnxruntime-node@1.24.3 \
	aa1bb5fa261ea68de05dd53efbba210cd7adf2d2850f4c3a201054c74cc78040 \
	"package/bin/napi-v6/linux/x64/libonnxruntime.so.1=libonnxruntime.so.1=92ba8e44d31b80a34f5e805076a044122c3be1fffe0d88ed790de7267b0b2682"
