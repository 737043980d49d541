.PHONY: setup ort

# setup prepares everything the tests need that is not in the repository.
setup: ort

# ort caches the ONNX Runtime 1.30.0 CPU library at .cache/onnxruntime/
# (see scripts/fetch-onnxruntime.sh; set WTONNX_ORT_TARBALL to reuse a
# downloaded onnxruntime-node-1.30.0.tgz).
ort:
	./scripts/fetch-onnxruntime.sh
