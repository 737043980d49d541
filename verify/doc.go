// Package verify compares what ONNX models compute, in the manner of
// Polygraphy: it feeds the same inputs to one model on several engines, or to
// two models (an original and its conversion) on each engine, and reports per
// output how far the results are apart.
//
// Inputs come from .npy files or from a seeded generator (Inputs). Compare
// measures two sets of outputs against a tolerance: an element fails when
// |a-b| > atol + rtol*|b|, b being the reference. Run does the whole job and
// returns a Result whose JSON form is stable (see Result); with
// Options.Localize it also marks every intermediate tensor as an output and
// names the first node, in topological order, whose output diverges.
//
// Engines are named "ort" (ONNX Runtime, package runtime/ort) and "go" (the
// pure-Go executor, package runtime/goexec). OpenEngine opens either; for ONNX
// Runtime it registers wtonnx's fused-operator library automatically when the
// model has nodes in the ai.wtonnx domain.
package verify
