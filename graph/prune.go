package graph

import "github.com/wtonnx/wtonnx/onnxpb"

// Prune removes what became unused after an edit, starting from the given
// tensor names: an initializer nothing reads any more, and a node none of
// whose outputs is read (then, in turn, what that node read). Unlike
// RemoveDead it leaves alone whatever the edit did not touch, so dead code
// that the model already had stays as it was.
func Prune(g *onnxpb.GraphProto, seeds []string) {
	for {
		ix := NewIndex(g)
		deadNodes := map[*onnxpb.NodeProto]bool{}
		deadInits := map[string]bool{}
		var next []string
		for _, name := range seeds {
			if name == "" || len(ix.Consumers(name)) > 0 || ix.IsGraphOutput(name) {
				continue
			}
			if ix.Initializer(name) != nil && !ix.IsGraphInput(name) {
				if _, isInput := ix.inputs[name]; !isInput {
					deadInits[name] = true
				}
			}
			if n := ix.Producer(name); n != nil && !deadNodes[n] {
				used := false
				for _, o := range n.GetOutput() {
					if len(ix.Consumers(o)) > 0 || ix.IsGraphOutput(o) {
						used = true
					}
				}
				if !used {
					deadNodes[n] = true
					next = append(next, nodeReads(n)...)
				}
			}
		}
		if len(deadNodes) == 0 && len(deadInits) == 0 {
			return
		}
		var nodes []*onnxpb.NodeProto
		for _, n := range g.GetNode() {
			if !deadNodes[n] {
				nodes = append(nodes, n)
			}
		}
		g.Node = nodes
		var inits []*onnxpb.TensorProto
		for _, t := range g.GetInitializer() {
			if !deadInits[t.GetName()] {
				inits = append(inits, t)
			}
		}
		g.Initializer = inits
		seeds = next
	}
}
