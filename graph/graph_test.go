package graph

import (
	"path/filepath"
	"testing"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
)

func node(op, name string, in, out []string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{OpType: &op, Name: &name, Input: in, Output: out, Attribute: attrs}
}

func intsAttr(name string, v ...int64) *onnxpb.AttributeProto {
	t := onnxpb.AttributeProto_INTS
	return &onnxpb.AttributeProto{Name: &name, Type: &t, Ints: v}
}

func tensorAttr(name string, v *onnxpb.TensorProto) *onnxpb.AttributeProto {
	t := onnxpb.AttributeProto_TENSOR
	return &onnxpb.AttributeProto{Name: &name, Type: &t, T: v}
}

func TestResolveConstantChains(t *testing.T) {
	w := onnxmodel.NewFloat32Tensor("w", []int64{2, 1, 1, 1}, []float32{3, 4})
	shape := onnxmodel.NewInt64Tensor("", []int64{4}, []int64{2, 1, 3, 3})
	fill := onnxmodel.NewFloat32Tensor("", []int64{1}, []float32{0.5})
	g := &onnxpb.GraphProto{
		Initializer: []*onnxpb.TensorProto{w},
		Node: []*onnxpb.NodeProto{
			node("Identity", "id1", []string{"w"}, []string{"w1"}),
			node("Identity", "id2", []string{"w1"}, []string{"w2"}),
			node("Constant", "c", nil, []string{"cshape"}, tensorAttr("value", shape)),
			node("ConstantOfShape", "cos", []string{"cshape"}, []string{"box"}, tensorAttr("value", fill)),
			node("Relu", "r", []string{"x"}, []string{"y"}),
		},
		Input: []*onnxpb.ValueInfoProto{{Name: ptr("x")}},
	}
	ix := NewIndex(g)
	c, err := ix.ResolveConstant("w2")
	if err != nil {
		t.Fatal(err)
	}
	if c.Source != "w" || !c.Initializer || c.Value.F32[1] != 4 {
		t.Fatalf("Identity chain resolved to %+v", c)
	}
	c, err = ix.ResolveConstant("box")
	if err != nil {
		t.Fatal(err)
	}
	if c.Value.Len() != 18 || c.Value.F32[17] != 0.5 || c.Source != "cos" {
		t.Fatalf("ConstantOfShape gave %v from %q", c.Value.Shape, c.Source)
	}
	if _, err := ix.ResolveConstant("y"); err == nil {
		t.Fatal("a Relu output resolved as a constant")
	}
	if _, err := ix.ResolveConstant("x"); err == nil {
		t.Fatal("a graph input resolved as a constant")
	}
}

func ptr[T any](v T) *T { return &v }

func TestRemoveDeadAndNamer(t *testing.T) {
	g := &onnxpb.GraphProto{
		Initializer: []*onnxpb.TensorProto{
			onnxmodel.NewFloat32Tensor("used", []int64{1}, []float32{1}),
			onnxmodel.NewFloat32Tensor("unused", []int64{1}, []float32{1}),
		},
		Node: []*onnxpb.NodeProto{
			node("Add", "a", []string{"x", "used"}, []string{"y"}),
			node("Relu", "dead1", []string{"x"}, []string{"d1"}),
			node("Mul", "dead2", []string{"d1", "unused"}, []string{"d2"}),
		},
		Input:  []*onnxpb.ValueInfoProto{{Name: ptr("x")}},
		Output: []*onnxpb.ValueInfoProto{{Name: ptr("y")}},
	}
	nm := NewNamer(g)
	if got := nm.Unique("y"); got != "y_1" {
		t.Fatalf("Unique(y) = %q", got)
	}
	if got := nm.Unique("y"); got != "y_2" {
		t.Fatalf("second Unique(y) = %q", got)
	}
	if got := nm.Unique("fresh"); got != "fresh" {
		t.Fatalf("Unique(fresh) = %q", got)
	}
	RemoveDead(g)
	if len(g.Node) != 1 || g.Node[0].GetName() != "a" {
		t.Fatalf("nodes after RemoveDead: %v", g.Node)
	}
	if len(g.Initializer) != 1 || g.Initializer[0].GetName() != "used" {
		t.Fatalf("initializers after RemoveDead: %v", g.Initializer)
	}
}

func TestInferShapesReferenceSources(t *testing.T) {
	paths, _ := filepath.Glob("../../shared/reference/wtconv-official/*/source.onnx")
	if len(paths) == 0 {
		t.Fatal("no reference models found beside the repository")
	}
	for _, p := range paths {
		m, err := onnxmodel.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		s, err := InferShapes(m, nil)
		if err != nil {
			t.Fatal(err)
		}
		in := s.Of(m.GetGraph().GetInput()[0].GetName())
		out := s.Of(m.GetGraph().GetOutput()[0].GetName())
		if !in.Known() || len(out) != 4 || out[2] != in[2] || out[3] != in[3] {
			t.Fatalf("%s: same-padded depthwise conv %v -> %v", p, in, out)
		}
	}
}

func TestInferShapesOverrideErrors(t *testing.T) {
	m, err := onnxmodel.Load("../../shared/reference/wtconv-official/basic_c4_k3_l1/source.onnx")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := InferShapes(m, map[string][]int64{"nope": {1}}); err == nil {
		t.Fatal("override of an unknown input accepted")
	}
	if _, err := InferShapes(m, map[string][]int64{"x": {1, 4, 16}}); err == nil {
		t.Fatal("override with the wrong rank accepted")
	}
}
