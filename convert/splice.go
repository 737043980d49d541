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
	// BaseKernel is the base conv's kernel (kh, kw); the builders carry one
	// kernel size today, so a base kernel that differs from Layer.Kernel is
	// embedded (zero-padded, numerically exact) into the larger one.
	BaseKernel [2]int
	InputHW    []int64 // static input size, or nil
	Nodes      []int   // indices of the layer's nodes in the graph
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
	if r.BaseKernel != [2]int{l.Kernel, l.Kernel} {
		// One kernel size per layer in today's builders: embed both.
		K := max(l.Kernel, r.BaseKernel[0], r.BaseKernel[1])
		wt = wt.Clone()
		wt.Base = embedRect(r.Weights.Base, l.Channels, r.BaseKernel[0], r.BaseKernel[1], K)
		for i := range wt.Wavelet {
			wt.Wavelet[i] = embedKernel(r.Weights.Wavelet[i], 4*l.Channels, l.Kernel, K)
		}
		l.Kernel = K
	}
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

// embedRect places n kh x kw kernels into K x K ones so that a same-padded
// convolution is unchanged.
func embedRect(w []float32, n, kh, kw, K int) []float32 {
	oy, ox := (K-1)/2-(kh-1)/2, (K-1)/2-(kw-1)/2
	out := make([]float32, n*K*K)
	for c := 0; c < n; c++ {
		for y := 0; y < kh; y++ {
			copy(out[c*K*K+(y+oy)*K+ox:], w[c*kh*kw+y*kw:c*kh*kw+(y+1)*kw])
		}
	}
	return out
}
