// Package tritonpb holds the Go types of NVIDIA Triton Inference Server's
// model configuration schema (model_config.proto, from the
// triton-inference-server/common repository, BSD-3-Clause, notice in the
// file). A model repository's config.pbtxt is its ModelConfig message in
// protobuf text format.
//
// Only tests use it: they parse every config.pbtxt that `wtonnx export
// triton` writes with Triton's own schema (prototext rejects unknown fields
// and wrong types) and check each field against the model. The writer
// itself does not depend on it.
//
// Regenerate with `go generate ./internal/tritonpb` (needs protoc and
// protoc-gen-go v1.36 on PATH); the generated file is committed so that
// building needs neither.
package tritonpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go_opt=Mmodel_config.proto=github.com/wtonnx/wtonnx/internal/tritonpb;tritonpb model_config.proto
