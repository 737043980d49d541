package erf

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/wtonnx/wtonnx/graph"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/wtconvgraph"
)

// Result holds the impulse responses of one WTConv layer of a converted
// model and, when the original model is given, of the depthwise conv it
// replaced (same channel).
type Result struct {
	Layer   string `json:"layer"`
	Form    string `json:"form"`
	Channel int    `json:"channel"`
	// WTConv is the layer's averaged response; Original the original
	// conv's (nil without the original model).
	WTConv   *Map `json:"wtconv"`
	Original *Map `json:"original,omitempty"`
}

// Panels are the pictures' panels: the original (when known) left of the
// WTConv layer.
func (r *Result) Panels() []Panel {
	var p []Panel
	if r.Original != nil {
		o := r.Original
		p = append(p, Panel{Title: fmt.Sprintf("original %dx%d depthwise (RF %d)", o.Base, o.Base, o.ReceptiveField), Map: o})
	}
	w := r.WTConv
	base := ""
	if w.Base != w.Kernel {
		base = fmt.Sprintf("%dx%d base + ", w.Base, w.Base)
	}
	p = append(p, Panel{Title: fmt.Sprintf("WTConv %s%dx%d, %d levels (RF %d)", base, w.Kernel, w.Kernel, w.Levels, w.ReceptiveField), Map: w})
	return p
}

// LayerNames lists the names of the WTConv layers of a model.
func LayerNames(layers []wtconvgraph.Layer) []string {
	var names []string
	for _, l := range layers {
		names = append(names, l.Name)
	}
	return names
}

// SelectLayer picks the layer named node: its original conv's name, or the
// name of any node of the layer. An empty node picks the only layer of a
// model that has one.
func SelectLayer(layers []wtconvgraph.Layer, node string) (*wtconvgraph.Layer, error) {
	if len(layers) == 0 {
		return nil, fmt.Errorf("the model has no WTConv layer (convert it first with wtonnx convert)")
	}
	if node == "" {
		if len(layers) == 1 {
			return &layers[0], nil
		}
		return nil, fmt.Errorf("the model has %d WTConv layers; pick one with --node (%s)", len(layers), strings.Join(abbrev(LayerNames(layers)), ", "))
	}
	for i := range layers {
		if layers[i].Name == node {
			return &layers[i], nil
		}
	}
	for i := range layers {
		for _, n := range layers[i].Nodes {
			if n == node {
				return &layers[i], nil
			}
		}
	}
	return nil, fmt.Errorf("no WTConv layer is called %q; the model has %s", node, strings.Join(abbrev(LayerNames(layers)), ", "))
}

func abbrev(names []string) []string {
	if len(names) > 8 {
		return append(append([]string{}, names[:8]...), fmt.Sprintf("and %d more", len(names)-8))
	}
	return names
}

// FromModels computes the impulse response of layer node of the converted
// model and, when original is not nil, of the depthwise conv of that name
// in the original model.
func FromModels(ctx context.Context, converted, original *onnxpb.ModelProto, node string, opts Options) (*Result, error) {
	layers, err := wtconvgraph.Find(converted, nil)
	if err != nil {
		return nil, err
	}
	l, err := SelectLayer(layers, node)
	if err != nil {
		return nil, err
	}
	w, err := ForLayer(ctx, l, opts)
	if err != nil {
		return nil, err
	}
	r := &Result{Layer: l.Name, Form: string(l.Form), Channel: w.Channel, WTConv: w}
	if original == nil {
		return r, nil
	}
	// The original may hold the layer itself (fuse's input: a PyTorch
	// export, or another form): then its response is the layer's there.
	if olayers, err := wtconvgraph.Find(original, nil); err == nil {
		for i := range olayers {
			if ol := &olayers[i]; ol.Output == l.Output || ol.Name == l.Name {
				o, err := ForLayer(ctx, ol, Options{Channel: w.Channel, Size: opts.Size, MaxPositions: opts.MaxPositions, Threads: opts.Threads})
				if err != nil {
					return nil, fmt.Errorf("original model: %w", err)
				}
				r.Original = o
				return r, nil
			}
		}
	}
	wt, err := originalKernel(original, l.Name, l.Layer.Channels)
	if err != nil {
		return nil, fmt.Errorf("original model: %w", err)
	}
	o, err := ForDepthwise(ctx, l.Name, wt.F32, l.Layer.Channels, wt.Shape[2], wt.Shape[3], w.Channel, Options{Size: opts.Size, Threads: opts.Threads})
	if err != nil {
		return nil, err
	}
	r.Original = o
	return r, nil
}

// originalKernel finds the depthwise Conv called name and returns its
// constant weight, C x 1 x kh x kw.
func originalKernel(m *onnxpb.ModelProto, name string, channels int) (*tensor.Tensor, error) {
	g := m.GetGraph()
	var convs []string
	for _, n := range g.GetNode() {
		if n.GetOpType() != "Conv" {
			continue
		}
		convs = append(convs, n.GetName())
		if n.GetName() != name {
			continue
		}
		if len(n.GetInput()) < 2 {
			return nil, fmt.Errorf("conv %q has no weight", name)
		}
		c, err := graph.NewIndex(g).ResolveConstant(n.GetInput()[1])
		if err != nil {
			return nil, fmt.Errorf("conv %q: weight: %w", name, err)
		}
		w := c.Value
		if w.DType != tensor.Float32 || len(w.Shape) != 4 || w.Shape[0] != channels || w.Shape[1] != 1 {
			return nil, fmt.Errorf("conv %q: weight has shape %v, want a depthwise %d x 1 x kh x kw float32 kernel (is this the model that was converted?)", name, w.Shape, channels)
		}
		if g := graph.AttrInt(n, "group", 1); g != int64(channels) {
			return nil, fmt.Errorf("conv %q: group %d, the WTConv layer has %d channels", name, g, channels)
		}
		return w, nil
	}
	sort.Strings(convs)
	return nil, fmt.Errorf("no Conv node called %q (it has %d convs)", name, len(convs))
}
