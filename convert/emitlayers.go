package convert

import (
	"fmt"

	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/wtconv"
)

// LayerSpec is one WTConv layer to write into a model: its description and
// weights (the base conv included), and where it sits in the graph.
type LayerSpec struct {
	// Name prefixes the new nodes and tensors: <Name>/wtconv/level1/conv, ...
	Name          string
	Layer         wtconv.Layer
	Weights       *wtconv.Weights
	Input, Output string
	// InputHW is the layer's static input size (the ops form then crops by
	// ConvTranspose pads), or nil (it crops with Slice on run-time shapes).
	InputHW []int64
}

// EmitLayers writes each layer into m (in place) in the given form, with
// the same builder Convert uses: the new nodes compute spec.Output from
// spec.Input, their tensors are added, and the form's domain import and
// model-local functions are added where missing; the graph is then sorted.
// Nothing is removed: a caller replacing existing nodes (wtonnx fuse)
// deletes them before or after, and prunes what only they used.
func EmitLayers(m *onnxpb.ModelProto, format Format, specs []LayerSpec) error {
	switch format {
	case "":
		format = FormatOps
	case FormatOps, FormatFunction, FormatCustomOp:
	default:
		return fmt.Errorf("unknown format %q (want ops, function or customop)", format)
	}
	if m.GetGraph() == nil {
		return fmt.Errorf("the model has no graph")
	}
	b, err := newBuilder(m, format)
	if err != nil {
		return err
	}
	for _, s := range specs {
		if err := s.Weights.Check(s.Layer); err != nil {
			return fmt.Errorf("layer %q: %w", s.Name, err)
		}
		wav, err := wtconv.WaveletByName(s.Layer.WaveletName())
		if err != nil {
			return fmt.Errorf("layer %q: %w", s.Name, err)
		}
		if s.Input == "" || s.Output == "" {
			return fmt.Errorf("layer %q: input and output names are required", s.Name)
		}
		p := &layerPlan{
			info:    ConvInfo{Node: s.Name, Output: s.Output, node: &onnxpb.NodeProto{Input: []string{s.Input}}},
			layer:   s.Layer,
			wavelet: wav,
			weights: s.Weights,
			newBase: true,
		}
		if len(s.InputHW) == 2 && s.InputHW[0] > 0 && s.InputHW[1] > 0 {
			p.hw = s.InputHW
		}
		nodes, err := b.build(p)
		if err != nil {
			return fmt.Errorf("layer %q: %w", s.Name, err)
		}
		b.g.Node = append(b.g.Node, nodes...)
	}
	return b.finish()
}
