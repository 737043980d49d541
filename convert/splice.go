package convert

import (
	"fmt"
	"sort"

	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/wtconv"
)

// Replacement is one WTConv layer that already exists in a model (found by
// wtconvgraph) to be written again in another form: the nodes that make it
// up today and the layer they compute.
type Replacement struct {
	Name    string // used to name the new nodes and tensors
	Input   string // X
	Output  string // the tensor the layer writes; the new form writes it too
	Layer   wtconv.Layer
	Weights *wtconv.Weights
	// The builders carry one kernel size: Weights.Base is C x Layer.Kernel^2
	// (wtconvgraph.Layer.Embedded gives that form of any layer).
	InputHW []int64 // static input size, or nil
	Nodes   []int   // indices of the layer's nodes in the graph
}

// Splice returns a copy of m in which every replacement's nodes are replaced
// by the layer in the given form; the shape arithmetic and constants that
// only the old nodes used are removed, everything else is left as it was.
// m is not modified.
func Splice(m *onnxpb.ModelProto, reps []Replacement, format Format) (*onnxpb.ModelProto, error) {
	out := copyForEdit(m)
	b, err := newBuilder(out, format)
	if err != nil {
		return nil, err
	}
	removed := map[int]bool{}
	insertAt := map[int][]*onnxpb.NodeProto{}
	for _, r := range reps {
		p, err := replacementPlan(r)
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", r.Name, err)
		}
		nodes, err := b.emit(p)
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", r.Name, err)
		}
		if len(r.Nodes) == 0 {
			return nil, fmt.Errorf("layer %s: no nodes to replace", r.Name)
		}
		idx := append([]int(nil), r.Nodes...)
		sort.Ints(idx)
		for _, i := range idx {
			if i < 0 || i >= len(out.Graph.Node) || removed[i] {
				return nil, fmt.Errorf("layer %s: node index %d is out of range or taken by another layer", r.Name, i)
			}
			removed[i] = true
		}
		last := idx[len(idx)-1]
		insertAt[last] = append(insertAt[last], nodes...)
	}
	var nodes []*onnxpb.NodeProto
	for i, n := range out.Graph.Node {
		if removed[i] {
			b.removed = append(b.removed, n.GetInput()...)
			b.removed = append(b.removed, n.GetOutput()...)
		} else {
			nodes = append(nodes, n)
		}
		nodes = append(nodes, insertAt[i]...)
	}
	out.Graph.Node = nodes
	if err := b.finish(); err != nil {
		return nil, err
	}
	return out, nil
}

// replacementPlan turns a found layer into the plan the builders take.
func replacementPlan(r Replacement) (*layerPlan, error) {
	l, wt := r.Layer, r.Weights
	check := l
	if check.WaveletName() != wtconv.DefaultWavelet {
		check.Wavelet = wtconv.DefaultWavelet // emit refuses other wavelets by name
	}
	if err := wt.Check(check); err != nil {
		return nil, err
	}
	placeholder := &onnxpb.NodeProto{Input: []string{r.Input}, Output: []string{r.Output}}
	return &layerPlan{
		info:    ConvInfo{Node: r.Name, Output: r.Output, Kernel: []int64{int64(l.Kernel), int64(l.Kernel)}, node: placeholder},
		layer:   l,
		hw:      r.InputHW,
		weights: wt,
		newBase: true,
	}, nil
}
