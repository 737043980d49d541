package graph

import (
	"fmt"
	"strings"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/opset"
)

// Shape is a static tensor shape; -1 marks a dimension not known statically.
// A nil Shape means the rank itself is unknown.
type Shape = opset.Shape

// Shapes is the result of static shape inference.
type Shapes struct {
	dims   map[string]Shape
	values map[string][]int64 // small int64 tensors known statically (shape arithmetic)
}

// Of returns the inferred shape of a tensor (nil when unknown).
func (s *Shapes) Of(name string) Shape { return s.dims[name] }

// Shape, Value, SetShape and SetValue make Shapes the opset.ShapeEnv that
// the registry's shape rules read and write.
func (s *Shapes) Shape(name string) Shape           { return s.dims[name] }
func (s *Shapes) Value(name string) ([]int64, bool) { v, ok := s.values[name]; return v, ok }
func (s *Shapes) SetShape(name string, sh Shape)    { s.dims[name] = sh }
func (s *Shapes) SetValue(name string, v []int64)   { s.values[name] = v }

// InferShapes propagates static shapes through the main graph of m, from
// the declared input shapes (with overrides replacing them, e.g. to fix
// dynamic dimensions), by the shape rules of the operator registry
// (package opset). Shapes of operators it does not know are left unknown
// rather than guessed.
func InferShapes(m *onnxpb.ModelProto, overrides map[string][]int64) (*Shapes, error) {
	g := m.GetGraph()
	s := &Shapes{dims: map[string]Shape{}, values: map[string][]int64{}}
	inputs := map[string]bool{}
	for _, in := range g.GetInput() {
		inputs[in.GetName()] = true
		s.dims[in.GetName()] = declaredShape(in)
	}
	for name, dims := range overrides {
		if !inputs[name] {
			return nil, fmt.Errorf("input shape given for %q, which is not a graph input", name)
		}
		if old := s.dims[name]; old != nil && len(old) != len(dims) {
			return nil, fmt.Errorf("input %q has rank %d, the given shape %v has rank %d", name, len(old), dims, len(dims))
		}
		for i, d := range dims {
			if old := s.dims[name]; old != nil && old[i] >= 0 && old[i] != d {
				return nil, fmt.Errorf("input %q has fixed dimension %d = %d, the given shape says %d", name, i, old[i], d)
			}
		}
		s.dims[name] = append(Shape{}, dims...)
	}
	for _, t := range g.GetInitializer() {
		s.dims[t.GetName()] = append(Shape{}, t.GetDims()...)
		if t.GetDataType() == int32(onnxpb.TensorProto_INT64) && len(t.GetDims()) <= 1 {
			if v, err := onnxmodel.Int64s(t); err == nil && len(v) <= 64 {
				s.values[t.GetName()] = v
			}
		}
	}
	versions := map[string]int64{}
	for _, o := range m.GetOpsetImport() {
		versions[opset.NormDomain(o.GetDomain())] = o.GetVersion()
	}
	order, err := onnxmodel.TopoOrder(g)
	if err != nil {
		return nil, err
	}
	for _, i := range order {
		s.inferNode(g.GetNode()[i], versions)
	}
	return s, nil
}

func declaredShape(vi *onnxpb.ValueInfoProto) Shape {
	tt := vi.GetType().GetTensorType()
	if tt == nil || tt.GetShape() == nil {
		return nil
	}
	sh := make(Shape, len(tt.GetShape().GetDim()))
	for i, d := range tt.GetShape().GetDim() {
		sh[i] = -1
		if v, ok := d.GetValue().(*onnxpb.TensorShapeProto_Dimension_DimValue); ok && v.DimValue > 0 {
			sh[i] = v.DimValue
		}
	}
	return sh
}

func (s *Shapes) inferNode(n *onnxpb.NodeProto, versions map[string]int64) {
	dom := opset.NormDomain(n.GetDomain())
	c := &opset.InferCtx{Node: n, Version: versions[dom], Env: s}
	if dom == "ai.wtonnx.function" && strings.HasPrefix(n.GetOpType(), "WTConv_") {
		// A converted model's function-form WTConv layer: a call of a
		// model-local function, shaped as the fused operator.
		opset.InferWTConv(c)
		return
	}
	sch := opset.Lookup(dom, n.GetOpType())
	if c.Version != 0 {
		// A model that imports the domain is read at its version; one
		// that does not (hand-built test graphs) gets the rule as is.
		sch, _ = opset.Find(dom, n.GetOpType(), c.Version)
	}
	if sch == nil || sch.Infer == nil {
		return
	}
	sch.Infer(c)
}

// ConvGeometry holds a Conv node's attributes, with defaults filled in.
type ConvGeometry = opset.ConvGeometry

// ConvAttrs reads a Conv/ConvTranspose node's geometry; kernel comes from
// kernel_shape or else from the weight shape w.
func ConvAttrs(n *onnxpb.NodeProto, w Shape) ConvGeometry { return opset.ConvAttrs(n, w) }
