package verify

import (
	"context"
	"fmt"
	"github.com/wtonnx/wtonnx/runtime/engines"

	"github.com/wtonnx/wtonnx/customop"
	"github.com/wtonnx/wtonnx/graph"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
)

// Localization reports where two subjects start to disagree: every float
// tensor a top-level node computes is compared, walking the nodes of model A
// in topological order, and the first node with an output beyond tolerance is
// named.
//
// JSON:
//
//	{"a": Subject, "b": Subject, "tensors_compared": N, "diverged": BOOL,
//	 "first_divergent_node": {"name", "op_type", "domain", "position", "inputs", "outputs"},
//	 "tensor": OutputStats, "input_max_abs_error": {NAME: F}}
//
// The last three are omitted when nothing diverges. position is the node's
// index in model A's topological order.
type Localization struct {
	A               Subject  `json:"a"`
	B               Subject  `json:"b"`
	TensorsCompared int      `json:"tensors_compared"`
	Diverged        bool     `json:"diverged"`
	Node            *NodeRef `json:"first_divergent_node,omitempty"`
	// Tensor is the comparison of the node's first diverging output.
	Tensor *OutputStats `json:"tensor,omitempty"`
	// InputMaxAbsError gives, for each input of the node that is an
	// intermediate tensor, its largest absolute difference (the inputs agreed
	// within tolerance, else an earlier node would have been named).
	InputMaxAbsError map[string]float64 `json:"input_max_abs_error,omitempty"`
}

// NodeRef names a node of model A.
type NodeRef struct {
	Name     string   `json:"name"`
	OpType   string   `json:"op_type"`
	Domain   string   `json:"domain,omitempty"`
	Position int      `json:"position"`
	Inputs   []string `json:"inputs"`
	Outputs  []string `json:"outputs"`
}

// Label names the node for people.
func (n *NodeRef) Label() string {
	if n.Name != "" {
		return fmt.Sprintf("%s (%s)", n.Name, n.OpType)
	}
	return fmt.Sprintf("#%d (%s)", n.Position, n.OpType)
}

func localizeAll(ctx context.Context, models []*Model, engines []string, eo engines.Options, inputs map[string]*tensor.Tensor, tol Tolerance) ([]Localization, error) {
	a := models[0]
	order, err := onnxmodel.TopoOrder(a.Proto.GetGraph())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a.Label(), err)
	}
	names := intermediateFloats(a.Proto)
	if len(models) == 2 {
		inB := map[string]bool{}
		for _, n := range intermediateFloats(models[1].Proto) {
			inB[n] = true
		}
		kept := names[:0]
		for _, n := range names {
			if inB[n] {
				kept = append(kept, n)
			}
		}
		names = kept
		if len(names) == 0 {
			return nil, fmt.Errorf("%s and %s share no intermediate tensor names to compare", a.Label(), models[1].Label())
		}
	}

	type key struct{ m, e int }
	type run struct {
		subj Subject
		out  map[string]*tensor.Tensor
	}
	cache := map[key]run{}
	get := func(mi, ei int) (run, error) {
		k := key{mi, ei}
		if r, ok := cache[k]; ok {
			return r, nil
		}
		out, name, err := runIntermediates(ctx, engines[ei], models[mi], eo, inputs, names)
		if err != nil {
			return run{}, err
		}
		label := ModelLabelA
		if mi == 1 {
			label = ModelLabelB
		}
		r := run{Subject{Model: label, Engine: name}, out}
		cache[k] = r
		return r, nil
	}

	type pair struct{ am, ae, bm, be int }
	var pairs []pair
	if len(models) == 2 {
		for ei := range engines {
			pairs = append(pairs, pair{0, ei, 1, ei})
		}
	} else {
		for ej := 1; ej < len(engines); ej++ {
			pairs = append(pairs, pair{0, 0, 0, ej})
		}
	}
	var locs []Localization
	for _, p := range pairs {
		ra, err := get(p.am, p.ae)
		if err != nil {
			return nil, err
		}
		rb, err := get(p.bm, p.be)
		if err != nil {
			return nil, err
		}
		locs = append(locs, firstDivergence(a.Proto.GetGraph(), order, ra.out, rb.out, tol, ra.subj, rb.subj))
		// Release what no later pair needs.
		if len(models) == 2 {
			delete(cache, key{p.am, p.ae})
			delete(cache, key{p.bm, p.be})
		}
	}
	return locs, nil
}

func firstDivergence(g *onnxpb.GraphProto, order []int, ra, rb map[string]*tensor.Tensor, tol Tolerance, sa, sb Subject) Localization {
	loc := Localization{A: sa, B: sb}
	for pos, idx := range order {
		n := g.GetNode()[idx]
		for _, out := range n.GetOutput() {
			ta, okA := ra[out]
			tb, okB := rb[out]
			if !okA || !okB {
				continue
			}
			loc.TensorsCompared++
			st := CompareTensors(out, ta, tb, tol)
			if st.Pass {
				continue
			}
			loc.Diverged = true
			loc.Node = &NodeRef{
				Name: n.GetName(), OpType: n.GetOpType(), Domain: n.GetDomain(), Position: pos,
				Inputs: append([]string{}, n.GetInput()...), Outputs: append([]string{}, n.GetOutput()...),
			}
			loc.Tensor = &st
			for _, in := range n.GetInput() {
				xa, okA := ra[in]
				xb, okB := rb[in]
				if okA && okB {
					if loc.InputMaxAbsError == nil {
						loc.InputMaxAbsError = map[string]float64{}
					}
					loc.InputMaxAbsError[in] = CompareTensors(in, xa, xb, tol).MaxAbsError
				}
			}
			return loc
		}
	}
	return loc
}

// runIntermediates runs m on one engine and returns the named tensors.
// ONNX Runtime computes only graph outputs, so it runs a copy of the model
// whose outputs list every name (as float tensors of unknown shape); the Go
// engine is asked for the names directly.
func runIntermediates(ctx context.Context, kind string, m *Model, eo engines.Options, inputs map[string]*tensor.Tensor, names []string) (map[string]*tensor.Tensor, string, error) {
	if kind == EngineGo {
		r, err := runOnce(ctx, kind, m, eo, inputs, names)
		return r.out, r.engine, err
	}
	g := m.Proto.GetGraph()
	saved := g.Output
	isOut := make(map[string]bool, len(saved))
	for _, o := range saved {
		isOut[o.GetName()] = true
	}
	outs := append([]*onnxpb.ValueInfoProto{}, saved...)
	for _, n := range names {
		if !isOut[n] {
			outs = append(outs, floatOutput(n))
		}
	}
	g.Output = outs
	data, err := onnxmodel.Marshal(m.Proto)
	g.Output = saved
	if err != nil {
		return nil, "", fmt.Errorf("%s: adding intermediate outputs: %w", m.Label(), err)
	}
	em := &Model{Path: m.Path, Proto: m.Proto, Data: data}
	r, err := runOnce(ctx, kind, em, eo, inputs, nil)
	if err != nil {
		return nil, "", fmt.Errorf("running with every intermediate tensor as an output: %w", err)
	}
	out := make(map[string]*tensor.Tensor, len(names))
	for _, n := range names {
		if t, ok := r.out[n]; ok {
			out[n] = t
		}
	}
	return out, r.engine, nil
}

func floatOutput(name string) *onnxpb.ValueInfoProto {
	et := int32(onnxpb.TensorProto_FLOAT)
	return &onnxpb.ValueInfoProto{
		Name: &name,
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
			TensorType: &onnxpb.TypeProto_Tensor{ElemType: &et},
		}},
	}
}

// intermediateFloats lists, in node order, the outputs of top-level nodes
// (other than Constant) whose element type is known to be float.
func intermediateFloats(m *onnxpb.ModelProto) []string {
	g := m.GetGraph()
	types := elemTypes(g)
	seen := map[string]bool{}
	var names []string
	for _, n := range g.GetNode() {
		if n.GetOpType() == "Constant" && n.GetDomain() == "" {
			continue
		}
		for _, o := range n.GetOutput() {
			if o == "" || seen[o] || types[o] != int32(onnxpb.TensorProto_FLOAT) {
				continue
			}
			seen[o] = true
			names = append(names, o)
		}
	}
	return names
}

// elemTypes infers the element type of every tensor of g from the
// declarations and simple per-operator rules; 0 means unknown. Only tensors
// found to be float are compared, so a wrong guess can only leave a tensor
// out or make ONNX Runtime reject the output list, never compare the wrong
// thing silently.
func elemTypes(g *onnxpb.GraphProto) map[string]int32 {
	t := map[string]int32{}
	for _, vi := range g.GetInput() {
		t[vi.GetName()] = vi.GetType().GetTensorType().GetElemType()
	}
	for _, in := range g.GetInitializer() {
		t[in.GetName()] = in.GetDataType()
	}
	declared := map[string]int32{}
	for _, vis := range [][]*onnxpb.ValueInfoProto{g.GetValueInfo(), g.GetOutput()} {
		for _, vi := range vis {
			if et := vi.GetType().GetTensorType().GetElemType(); et != 0 {
				declared[vi.GetName()] = et
			}
		}
	}
	order, err := onnxmodel.TopoOrder(g)
	if err != nil {
		order = make([]int, len(g.GetNode()))
		for i := range order {
			order[i] = i
		}
	}
	const (
		f32   = int32(onnxpb.TensorProto_FLOAT)
		i64   = int32(onnxpb.TensorProto_INT64)
		boolT = int32(onnxpb.TensorProto_BOOL)
	)
	for _, idx := range order {
		n := g.GetNode()[idx]
		in := func(i int) int32 {
			if i < len(n.GetInput()) {
				return t[n.GetInput()[i]]
			}
			return 0
		}
		first := int32(0)
		for _, x := range n.GetInput() {
			if x != "" && t[x] != 0 {
				first = t[x]
				break
			}
		}
		for oi, o := range n.GetOutput() {
			if o == "" {
				continue
			}
			if et, ok := declared[o]; ok {
				t[o] = et
				continue
			}
			var et int32
			switch {
			case n.GetDomain() == customop.Domain:
				et = f32
			case n.GetDomain() != "" && n.GetDomain() != "ai.onnx":
				et = first
			default:
				switch n.GetOpType() {
				case "Constant":
					et = constantType(n)
				case "ConstantOfShape":
					et = f32
					if a := graph.Attr(n, "value"); a != nil && a.GetT() != nil {
						et = a.GetT().GetDataType()
					}
				case "Shape", "Size", "NonZero", "ArgMax", "ArgMin":
					et = i64
				case "Cast":
					et = int32(graph.AttrInt(n, "to", 0))
				case "CastLike":
					et = in(1)
				case "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Xor", "IsNaN", "IsInf":
					et = boolT
				case "Where":
					et = in(1)
				case "TopK", "MaxPool":
					et = first
					if oi == 1 {
						et = i64
					}
				case "Dropout":
					et = first
					if oi == 1 {
						et = boolT
					}
				case "If", "Loop", "Scan":
					et = 0
				default:
					et = first
				}
			}
			t[o] = et
		}
	}
	return t
}

func constantType(n *onnxpb.NodeProto) int32 {
	for _, a := range n.GetAttribute() {
		switch a.GetName() {
		case "value":
			return a.GetT().GetDataType()
		case "value_float", "value_floats":
			return int32(onnxpb.TensorProto_FLOAT)
		case "value_int", "value_ints":
			return int32(onnxpb.TensorProto_INT64)
		}
	}
	return 0
}
