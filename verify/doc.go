// Package verify compares what ONNX models compute, in the manner of
// Polygraphy: it feeds the same inputs to one model on several engines, to
// two models (an original and its conversion) on each engine, or to one
// model on each engine against saved reference outputs (ReferenceSpec), and
// reports per output how far the results are apart.
//
// Inputs come from .npy files or from a seeded generator (Inputs). Compare
// measures two sets of outputs against a Tolerance: an element fails when
// |a-b| > atol + scale*max|b| + rtol*|b|, b being the reference and max|b|
// the largest magnitude of that output, so that an output is judged at its
// own scale (DefaultTolerance: scale 1e-4, rtol 1e-3). Run does the whole
// job and returns a Result whose JSON form is stable (see Result); with
// Options.Localize it also marks every intermediate tensor as an output and
// names the first node, in topological order, whose output diverges.
//
// Engines are named "ort" (ONNX Runtime) and "go" (the pure-Go executor);
// package runtime/engines opens them.
package verify
