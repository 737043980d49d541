#!/usr/bin/env bash
# fetch-onnxruntime-gpu.sh (`make setup-gpu`): cache a matched GPU build of
# ONNX Runtime 1.29.0 at .cache/onnxruntime-gpu/: the core library
# (libonnxruntime.so.1) with the CUDA and TensorRT execution providers
# beside it, where ONNX Runtime looks for them. The files come from the npm
# packages com.github.asus4.onnxruntime@0.4.9 (core) and
# com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 (providers), 330 MB of
# tarballs; every tarball and file is checked against a pinned SHA-256 sum.
#
# At run time the CUDA provider needs CUDA 13 (libcudart.so.13,
# libcublas.so.13, libcublasLt.so.13, libcurand.so.10) and the NVIDIA
# driver's libcuda.so.1 on the loader path; TensorRT also libnvinfer.so.10,
# libnvonnxparser.so.10 and cuDNN 9 (libcudnn.so.9). `wtonnx doctor` says
# which of them the loader cannot find.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="$(cd "$here/.." && pwd)/.cache/onnxruntime-gpu"
x64=package/Plugins/Linux/x64

"$here/fetch-npm-libs.sh" "$dest" com.github.asus4.onnxruntime@0.4.9 \
	e59788788818fdde1b2e522e766a21ba0f7d8391de55737abf81e32cc801785d \
	"$x64/libonnxruntime.so=libonnxruntime.so.1=5715f06d8992ca8eeeddcce43df3a7d38f97d537052126f558e912cb312460ca"
"$here/fetch-npm-libs.sh" "$dest" com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 \
	2b459e0c17f340c92970c10ed86de4f37a3009f93c14053e6ad4334cbb6be412 \
	"$x64/libonnxruntime_providers_shared.so=libonnxruntime_providers_shared.so=c6a12593396095f5670160e284c35d1700b7708cf3037b7042e2a5200ccae772" \
	"$x64/libonnxruntime_providers_cuda.so=libonnxruntime_providers_cuda.so=56cf3254b118ad837ccc4ed8f6d1b23504bbf7ef91b34cbc0b289cb7f10b3037" \
	"$x64/libonnxruntime_providers_tensorrt.so=libonnxruntime_providers_tensorrt.so=ef6071798a339038ad66c428fb1a809cf8e499bffc3b6870e4e8bc4f4c6a6320"
