package graph

import (
	"fmt"
	"strconv"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/opset"
)

// Index maps tensor names to the nodes that produce and consume them. It is
// a snapshot: rebuild it after editing the graph.
type Index struct {
	g         *onnxpb.GraphProto
	producer  map[string]*onnxpb.NodeProto
	consumers map[string][]*onnxpb.NodeProto
	inits     map[string]*onnxpb.TensorProto
	inputs    map[string]*onnxpb.ValueInfoProto
	outputs   map[string]bool
}

// NewIndex indexes g.
func NewIndex(g *onnxpb.GraphProto) *Index {
	ix := &Index{
		g:         g,
		producer:  map[string]*onnxpb.NodeProto{},
		consumers: map[string][]*onnxpb.NodeProto{},
		inits:     map[string]*onnxpb.TensorProto{},
		inputs:    map[string]*onnxpb.ValueInfoProto{},
		outputs:   map[string]bool{},
	}
	for _, t := range g.GetInitializer() {
		ix.inits[t.GetName()] = t
	}
	for _, in := range g.GetInput() {
		ix.inputs[in.GetName()] = in
	}
	for _, out := range g.GetOutput() {
		ix.outputs[out.GetName()] = true
	}
	for _, n := range g.GetNode() {
		for _, o := range n.GetOutput() {
			if o != "" {
				ix.producer[o] = n
			}
		}
		for _, in := range nodeReads(n) {
			if in != "" {
				ix.consumers[in] = append(ix.consumers[in], n)
			}
		}
	}
	return ix
}

// Graph returns the indexed graph.
func (ix *Index) Graph() *onnxpb.GraphProto { return ix.g }

// Producer returns the node producing name, or nil.
func (ix *Index) Producer(name string) *onnxpb.NodeProto { return ix.producer[name] }

// Consumers returns the nodes reading name (a node reading it twice appears twice).
func (ix *Index) Consumers(name string) []*onnxpb.NodeProto { return ix.consumers[name] }

// Initializer returns the initializer called name, or nil.
func (ix *Index) Initializer(name string) *onnxpb.TensorProto { return ix.inits[name] }

// IsGraphOutput reports whether name is an output of the graph.
func (ix *Index) IsGraphOutput(name string) bool { return ix.outputs[name] }

// IsGraphInput reports whether name is a (non-initializer) graph input.
func (ix *Index) IsGraphInput(name string) bool {
	_, in := ix.inputs[name]
	_, init := ix.inits[name]
	return in && !init
}

// nodeReads lists what a node reads, including outer-scope names its
// subgraphs use.
func nodeReads(n *onnxpb.NodeProto) []string {
	reads := append([]string{}, n.GetInput()...)
	for _, a := range n.GetAttribute() {
		subs := a.GetGraphs()
		if a.GetG() != nil {
			subs = append(subs, a.GetG())
		}
		for _, sg := range subs {
			local := map[string]bool{}
			for _, in := range sg.GetInput() {
				local[in.GetName()] = true
			}
			for _, t := range sg.GetInitializer() {
				local[t.GetName()] = true
			}
			for _, sn := range sg.GetNode() {
				for _, o := range sn.GetOutput() {
					local[o] = true
				}
			}
			for _, sn := range sg.GetNode() {
				for _, in := range nodeReads(sn) {
					if !local[in] {
						reads = append(reads, in)
					}
				}
			}
		}
	}
	return reads
}

// Namer hands out names not yet used by any tensor, node or initializer of a
// graph. Names derive from a base so that a viewer shows where a new tensor
// came from: base, then base_1, base_2, ...
type Namer struct {
	used map[string]bool
}

// NewNamer collects the names already used in g.
func NewNamer(g *onnxpb.GraphProto) *Namer {
	nm := &Namer{used: map[string]bool{}}
	for _, vi := range g.GetInput() {
		nm.used[vi.GetName()] = true
	}
	for _, vi := range g.GetOutput() {
		nm.used[vi.GetName()] = true
	}
	for _, vi := range g.GetValueInfo() {
		nm.used[vi.GetName()] = true
	}
	for _, t := range g.GetInitializer() {
		nm.used[t.GetName()] = true
	}
	for _, n := range g.GetNode() {
		nm.used[n.GetName()] = true
		for _, s := range append(append([]string{}, n.GetInput()...), n.GetOutput()...) {
			nm.used[s] = true
		}
	}
	return nm
}

// Unique returns base if unused, else the first free base_N, and marks it used.
func (nm *Namer) Unique(base string) string {
	name := base
	for i := 1; nm.used[name]; i++ {
		name = base + "_" + strconv.Itoa(i)
	}
	nm.used[name] = true
	return name
}

// Sort reorders g's nodes topologically, keeping the existing order where it
// is already valid.
func Sort(g *onnxpb.GraphProto) error {
	order, err := onnxmodel.TopoOrder(g)
	if err != nil {
		return err
	}
	nodes := make([]*onnxpb.NodeProto, len(order))
	for i, j := range order {
		nodes[i] = g.GetNode()[j]
	}
	g.Node = nodes
	return nil
}

// RemoveDead deletes nodes none of whose outputs is used (transitively) by a
// graph output, then initializers and value_info entries nothing refers to.
// Graph inputs are kept: they are the model's interface.
func RemoveDead(g *onnxpb.GraphProto) {
	live := map[string]bool{}
	for _, o := range g.GetOutput() {
		live[o.GetName()] = true
	}
	keep := make([]bool, len(g.GetNode()))
	for changed := true; changed; {
		changed = false
		for i := len(g.GetNode()) - 1; i >= 0; i-- {
			n := g.GetNode()[i]
			if keep[i] {
				continue
			}
			for _, o := range n.GetOutput() {
				if live[o] {
					keep[i] = true
					break
				}
			}
			if keep[i] {
				changed = true
				for _, in := range nodeReads(n) {
					live[in] = true
				}
			}
		}
	}
	var nodes []*onnxpb.NodeProto
	for i, n := range g.GetNode() {
		if keep[i] {
			nodes = append(nodes, n)
		}
	}
	g.Node = nodes
	var inits []*onnxpb.TensorProto
	for _, t := range g.GetInitializer() {
		if live[t.GetName()] {
			inits = append(inits, t)
		}
	}
	g.Initializer = inits
	var vis []*onnxpb.ValueInfoProto
	for _, vi := range g.GetValueInfo() {
		if live[vi.GetName()] {
			vis = append(vis, vi)
		}
	}
	g.ValueInfo = vis
}

// Attr returns the attribute called name, or nil.
func Attr(n *onnxpb.NodeProto, name string) *onnxpb.AttributeProto { return opset.Attr(n, name) }

// AttrInt returns an int attribute or def.
func AttrInt(n *onnxpb.NodeProto, name string, def int64) int64 { return opset.AttrInt(n, name, def) }

// AttrInts returns an ints attribute or def.
func AttrInts(n *onnxpb.NodeProto, name string, def []int64) []int64 {
	return opset.AttrInts(n, name, def)
}

// AttrString returns a string attribute or def.
func AttrString(n *onnxpb.NodeProto, name string, def string) string {
	return opset.AttrString(n, name, def)
}

// AttrFloat returns a float attribute or def.
func AttrFloat(n *onnxpb.NodeProto, name string, def float32) float32 {
	return opset.AttrFloat(n, name, def)
}

// OpsetVersion returns the model's version of the default ONNX domain.
func OpsetVersion(m *onnxpb.ModelProto) (int64, error) {
	for _, op := range m.GetOpsetImport() {
		if op.GetDomain() == "" || op.GetDomain() == "ai.onnx" {
			return op.GetVersion(), nil
		}
	}
	return 0, fmt.Errorf("the model imports no default-domain opset")
}
