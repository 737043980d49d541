// Package onnxpb holds the Go types of the ONNX protobuf schema (onnx.proto).
//
// The schema is the IR 8 onnx.proto shipped by Debian's python3-onnx, with
// the data types and IR versions of IR 9 and 10 added to its enums. Fields
// that later IR versions added elsewhere (node and function overloads,
// metadata on nodes) are kept by protobuf as unknown fields, so a model
// written by a newer exporter survives a load/save round trip unchanged.
//
// Regenerate with `go generate ./onnxpb` (needs protoc and protoc-gen-go
// v1.36 on PATH); the generated file is committed so that building needs
// neither.
package onnxpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative onnx.proto
