package goexec

import (
	"math"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
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

// Impossible inputs to the newer kernels are errors, never panics.
func TestNewKernelsRefuseBadInputs(t *testing.T) {
	x := f32([]int{1, 1, 0, 2})
	for name, run := range map[string]func() error{
		"Resize of an empty axis": func() error {
			_, err := tryOp(13, "Resize", []*tensor.Tensor{x, nil, nil, i64([]int{4}, 1, 1, 3, 2)})
			return err
		},
		"Resize with a zero scale": func() error {
			_, err := tryOp(13, "Resize", []*tensor.Tensor{seq(1, 1, 2, 2), nil, f32([]int{4}, 1, 1, 0, 1)})
			return err
		},
		"Range to infinity": func() error {
			_, err := tryOp(13, "Range", []*tensor.Tensor{f32([]int{}, 0), f32([]int{}, float32(math.Inf(1))), f32([]int{}, 1)})
			return err
		},
		"ArgMax of an empty axis": func() error {
			_, err := tryOp(13, "ArgMax", []*tensor.Tensor{x}, aInt("axis", 2))
			return err
		},
		"Mod by zero": func() error {
			_, err := tryOp(13, "Mod", []*tensor.Tensor{i64([]int{1}, 3), i64([]int{1}, 0)})
			return err
		},
		"DepthToSpace of indivisible channels": func() error {
			_, err := tryOp(13, "DepthToSpace", []*tensor.Tensor{seq(1, 3, 2, 2)}, aInt("blocksize", 2))
			return err
		},
		"Tile with too few repeats": func() error {
			_, err := tryOp(13, "Tile", []*tensor.Tensor{seq(2, 2), i64([]int{1}, 2)})
			return err
		},
		"LRN without size": func() error {
			_, err := tryOp(13, "LRN", []*tensor.Tensor{seq(1, 2, 2, 2)})
			return err
		},
	} {
		if err := run(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
