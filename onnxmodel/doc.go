// Package onnxmodel loads, checks and saves ONNX models.
//
// A model file is untrusted input: Load and Parse check every tensor's byte
// length against its dims before anything is allocated, reject absurd sizes,
// cycles, dangling names and external-data paths that leave the model's
// folder, and report each problem with the tensor or node it concerns.
// Validation takes time close to linear in the model's size, even for
// thousands of nested subgraphs.
//
// Load maps the file and decodes the initializers one at a time, releasing
// the mapped pages it has passed, so that loading a model costs about its
// size in memory (a ConvNeXt-T-sized model of 114 MB: peak RSS 1.15x the
// file, see BenchmarkLoadSaveConvNeXtTiny).
//
// Save writes atomically (temporary file, then rename), never replaces an
// existing file unless asked, can move large tensors into an external data
// file, and streams initializers one at a time, writing their raw data
// straight from the model, so that saving costs little memory beyond the
// model itself. Output is deterministic: Save writes exactly the bytes of
// Marshal (when no data goes to an external file). Fields the schema does
// not know (from newer ONNX releases) are kept and written back unchanged.
package onnxmodel
