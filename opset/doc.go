// Package opset is the registry of the ONNX operators wtonnx understands:
// for each operator its domain, the operator-set versions it is supported
// at, the attributes and arity it accepts, and its static shape rule.
//
// One entry per operator serves three readers: graph's shape inference
// (which convert uses, so this package runs nothing), the pure-Go engine
// (runtime/goexec attaches a kernel builder to every entry, and a test
// keeps the two sets equal) and `wtonnx ops` / `wtonnx inspect`, which
// report what the Go engine supports and which of a model's operators it
// lacks. Adding an operator means one Schema here and one kernel there.
package opset
