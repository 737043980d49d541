package graph

import (
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
)

func TestResolveDefault(t *testing.T) {
	shape := onnxmodel.NewInt64Tensor("s", []int64{4}, []int64{2, 1, 3, 3})
	g := &onnxpb.GraphProto{
		Initializer: []*onnxpb.TensorProto{shape},
		Node:        []*onnxpb.NodeProto{node("ConstantOfShape", "cos", []string{"s"}, []string{"w"})},
		Input:       []*onnxpb.ValueInfoProto{{Name: ptr("x")}, {Name: ptr("s")}},
	}
	ix := NewIndex(g)
	if _, err := ix.ResolveConstant("w"); err == nil || !strings.Contains(err.Error(), `"s" is an initializer that is also a graph input`) {
		t.Fatalf("ResolveConstant: %v", err)
	}
	c, err := ix.ResolveDefault("w")
	if err != nil {
		t.Fatal(err)
	}
	if c.Value.Len() != 18 || len(c.Overridable) != 1 || c.Overridable[0] != "s" {
		t.Fatalf("ResolveDefault: %v, overridable %v", c.Value.Shape, c.Overridable)
	}
}

func TestCheckConv(t *testing.T) {
	x := &onnxpb.ValueInfoProto{Name: ptr("x"), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
		ElemType: ptr(int32(onnxpb.TensorProto_FLOAT)),
		Shape: &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{
			{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 1}}, {Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 4}},
			{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 8}}, {Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 8}}}}}}}}
	group := func(g int64) *onnxpb.AttributeProto {
		a := onnxpb.AttributeProto_INT
		return &onnxpb.AttributeProto{Name: ptr("group"), Type: &a, I: &g}
	}
	str := &onnxpb.TensorProto{Name: ptr("w"), DataType: ptr(int32(onnxpb.TensorProto_STRING)), Dims: []int64{4, 1, 3, 3}}
	for _, c := range []struct {
		name   string
		w      *onnxpb.TensorProto
		bias   *onnxpb.TensorProto
		attrs  []*onnxpb.AttributeProto
		want   string // "" for valid
		inputs []string
	}{
		{"depthwise", onnxmodel.NewFloat32Tensor("w", []int64{4, 1, 3, 3}, make([]float32, 36)), nil, []*onnxpb.AttributeProto{group(4)}, "", nil},
		{"dense", onnxmodel.NewFloat32Tensor("w", []int64{2, 4, 3, 3}, make([]float32, 72)), nil, nil, "", nil},
		{"3 outputs for group 4", onnxmodel.NewFloat32Tensor("w", []int64{3, 1, 3, 3}, make([]float32, 27)), nil, []*onnxpb.AttributeProto{group(4)}, `weight "w" has 3 output channels, not a multiple of group 4`, nil},
		{"channels", onnxmodel.NewFloat32Tensor("w", []int64{4, 1, 3, 3}, make([]float32, 36)), nil, []*onnxpb.AttributeProto{group(2)}, `input "x" has 4 channels but weight "w" expects 1 x group 2 = 2`, nil},
		{"string weight", str, nil, []*onnxpb.AttributeProto{group(4)}, `weight "w" is string`, nil},
		{"kernel_shape", onnxmodel.NewFloat32Tensor("w", []int64{4, 1, 3, 3}, make([]float32, 36)), nil, []*onnxpb.AttributeProto{group(4), intsAttr("kernel_shape", 5, 5)}, `kernel_shape [5 5] does not match weight "w"`, nil},
		{"bias length", onnxmodel.NewFloat32Tensor("w", []int64{4, 1, 3, 3}, make([]float32, 36)), onnxmodel.NewFloat32Tensor("b", []int64{3}, make([]float32, 3)), []*onnxpb.AttributeProto{group(4)}, `bias "b" has shape [3]; want [4]`, nil},
		{"no weight", nil, nil, nil, "needs a weight input", []string{"x"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := c.inputs
			if in == nil {
				in = []string{"x", "w"}
			}
			g := &onnxpb.GraphProto{Input: []*onnxpb.ValueInfoProto{x}}
			if c.w != nil {
				g.Initializer = append(g.Initializer, c.w)
			}
			if c.bias != nil {
				g.Initializer = append(g.Initializer, c.bias)
				in = append(in, "b")
			}
			n := node("Conv", "conv", in, []string{"y"}, c.attrs...)
			g.Node = []*onnxpb.NodeProto{n}
			m := &onnxpb.ModelProto{IrVersion: ptr(int64(8)), Graph: g,
				OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: ptr(""), Version: ptr(int64(13))}}}
			shapes, err := InferShapes(m, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = CheckConvs(m, shapes)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("valid conv refused: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `node "conv"`)):
				t.Fatalf("error %v, want one naming node \"conv\" and %q", err, c.want)
			}
		})
	}
}
