package onnxmodel

import (
	"container/heap"
	"fmt"
	"strings"

	"github.com/wtonnx/wtonnx/onnxpb"
)

// Validate checks the structure of a model: supported IR version, a graph,
// every tensor's payload against its dims, declared shapes, names that are
// defined once and used only where defined, and the absence of cycles. The
// error names the offending tensor or node.
//
// Its cost is linear in the size of the model (plus the names that nested
// subgraphs take from enclosing scopes), so adversarial files of modest size
// cannot make it slow, and its recursion depth is bounded by the nesting
// depth protobuf decoding allows.
func Validate(m *onnxpb.ModelProto) error {
	ir := m.GetIrVersion()
	if ir < MinIRVersion || ir > MaxIRVersion {
		return fmt.Errorf("IR version %d is not supported (wtonnx reads IR %d through %d)", ir, MinIRVersion, MaxIRVersion)
	}
	if m.GetGraph() == nil {
		return fmt.Errorf("the model has no graph")
	}
	for _, op := range m.GetOpsetImport() {
		if op.GetVersion() < 1 {
			return fmt.Errorf("opset import for domain %q has version %d", op.GetDomain(), op.GetVersion())
		}
	}
	if err := forEachTensor(m, func(t *onnxpb.TensorProto, where fmt.Stringer) error {
		if err := CheckTensor(t); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		return nil
	}); err != nil {
		return err
	}
	v := &validator{visible: map[string]int{}, free: freeNames{}}
	return v.graph(m.GetGraph())
}

// validator checks a graph and its subgraphs. visible counts, for each name,
// the enclosing scopes (this graph included) that define it, so that a
// subgraph sees its outer scopes without copying them.
type validator struct {
	visible map[string]int
	free    freeNames
}

func (v *validator) define(names []string) {
	for _, n := range names {
		v.visible[n]++
	}
}

func (v *validator) undefine(names []string) {
	for _, n := range names {
		if v.visible[n]--; v.visible[n] <= 0 {
			delete(v.visible, n)
		}
	}
}

func (v *validator) graph(g *onnxpb.GraphProto) error {
	for _, list := range [][]*onnxpb.ValueInfoProto{g.GetInput(), g.GetOutput(), g.GetValueInfo()} {
		for _, vi := range list {
			if err := checkValueInfo(vi); err != nil {
				return err
			}
		}
	}
	var local []string // names this graph defines besides node outputs
	for _, in := range g.GetInput() {
		local = append(local, in.GetName())
	}
	for _, t := range g.GetInitializer() {
		if t.GetName() == "" {
			return fmt.Errorf("graph %q has an initializer without a name", g.GetName())
		}
		local = append(local, t.GetName())
	}
	for _, s := range g.GetSparseInitializer() {
		if s.GetValues().GetName() == "" {
			return fmt.Errorf("graph %q has a sparse initializer without a name", g.GetName())
		}
		local = append(local, s.GetValues().GetName())
	}
	producer := map[string]int{}
	var produced []string
	for i, n := range g.GetNode() {
		for _, out := range n.GetOutput() {
			if out == "" {
				continue
			}
			if j, dup := producer[out]; dup {
				return fmt.Errorf("%s and %s both produce tensor %q", NodeLabel(g.GetNode()[j]), NodeLabel(n), out)
			}
			producer[out] = i
			produced = append(produced, out)
		}
	}
	v.define(local)
	v.define(produced)
	defer v.undefine(produced)
	defer v.undefine(local)
	for _, n := range g.GetNode() {
		for _, in := range n.GetInput() {
			if in != "" && v.visible[in] == 0 {
				return fmt.Errorf("%s reads tensor %q, which no node, initializer or graph input defines", NodeLabel(n), in)
			}
		}
		for _, a := range n.GetAttribute() {
			for _, sg := range subgraphs(a) {
				if err := v.graph(sg); err != nil {
					return fmt.Errorf("%s attribute %q: %w", NodeLabel(n), a.GetName(), err)
				}
			}
		}
	}
	for _, out := range g.GetOutput() {
		if v.visible[out.GetName()] == 0 {
			return fmt.Errorf("graph output %q is not produced by any node", out.GetName())
		}
	}
	if _, err := topoOrder(g, v.free); err != nil {
		return err
	}
	return nil
}

// subgraphs lists the graphs an attribute holds, without touching the
// attribute's own slices.
func subgraphs(a *onnxpb.AttributeProto) []*onnxpb.GraphProto {
	if a.GetG() == nil {
		return a.GetGraphs()
	}
	return append([]*onnxpb.GraphProto{a.GetG()}, a.GetGraphs()...)
}

func checkValueInfo(vi *onnxpb.ValueInfoProto) error {
	tt := vi.GetType().GetTensorType()
	if tt == nil || tt.GetShape() == nil {
		return nil
	}
	for i, d := range tt.GetShape().GetDim() {
		if v, ok := d.GetValue().(*onnxpb.TensorShapeProto_Dimension_DimValue); ok && v.DimValue < 0 {
			return fmt.Errorf("value %q: dimension %d is negative (%d)", vi.GetName(), i, v.DimValue)
		}
	}
	return nil
}

// TopoOrder returns the indices of g's nodes in a topological order that
// keeps the file's order wherever the file is already sorted (of all valid
// orders, the one that always runs the lowest-numbered ready node next). It
// fails on a cycle, naming the nodes on it. Names defined outside the graph
// (inputs, initializers, outer scopes) impose no order. It runs in
// O(n log n) for n nodes.
func TopoOrder(g *onnxpb.GraphProto) ([]int, error) {
	return topoOrder(g, freeNames{})
}

func topoOrder(g *onnxpb.GraphProto, free freeNames) ([]int, error) {
	nodes := g.GetNode()
	producer := make(map[string]int, len(nodes))
	for i, n := range nodes {
		for _, out := range n.GetOutput() {
			if out != "" {
				producer[out] = i
			}
		}
	}
	indeg := make([]int, len(nodes))
	users := make([][]int, len(nodes))
	for i, n := range nodes {
		free.nodeReads(n, func(in string) {
			if p, ok := producer[in]; ok {
				indeg[i]++
				users[p] = append(users[p], i)
			}
		})
	}
	order := make([]int, 0, len(nodes))
	ready := &intHeap{}
	for i := range nodes {
		if indeg[i] == 0 {
			ready.s = append(ready.s, i) // ascending: already a heap
		}
	}
	for ready.Len() > 0 {
		i := heap.Pop(ready).(int)
		order = append(order, i)
		for _, u := range users[i] {
			if indeg[u]--; indeg[u] == 0 {
				heap.Push(ready, u)
			}
		}
	}
	if len(order) != len(nodes) {
		return nil, cycleError(nodes, producer, indeg, free)
	}
	return order, nil
}

// cycleError describes one cycle among the nodes that Kahn's algorithm could
// not order (those with indeg > 0). Each of them reads a value produced by
// another such node, so walking back from any of them must revisit a node.
func cycleError(nodes []*onnxpb.NodeProto, producer map[string]int, indeg []int, free freeNames) error {
	start := -1
	for i := range nodes {
		if indeg[i] > 0 {
			start = i
			break
		}
	}
	seen := map[int]int{} // node -> position in path
	var path []int
	cur := start
	for {
		if pos, ok := seen[cur]; ok {
			path = path[pos:]
			break
		}
		seen[cur] = len(path)
		path = append(path, cur)
		next := -1
		free.nodeReads(nodes[cur], func(in string) {
			if p, ok := producer[in]; ok && next < 0 && indeg[p] > 0 {
				next = p
			}
		})
		if next < 0 { // cannot happen; report what we have
			break
		}
		cur = next
	}
	// path runs against the data flow; print it along the flow, starting at
	// the node that comes first in the file.
	flow := make([]int, 0, len(path))
	for k := len(path) - 1; k >= 0; k-- {
		flow = append(flow, path[k])
	}
	first := 0
	for k := range flow {
		if flow[k] < flow[first] {
			first = k
		}
	}
	flow = append(flow[first:], flow[:first]...)
	labels := make([]string, 0, len(flow)+1)
	for _, i := range append(flow, flow[0]) {
		labels = append(labels, NodeLabel(nodes[i]))
	}
	if len(labels) > 12 {
		labels = append(labels[:5], append([]string{fmt.Sprintf("... (%d more)", len(labels)-10)}, labels[len(labels)-5:]...)...)
	}
	return fmt.Errorf("the graph has a cycle: %s", strings.Join(labels, " -> "))
}

type intHeap struct{ s []int }

func (h *intHeap) Len() int           { return len(h.s) }
func (h *intHeap) Less(i, j int) bool { return h.s[i] < h.s[j] }
func (h *intHeap) Swap(i, j int)      { h.s[i], h.s[j] = h.s[j], h.s[i] }
func (h *intHeap) Push(x any)         { h.s = append(h.s, x.(int)) }
func (h *intHeap) Pop() any {
	x := h.s[len(h.s)-1]
	h.s = h.s[:len(h.s)-1]
	return x
}

// freeNames memoizes, for each subgraph, the names it reads but does not
// define (values it takes from enclosing scopes), so that nested subgraphs
// are walked once however deep they are.
type freeNames map[*onnxpb.GraphProto][]string

// nodeReads calls fn with each tensor name a node reads, including names
// that its subgraphs take from the enclosing scope.
func (f freeNames) nodeReads(n *onnxpb.NodeProto, fn func(string)) {
	for _, in := range n.GetInput() {
		if in != "" {
			fn(in)
		}
	}
	for _, a := range n.GetAttribute() {
		for _, sg := range subgraphs(a) {
			for _, in := range f.of(sg) {
				fn(in)
			}
		}
	}
}

// of returns the names g reads from enclosing scopes, each once.
func (f freeNames) of(g *onnxpb.GraphProto) []string {
	if r, ok := f[g]; ok {
		return r
	}
	local := map[string]bool{}
	for _, in := range g.GetInput() {
		local[in.GetName()] = true
	}
	for _, t := range g.GetInitializer() {
		local[t.GetName()] = true
	}
	for _, s := range g.GetSparseInitializer() {
		local[s.GetValues().GetName()] = true
	}
	for _, n := range g.GetNode() {
		for _, o := range n.GetOutput() {
			local[o] = true
		}
	}
	reads := []string{}
	seen := map[string]bool{}
	for _, n := range g.GetNode() {
		f.nodeReads(n, func(in string) {
			if !local[in] && !seen[in] {
				seen[in] = true
				reads = append(reads, in)
			}
		})
	}
	f[g] = reads
	return reads
}
