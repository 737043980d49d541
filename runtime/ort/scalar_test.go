package ort

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
)

// A rank-0 output whose shape the model does not declare is allocated by
// ONNX Runtime; Run returns it (or a clear error), never panics.
func TestUndeclaredScalarOutput(t *testing.T) {
	out := &onnxpb.ValueInfoProto{
		Name: proto.String("y"),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
		}}},
	}
	n := node("ReduceSum", []string{"x"}, []string{"y"})
	n.Attribute = append(n.Attribute, &onnxpb.AttributeProto{
		Name: proto.String("keepdims"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(0),
	})
	g := &onnxpb.GraphProto{
		Node:   []*onnxpb.NodeProto{n},
		Input:  []*onnxpb.ValueInfoProto{valueInfo("x", onnxpb.TensorProto_FLOAT, 2, 3)},
		Output: []*onnxpb.ValueInfoProto{out},
	}
	e := openBytes(t, model(t, g), Options{})
	x := tensor.NewFloat32([]int{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	// The first Run learns that y is a scalar (and runs again); later
	// Runs preallocate it.
	for run := 0; run < 3; run++ {
		got, err := e.Run(context.Background(), map[string]*tensor.Tensor{"x": x}, nil)
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		y := got["y"]
		if y == nil || len(y.Shape) != 0 || len(y.F32) != 1 || y.F32[0] != 21 {
			t.Fatalf("run %d: y = %+v, want the scalar 21", run, y)
		}
		if n := e.live.Load(); n != 0 {
			t.Fatalf("run %d: %d ONNX Runtime values not released", run, n)
		}
	}
}
