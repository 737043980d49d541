#!/usr/bin/env bash
# fetch-onnxruntime-gpu.sh (`make setup-gpu`): cache a matched GPU set of
# ONNX Runtime 1.29.0 at .cache/onnxruntime-gpu/: the core library
# (libonnxruntime.so.1) with the CUDA and TensorRT execution providers
# beside it, where ONNX Runtime looks for them. Every tarball and file is
# checked against a pinned SHA-256 sum.
#
# The providers (libonnxruntime_providers_{shared,cuda,tensorrt}.so) come
# from the npm package com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
# (179 MB). The core library comes from onnxruntime-node@1.29.0 (the
# official build, 45 MB library), not from its sibling
# com.github.asus4.onnxruntime@0.4.9: that core is built without the CUDA
# provider interface (OrtApi::CreateCUDAProviderOptions answers "CUDA
# execution provider is not enabled in this build"), so the V2 provider
# options that onnxruntime_go uses cannot reach its providers; the official
# 1.29.0 core creates them and loads the same provider files.
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

"$here/fetch-npm-libs.sh" "$dest" onnxruntime-node@1.29.0 \
	cfdfb45ec4044b1fdca43e5d2e180fb6817e649ff8ad1e0dfc90e18e51b67037 \
	"package/bin/napi-v6/linux/x64/libonnxruntime.so.1=libonnxruntime.so.1=89688f5cf51c7e31befbb7b9101bc027799009b18d1baa9a5b1146a72e69538d"
"$here/fetch-npm-libs.sh" "$dest" com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 \
	2b459e0c17f340c92970c10ed86de4f37a3009f93c14053e6ad4334cbb6be412 \
	"$x64/libonnxruntime_providers_shared.so=libonnxruntime_providers_shared.so=c6a12593396095f5670160e284c35d1700b7708cf3037b7042e2a5200ccae772" \
	"$x64/libonnxruntime_providers_cuda.so=libonnxruntime_providers_cuda.so=56cf3254b118ad837ccc4ed8f6d1b23504bbf7ef91b34cbc0b289cb7f10b3037" \
	"$x64/libonnxruntime_providers_tensorrt.so=libonnxruntime_providers_tensorrt.so=ef6071798a339038ad66c428fb1a809cf8e499bffc3b6870e4e8bc4f4c6a6320"
