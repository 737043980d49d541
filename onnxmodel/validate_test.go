package onnxmodel

import (
	"fmt"
	"math/rand"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/onnxpb"
)

// chainModel is x -> Relu -> ... -> Relu -> y with n nodes, listed in the
// file in the order perm gives (nil: sorted).
func chainModel(n int, perm []int) *onnxpb.ModelProto {
	m := tinyModel()
	g := m.Graph
	g.Node = make([]*onnxpb.NodeProto, n)
	name := func(i int) string {
		switch i {
		case 0:
			return "x"
		case n:
			return "y"
		}
		return fmt.Sprintf("v%d", i)
	}
	for i := 0; i < n; i++ {
		at := i
		if perm != nil {
			at = perm[i]
		}
		g.Node[at] = node(fmt.Sprintf("n%d", i), "Relu", []string{name(i)}, []string{name(i + 1)})
	}
	g.Initializer = nil
	return m
}

// wideModel has n independent nodes all reading x, summed by one last node.
func wideModel(n int) *onnxpb.ModelProto {
	m := tinyModel()
	g := m.Graph
	g.Node = nil
	var outs []string
	for i := 0; i < n; i++ {
		out := fmt.Sprintf("w%d", i)
		g.Node = append(g.Node, node(out, "Relu", []string{"x"}, []string{out}))
		outs = append(outs, out)
	}
	g.Node = append(g.Node, node("sum", "Sum", outs, []string{"y"}))
	g.Initializer = nil
	return m
}

// nestedModel nests depth If nodes, each then-branch holding the next; the
// innermost reads x from the outermost scope.
func nestedModel(depth int) *onnxpb.ModelProto {
	m := tinyModel()
	inner := &onnxpb.GraphProto{
		Name:   proto.String("inner"),
		Node:   []*onnxpb.NodeProto{node("leaf", "Identity", []string{"x"}, []string{"t0"})},
		Output: []*onnxpb.ValueInfoProto{valueInfo("t0")},
	}
	for d := 1; d <= depth; d++ {
		n := node(fmt.Sprintf("if%d", d), "If", []string{"c"}, []string{fmt.Sprintf("t%d", d)})
		n.Attribute = []*onnxpb.AttributeProto{{Name: proto.String("then_branch"), G: inner}}
		inner = &onnxpb.GraphProto{
			Name:   proto.String(fmt.Sprintf("g%d", d)),
			Node:   []*onnxpb.NodeProto{n},
			Output: []*onnxpb.ValueInfoProto{valueInfo(fmt.Sprintf("t%d", d))},
		}
	}
	m.Graph.Node = append(m.Graph.Node, inner.Node...)
	m.Graph.Input = append(m.Graph.Input, valueInfo("c"))
	return m
}

// manyScopesModel has names outer values and subgraphs If nodes, each with
// a then-branch reading one outer value: checking it must not copy the outer
// scope into every subgraph.
func manyScopesModel(names, subgraphs int) *onnxpb.ModelProto {
	m := tinyModel()
	g := m.Graph
	for i := 0; i < names; i++ {
		g.Initializer = append(g.Initializer, NewFloat32Tensor(fmt.Sprintf("c%d", i), nil, []float32{float32(i)}))
	}
	g.Input = append(g.Input, valueInfo("cond"))
	for i := 0; i < subgraphs; i++ {
		body := &onnxpb.GraphProto{
			Name:   proto.String(fmt.Sprintf("b%d", i)),
			Node:   []*onnxpb.NodeProto{node(fmt.Sprintf("id%d", i), "Identity", []string{fmt.Sprintf("c%d", i%names)}, []string{fmt.Sprintf("r%d", i)})},
			Output: []*onnxpb.ValueInfoProto{valueInfo(fmt.Sprintf("r%d", i))},
		}
		n := node(fmt.Sprintf("if%d", i), "If", []string{"cond"}, []string{fmt.Sprintf("o%d", i)})
		n.Attribute = []*onnxpb.AttributeProto{{Name: proto.String("then_branch"), G: body}}
		g.Node = append(g.Node, n)
	}
	return m
}

// referenceOrder is the lowest-index-first topological order, computed the
// slow obvious way.
func referenceOrder(g *onnxpb.GraphProto) []int {
	producer := map[string]int{}
	for i, n := range g.Node {
		for _, o := range n.Output {
			producer[o] = i
		}
	}
	done := make([]bool, len(g.Node))
	var order []int
	for len(order) < len(g.Node) {
		for i, n := range g.Node {
			if done[i] {
				continue
			}
			ready := true
			for _, in := range n.Input {
				if p, ok := producer[in]; ok && !done[p] {
					ready = false
				}
			}
			if ready {
				done[i] = true
				order = append(order, i)
				break
			}
		}
	}
	return order
}

func TestTopoOrder(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for _, n := range []int{1, 2, 5, 50, 300} {
		for trial := 0; trial < 5; trial++ {
			var perm []int
			if trial > 0 {
				perm = rng.Perm(n)
			}
			m := chainModel(n, perm)
			if err := Validate(m); err != nil {
				t.Fatal(err)
			}
			got, err := TopoOrder(m.Graph)
			if err != nil {
				t.Fatal(err)
			}
			want := referenceOrder(m.Graph)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("n=%d perm=%v: order %v, want %v", n, perm, got, want)
			}
		}
	}
	// A sorted graph keeps its order.
	m := wideModel(100)
	got, err := TopoOrder(m.Graph)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if i != v {
			t.Fatalf("sorted graph reordered: %v", got)
		}
	}
}

// TestAdversarialStructures checks large and deeply nested graphs: valid
// ones pass, and nesting beyond protobuf's limit is a clean error.
func TestAdversarialStructures(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for name, m := range map[string]*onnxpb.ModelProto{
		"sorted chain of 20000":   chainModel(20000, nil),
		"shuffled chain of 20000": chainModel(20000, rng.Perm(20000)),
		"20000 wide":              wideModel(20000),
		"nesting 3000 deep":       nestedModel(3000),
		"5000 names, 2000 scopes": manyScopesModel(5000, 2000),
	} {
		if _, err := Parse(mustMarshal(t, m)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	_, err := Parse(mustMarshal(t, nestedModel(4000)))
	wantError(t, err, "not a valid ONNX model", "recursion")

	// A long cycle is reported with its ends, not 20000 names.
	m := chainModel(20000, nil)
	m.Graph.Node[0].Input[0] = "y"
	_, err = Parse(mustMarshal(t, m))
	wantError(t, err, `the graph has a cycle: node "n0" (Relu) -> node "n1" (Relu)`, "(19991 more)", `node "n19999" (Relu) -> node "n0" (Relu)`)
}

func BenchmarkValidate(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	for _, c := range []struct {
		name string
		m    *onnxpb.ModelProto
	}{
		{"chain20k", chainModel(20000, nil)},
		{"shuffledChain20k", chainModel(20000, rng.Perm(20000))},
		{"wide20k", wideModel(20000)},
		{"nested3000", nestedModel(3000)},
		{"scopes5000x2000", manyScopesModel(5000, 2000)},
	} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if err := Validate(c.m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
