package goexec

import (
	"errors"
	"fmt"

	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/opset"
)

// The engine holds floating-point tensors as float32 and integer and
// boolean tensors as int64 (exact for every integer type it accepts).
// DOUBLE would have to be narrowed to float32, which silently changes
// results, so a model that computes in DOUBLE is refused by name: the
// tensor, attribute or Cast that holds or makes it.
var errDouble = errors.New("element type DOUBLE is not supported: the Go engine computes float32 and would narrow it")

// checkDTypes refuses a node whose attributes hold or whose Cast makes a
// DOUBLE tensor.
func checkDTypes(n *onnxpb.NodeProto) error {
	if what := opset.MakesDouble(n); what != "" {
		return fmt.Errorf("%s: %w", what, errDouble)
	}
	return nil
}
