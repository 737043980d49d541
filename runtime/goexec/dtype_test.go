package goexec

import (
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
)

// A DOUBLE tensor is refused at Open, naming it, wherever it comes from:
// the engine computes float32 and never narrows silently.
func TestDoubleIsRefusedByName(t *testing.T) {
	double := func(name string) *onnxpb.TensorProto {
		t := onnxmodel.NewFloat32Tensor(name, []int64{1}, []float32{1})
		t.DataType = ptr(int32(onnxpb.TensorProto_DOUBLE))
		t.RawData = make([]byte, 8)
		return t
	}
	cases := map[string]func() *onnxpb.ModelProto{
		`initializer "w"`: func() *onnxpb.ModelProto {
			b := newGB(13).input("x", onnxpb.TensorProto_FLOAT, 1)
			b.g.Initializer = append(b.g.Initializer, double("w"))
			b.node("Add", []string{"x", "w"}, []string{"y"})
			return b.output("y").model()
		},
		`graph input "x"`: func() *onnxpb.ModelProto {
			b := newGB(13).input("x", onnxpb.TensorProto_DOUBLE, 1)
			b.node("Relu", []string{"x"}, []string{"y"})
			return b.output("y").model()
		},
		`Cast to DOUBLE`: func() *onnxpb.ModelProto {
			b := newGB(13).input("x", onnxpb.TensorProto_FLOAT, 1)
			b.node("Cast", []string{"x"}, []string{"y"}, aInt("to", int64(onnxpb.TensorProto_DOUBLE)))
			return b.output("y").model()
		},
		`attribute "value"`: func() *onnxpb.ModelProto {
			b := newGB(13).input("x", onnxpb.TensorProto_FLOAT, 1)
			b.node("Constant", nil, []string{"c"}, &onnxpb.AttributeProto{Name: strp("value"), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: double("")})
			b.node("Add", []string{"x", "c"}, []string{"y"})
			return b.output("y").model()
		},
	}
	for want, build := range cases {
		_, err := Open(build(), Options{})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "DOUBLE is not supported") {
			t.Errorf("%s: Open gave %v", want, err)
		}
	}
}
