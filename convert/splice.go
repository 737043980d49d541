package convert

import (
	"fmt"

	"github.com/wtonnx/wtonnx/graph"
	"github.com/wtonnx/wtonnx/onnxpb"
)

// Replacement is one WTConv layer that already exists in a model (found by
// wtconvgraph) to be written again in another form: the layer (EmitLayers'
// LayerSpec) and the indices of the graph nodes that make it up today.
type Replacement struct {
	LayerSpec
	Nodes []int
}

// Splice returns a copy of m in which every replacement's nodes are replaced
// by the layer in the given form (written by EmitLayers, the builder
// Convert uses); the shape arithmetic and constants that only the old nodes
// used are removed, everything else is left as it was. m is not modified.
func Splice(m *onnxpb.ModelProto, reps []Replacement, format Format) (*onnxpb.ModelProto, error) {
	out := copyForEdit(m)
	g := out.GetGraph()
	removed := map[int]bool{}
	var specs []LayerSpec
	for _, r := range reps {
		if len(r.Nodes) == 0 {
			return nil, fmt.Errorf("layer %s: no nodes to replace", r.Name)
		}
		for _, i := range r.Nodes {
			if i < 0 || i >= len(g.GetNode()) || removed[i] {
				return nil, fmt.Errorf("layer %s: node index %d is out of range or taken by another layer", r.Name, i)
			}
			removed[i] = true
		}
		specs = append(specs, r.LayerSpec)
	}
	var nodes []*onnxpb.NodeProto
	var seeds []string // what the old nodes read: pruned where nothing else does
	for i, n := range g.GetNode() {
		if removed[i] {
			seeds = append(seeds, n.GetInput()...)
			seeds = append(seeds, n.GetOutput()...)
			continue
		}
		nodes = append(nodes, n)
	}
	g.Node = nodes
	if err := EmitLayers(out, format, specs); err != nil {
		return nil, err
	}
	graph.Prune(g, seeds)
	return out, graph.Sort(g)
}
