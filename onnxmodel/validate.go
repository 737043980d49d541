package onnxmodel

import (
	"fmt"

	"github.com/wtonnx/wtonnx/onnxpb"
)

// Validate checks the structure of a model: supported IR version, a graph,
// every tensor's payload against its dims, declared shapes, names that are
// defined once and used only where defined, and the absence of cycles. The
// error names the offending tensor or node.
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
	if err := forEachTensor(m, func(t *onnxpb.TensorProto, where string) error {
		if err := CheckTensor(t); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		return nil
	}); err != nil {
		return err
	}
	return validateGraph(m.GetGraph(), nil)
}

// validateGraph checks one graph; outer holds names visible from enclosing
// graphs (for the bodies of If, Loop and Scan).
func validateGraph(g *onnxpb.GraphProto, outer map[string]bool) error {
	defined := map[string]bool{}
	for name := range outer {
		defined[name] = true
	}
	for _, vi := range append(append([]*onnxpb.ValueInfoProto{}, g.GetInput()...), g.GetOutput()...) {
		if err := checkValueInfo(vi); err != nil {
			return err
		}
	}
	for _, in := range g.GetInput() {
		defined[in.GetName()] = true
	}
	for _, t := range g.GetInitializer() {
		if t.GetName() == "" {
			return fmt.Errorf("graph %q has an initializer without a name", g.GetName())
		}
		defined[t.GetName()] = true
	}
	for _, s := range g.GetSparseInitializer() {
		defined[s.GetValues().GetName()] = true
	}
	producer := map[string]int{}
	for i, n := range g.GetNode() {
		for _, out := range n.GetOutput() {
			if out == "" {
				continue
			}
			if j, dup := producer[out]; dup {
				return fmt.Errorf("%s and %s both produce tensor %q", NodeLabel(g.GetNode()[j]), NodeLabel(n), out)
			}
			producer[out] = i
		}
	}
	for _, n := range g.GetNode() {
		for _, in := range n.GetInput() {
			if in == "" || defined[in] {
				continue
			}
			if _, ok := producer[in]; !ok {
				return fmt.Errorf("%s reads tensor %q, which no node, initializer or graph input defines", NodeLabel(n), in)
			}
		}
		for _, a := range n.GetAttribute() {
			subs := a.GetGraphs()
			if a.GetG() != nil {
				subs = append(subs, a.GetG())
			}
			for _, sg := range subs {
				scope := map[string]bool{}
				for name := range defined {
					scope[name] = true
				}
				for name := range producer {
					scope[name] = true
				}
				if err := validateGraph(sg, scope); err != nil {
					return fmt.Errorf("%s attribute %q: %w", NodeLabel(n), a.GetName(), err)
				}
			}
		}
	}
	for _, out := range g.GetOutput() {
		if _, ok := producer[out.GetName()]; !ok && !defined[out.GetName()] {
			return fmt.Errorf("graph output %q is not produced by any node", out.GetName())
		}
	}
	if _, err := TopoOrder(g); err != nil {
		return err
	}
	return nil
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
// keeps the file's order wherever the file is already sorted. It fails on a
// cycle, naming a node on it. Names defined outside the graph (inputs,
// initializers, outer scopes) impose no order.
func TopoOrder(g *onnxpb.GraphProto) ([]int, error) {
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
		for _, in := range nodeReads(n) {
			if p, ok := producer[in]; ok {
				indeg[i]++
				users[p] = append(users[p], i)
			}
		}
	}
	// Kahn's algorithm with a min-heap on the original index would keep the
	// file order exactly; a simple ready list scanned in index order does too
	// for already-sorted graphs, which is the common case.
	order := make([]int, 0, len(nodes))
	ready := make([]bool, len(nodes))
	queue := []int{}
	for i := range nodes {
		if indeg[i] == 0 {
			queue = append(queue, i)
			ready[i] = true
		}
	}
	for len(queue) > 0 {
		// pick the smallest index in the queue
		best := 0
		for k := 1; k < len(queue); k++ {
			if queue[k] < queue[best] {
				best = k
			}
		}
		i := queue[best]
		queue = append(queue[:best], queue[best+1:]...)
		order = append(order, i)
		for _, u := range users[i] {
			indeg[u]--
			if indeg[u] == 0 && !ready[u] {
				ready[u] = true
				queue = append(queue, u)
			}
		}
	}
	if len(order) != len(nodes) {
		for i := range nodes {
			if indeg[i] > 0 {
				return nil, fmt.Errorf("the graph has a cycle through %s", NodeLabel(nodes[i]))
			}
		}
	}
	return order, nil
}

// nodeReads lists the tensor names a node reads, including names that its
// subgraphs take from the enclosing scope.
func nodeReads(n *onnxpb.NodeProto) []string {
	reads := append([]string{}, n.GetInput()...)
	for _, a := range n.GetAttribute() {
		subs := a.GetGraphs()
		if a.GetG() != nil {
			subs = append(subs, a.GetG())
		}
		for _, sg := range subs {
			reads = append(reads, outerReads(sg)...)
		}
	}
	return reads
}

// outerReads lists the names a subgraph reads but does not define itself.
func outerReads(g *onnxpb.GraphProto) []string {
	local := map[string]bool{}
	for _, in := range g.GetInput() {
		local[in.GetName()] = true
	}
	for _, t := range g.GetInitializer() {
		local[t.GetName()] = true
	}
	for _, n := range g.GetNode() {
		for _, o := range n.GetOutput() {
			local[o] = true
		}
	}
	var reads []string
	for _, n := range g.GetNode() {
		for _, in := range nodeReads(n) {
			if in != "" && !local[in] {
				reads = append(reads, in)
			}
		}
	}
	return reads
}
