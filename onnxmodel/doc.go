// Package onnxmodel loads, checks and saves ONNX models.
//
// A model file is untrusted input: Load and Parse check every tensor's byte
// length against its dims before anything is allocated, reject absurd sizes,
// cycles, dangling names and external-data paths that leave the model's
// folder, and report each problem with the tensor or node it concerns.
//
// Save writes atomically (temporary file, then rename), never replaces an
// existing file unless asked, can move large tensors into an external data
// file, and streams initializers one at a time so that saving a large model
// costs little memory beyond the model itself. Output is deterministic: the
// same model always gives the same bytes. Fields the schema does not know
// (from newer ONNX releases) are kept and written back unchanged.
package onnxmodel
