package inspect

import (
	"fmt"
	"sort"

	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/opset"
)

// GoEngine says whether wtonnx's pure-Go engine can run a model, and if not
// what it lacks. It is read from the operator registry (package opset) the
// engine runs from, so it agrees with what the engine would refuse at Open.
type GoEngine struct {
	// Runs is true when every operator (at its version, with its
	// attributes and arity) is supported and no tensor is DOUBLE.
	Runs bool `json:"runs"`
	// Lacks lists the operators it cannot run, one entry per operator.
	Lacks []OperatorGap `json:"lacks"`
	// Double names DOUBLE graph inputs, outputs and initializers, and the
	// nodes that make DOUBLE tensors, which the engine refuses rather than
	// narrow to float32.
	Double []string `json:"double,omitempty"`
}

// OperatorGap is one operator the Go engine cannot run in this model.
type OperatorGap struct {
	Op      string `json:"op"` // "Op" or "domain.Op"
	Version int64  `json:"opset"`
	Nodes   int    `json:"nodes"`
	// Reason is the engine's reason for the first such node.
	Reason string `json:"reason"`
	// FirstNode names that node.
	FirstNode string `json:"first_node"`
}

// GoEngineSupport checks every node of m's graph and of the model-local
// functions it calls against the operator registry.
func GoEngineSupport(m *onnxpb.ModelProto) *GoEngine {
	versions := map[string]int64{}
	for _, o := range m.GetOpsetImport() {
		versions[opset.NormDomain(o.GetDomain())] = o.GetVersion()
	}
	funcs := map[opset.Key]*onnxpb.FunctionProto{}
	for _, f := range m.GetFunctions() {
		funcs[opset.Key{Domain: opset.NormDomain(f.GetDomain()), Name: f.GetName()}] = f
	}
	gaps := map[string]*OperatorGap{}
	var doubles []string
	visited := map[*onnxpb.FunctionProto]bool{}
	var walk func(nodes []*onnxpb.NodeProto, versions map[string]int64)
	walk = func(nodes []*onnxpb.NodeProto, versions map[string]int64) {
		for _, n := range nodes {
			key := opset.Key{Domain: opset.NormDomain(n.GetDomain()), Name: n.GetOpType()}
			if f, ok := funcs[key]; ok {
				// A call of a model-local function: the engine inlines it.
				if !visited[f] {
					visited[f] = true
					fv := map[string]int64{}
					for d, v := range versions {
						fv[d] = v
					}
					for _, o := range f.GetOpsetImport() {
						fv[opset.NormDomain(o.GetDomain())] = o.GetVersion()
					}
					walk(f.GetNode(), fv)
				}
				continue
			}
			if what := opset.MakesDouble(n); what != "" {
				doubles = append(doubles, fmt.Sprintf("node %q (%s)", n.GetName(), what))
			}
			v := versions[key.Domain]
			sch, err := opset.Find(key.Domain, key.Name, v)
			if err == nil {
				err = sch.Check(n, v)
			}
			if err == nil {
				continue
			}
			g := gaps[key.String()]
			if g == nil {
				g = &OperatorGap{Op: key.String(), Version: v, Reason: err.Error(), FirstNode: n.GetName()}
				gaps[key.String()] = g
			}
			g.Nodes++
		}
	}
	walk(m.GetGraph().GetNode(), versions)
	ge := &GoEngine{Lacks: []OperatorGap{}}
	for _, g := range gaps {
		ge.Lacks = append(ge.Lacks, *g)
	}
	sort.Slice(ge.Lacks, func(i, j int) bool { return ge.Lacks[i].Op < ge.Lacks[j].Op })
	g := m.GetGraph()
	isDouble := func(vi *onnxpb.ValueInfoProto) bool {
		return onnxpb.TensorProto_DataType(vi.GetType().GetTensorType().GetElemType()) == onnxpb.TensorProto_DOUBLE
	}
	for _, vi := range append(append([]*onnxpb.ValueInfoProto{}, g.GetInput()...), g.GetOutput()...) {
		if isDouble(vi) {
			ge.Double = append(ge.Double, vi.GetName())
		}
	}
	for _, t := range g.GetInitializer() {
		if onnxpb.TensorProto_DataType(t.GetDataType()) == onnxpb.TensorProto_DOUBLE {
			ge.Double = append(ge.Double, t.GetName())
		}
	}
	ge.Double = append(ge.Double, doubles...)
	ge.Runs = len(ge.Lacks) == 0 && len(ge.Double) == 0
	return ge
}
