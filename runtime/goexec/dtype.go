package goexec

import (
	"errors"
	"fmt"

	"github.com/wtonnx/wtonnx/onnxpb"
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
	for _, a := range n.GetAttribute() {
		if t := a.GetT(); t != nil && onnxpb.TensorProto_DataType(t.GetDataType()) == onnxpb.TensorProto_DOUBLE {
			return fmt.Errorf("attribute %q: %w", a.GetName(), errDouble)
		}
	}
	if normDomain(n.GetDomain()) == "" && n.GetOpType() == "Cast" {
		for _, a := range n.GetAttribute() {
			if a.GetName() == "to" && onnxpb.TensorProto_DataType(a.GetI()) == onnxpb.TensorProto_DOUBLE {
				return fmt.Errorf("Cast to DOUBLE: %w", errDouble)
			}
		}
	}
	return nil
}
