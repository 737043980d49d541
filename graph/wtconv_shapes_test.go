package graph

import (
	"testing"

	"github.com/wtonnx/wtonnx/onnxpb"
)

// A converted model's WTConv layers in the fused and the function form keep
// the shape of the depthwise conv they replace (ceil(H/s) x ceil(W/s)), so
// the shapes of everything after them stay known.
func TestInferShapesThroughWTConvNodes(t *testing.T) {
	intAttr := func(name string, v int64) *onnxpb.AttributeProto {
		ty := onnxpb.AttributeProto_INT
		return &onnxpb.AttributeProto{Name: &name, Type: &ty, I: &v}
	}
	fused := node("WTConv", "fused", []string{"x", "bw", "", "bs", "ww", "ws"}, []string{"y"}, intAttr("levels", 2), intAttr("stride", 2))
	fused.Domain = ptr("ai.wtonnx")
	fn := node("WTConv_C8_K5_L2_S1", "function", []string{"y", "bw", "", "bs", "ww", "ws"}, []string{"z"}, intAttr("levels", 2))
	fn.Domain = ptr("ai.wtonnx.function")
	relu := node("Relu", "relu", []string{"z"}, []string{"r"})
	ty := int32(onnxpb.TensorProto_FLOAT)
	dims := []*onnxpb.TensorShapeProto_Dimension{}
	for _, d := range []int64{1, 8, 15, 9} {
		dims = append(dims, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	m := &onnxpb.ModelProto{
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Version: ptr(int64(17))}},
		Graph: &onnxpb.GraphProto{
			Node: []*onnxpb.NodeProto{fused, fn, relu},
			Input: []*onnxpb.ValueInfoProto{{Name: ptr("x"), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
				TensorType: &onnxpb.TypeProto_Tensor{ElemType: &ty, Shape: &onnxpb.TensorShapeProto{Dim: dims}}}}}},
		},
	}
	s, err := InferShapes(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]Shape{"y": {1, 8, 8, 5}, "z": {1, 8, 8, 5}, "r": {1, 8, 8, 5}} {
		if got := s.Of(name); len(got) != len(want) || !got.Known() || got[2] != want[2] || got[3] != want[3] {
			t.Errorf("%s: shape %v, want %v", name, got, want)
		}
	}
}
