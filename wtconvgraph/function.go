package wtconvgraph

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/graph"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
)

// foldFloat resolves a float32 tensor that a few shape-only operators
// compute from constants: what a function body does to its packed weight
// inputs (Gather one level of wavelet_weight, Reshape a scale vector).
func foldFloat(ix *graph.Index, name string, depth int) (*tensor.Tensor, error) {
	if c, err := ix.ResolveConstant(name); err == nil {
		return c.Value, nil
	} else if depth > 16 {
		return nil, err
	}
	p := ix.Producer(name)
	if p == nil {
		_, err := ix.ResolveConstant(name)
		return nil, err
	}
	ints := func(i int) ([]int64, bool) {
		c, err := ix.ResolveConstant(input(p, i))
		if err != nil || c.Value.DType != tensor.Int64 {
			return nil, false
		}
		return c.Value.I64, true
	}
	src := func() (*tensor.Tensor, error) { return foldFloat(ix, input(p, 0), depth+1) }
	switch p.GetOpType() {
	case "Gather":
		x, err := src()
		if err != nil {
			return nil, err
		}
		idx, ok := ints(1)
		c, _ := ix.ResolveConstant(input(p, 1))
		if !ok || graph.AttrInt(p, "axis", 0) != 0 || len(idx) != 1 || len(x.Shape) == 0 || x.DType != tensor.Float32 {
			break
		}
		j := int(idx[0])
		if j < 0 {
			j += x.Shape[0]
		}
		if j < 0 || j >= x.Shape[0] {
			break
		}
		per := x.Len() / x.Shape[0]
		shape := x.Shape[1:]
		if len(c.Value.Shape) == 1 {
			shape = append([]int{1}, shape...)
		}
		return tensor.NewFloat32(shape, x.F32[j*per:(j+1)*per]), nil
	case "Reshape":
		x, err := src()
		if err != nil {
			return nil, err
		}
		target, ok := ints(1)
		if !ok || x.DType != tensor.Float32 {
			break
		}
		shape := make([]int, len(target))
		known, infer := 1, -1
		for i, d := range target {
			switch {
			case d == 0 && i < len(x.Shape):
				shape[i] = x.Shape[i]
			case d == -1:
				infer = i
				continue
			default:
				shape[i] = int(d)
			}
			known *= shape[i]
		}
		if infer >= 0 && known > 0 {
			shape[infer] = x.Len() / known
		}
		if tensor.NumElements(shape) != x.Len() {
			break
		}
		return tensor.NewFloat32(shape, x.F32), nil
	case "Identity":
		return src()
	}
	return nil, fmt.Errorf("tensor %q is computed by %s, not a constant", name, p.GetOpType())
}

// localFunction returns the model-local function a node calls, if any.
func localFunction(m *onnxpb.ModelProto, n *onnxpb.NodeProto) *onnxpb.FunctionProto {
	for _, f := range m.GetFunctions() {
		if f.GetName() == n.GetOpType() && f.GetDomain() == n.GetDomain() {
			return f
		}
	}
	return nil
}

// functionLayer recognises a node that calls a model-local function by
// the function's body, inlined with the node's inputs: the body must be
// exactly one WTConv layer from the node's first input to its output.
func functionLayer(m *onnxpb.ModelProto, n *onnxpb.NodeProto, f *onnxpb.FunctionProto) (*Layer, string) {
	g := m.GetGraph()
	ix := graph.NewIndex(g)
	rename := map[string]string{}
	for i, in := range f.GetInput() {
		rename[in] = input(n, i)
	}
	for i, out := range f.GetOutput() {
		if i < len(n.GetOutput()) {
			rename[out] = n.GetOutput()[i]
		}
	}
	local := func(name string) string {
		if name == "" {
			return ""
		}
		if r, ok := rename[name]; ok {
			return r
		}
		return "wtconvgraph.inlined/" + name
	}
	callAttrs := map[string]*onnxpb.AttributeProto{}
	for _, a := range n.GetAttribute() {
		callAttrs[a.GetName()] = a
	}
	body := &onnxpb.GraphProto{Name: proto.String("inlined")}
	for _, bn := range f.GetNode() {
		c := proto.Clone(bn).(*onnxpb.NodeProto)
		for i := range c.Input {
			c.Input[i] = local(c.Input[i])
		}
		for i := range c.Output {
			c.Output[i] = local(c.Output[i])
		}
		var attrs []*onnxpb.AttributeProto
		for _, a := range c.GetAttribute() {
			if ref := a.GetRefAttrName(); ref != "" {
				ca := callAttrs[ref]
				if ca == nil {
					continue // the caller leaves it at its default
				}
				name := a.GetName()
				a = proto.Clone(ca).(*onnxpb.AttributeProto)
				a.Name = &name
			}
			attrs = append(attrs, a)
		}
		c.Attribute = attrs
		body.Node = append(body.Node, c)
	}
	seen := map[string]bool{}
	for _, in := range n.GetInput() {
		if t := ix.Initializer(in); t != nil && !seen[in] {
			seen[in] = true
			body.Initializer = append(body.Initializer, t)
		}
	}
	body.Input = []*onnxpb.ValueInfoProto{{Name: proto.String(input(n, 0))}}
	body.Output = []*onnxpb.ValueInfoProto{{Name: proto.String(output(n))}}
	imports := f.GetOpsetImport()
	if len(imports) == 0 {
		imports = m.GetOpsetImport()
	}
	bm := &onnxpb.ModelProto{IrVersion: m.IrVersion, OpsetImport: imports, Graph: body}
	r, err := Recognize(bm, nil)
	switch {
	case err != nil:
		return nil, err.Error()
	case len(r.Layers) != 1:
		why := fmt.Sprintf("its body holds %d WTConv layers", len(r.Layers))
		if len(r.NearMisses) > 0 {
			why += " (" + r.NearMisses[0].Reason + ")"
		}
		return nil, why
	}
	l := r.Layers[0]
	if l.Input != input(n, 0) || l.Output != output(n) {
		return nil, fmt.Sprintf("its body's layer reads %q and writes %q, not the node's input and output", l.Input, l.Output)
	}
	if l.Form != FormOps {
		return nil, fmt.Sprintf("its body is a %s layer", l.Form)
	}
	out := &Layer{Form: FormFunction, Input: l.Input, Output: l.Output, Layer: l.Layer, BaseKernel: l.BaseKernel,
		Weights: l.Weights, TensorNames: map[string]string{}}
	// Names of the caller's tensors only: the body's are its own.
	for k, v := range l.TensorNames {
		if !strings.HasPrefix(v, "wtconvgraph.inlined/") {
			out.TensorNames[k] = v
		}
	}
	return out, ""
}
