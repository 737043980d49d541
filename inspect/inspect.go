// Package inspect summarises an ONNX model for people and scripts: IR and
// opsets, inputs and outputs with shapes, an operator histogram, and every
// depthwise or grouped convolution with its geometry, feature-map size and
// whether it can become a WTConv layer (and if not, why); and the cost
// table of its WTConv layers and depthwise convs (parameters, FLOPs on the
// actual feature maps, theoretical receptive fields) with model totals,
// which Compare sets side by side for a model and its converted form.
package inspect

import (
	"sort"
	"strconv"

	"github.com/wtonnx/wtonnx/convert"
	"github.com/wtonnx/wtonnx/graph"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/wtconvgraph"
)

// Tensor describes a graph input or output.
type Tensor struct {
	Name  string   `json:"name"`
	DType string   `json:"dtype"` // ONNX's numpy-style name: float32, int64, ...
	Dims  []string `json:"dims"`  // a number, a symbolic name, or "?"
}

// OpCount is one row of the operator histogram.
type OpCount struct {
	Op    string `json:"op"`
	Count int    `json:"count"`
}

// Opset is one operator-set import.
type Opset struct {
	Domain  string `json:"domain"`
	Version int64  `json:"version"`
}

// Summary is what Inspect reports. Its JSON form is stable: fields are only
// ever added.
type Summary struct {
	IRVersion  int64              `json:"ir_version"`
	Opsets     []Opset            `json:"opsets"`
	Producer   string             `json:"producer,omitempty"`
	Inputs     []Tensor           `json:"inputs"`
	Outputs    []Tensor           `json:"outputs"`
	Nodes      int                `json:"nodes"`
	Operators  []OpCount          `json:"operators"`
	Convs      []convert.ConvInfo `json:"convs"` // depthwise and grouped convs
	Depthwise  int                `json:"depthwise"`
	Candidates int                `json:"candidates"`
	// Findings are problems that make the model invalid (a Conv whose
	// weight contradicts its group, a non-float weight, ...), each naming
	// the node and tensor; convert and run refuse such a model.
	Findings []string `json:"findings"`
	// Costs is the cost table: every WTConv layer and every depthwise conv
	// outside one, with parameters, FLOPs and receptive field, and totals.
	Costs *Costs `json:"costs,omitempty"`
	// GoEngine says whether the pure-Go engine runs the model and which
	// of its operators it lacks.
	GoEngine *GoEngine `json:"go_engine"`
	// WTConvLayers are the WTConv layers recognised in the model, in any
	// form; NearMisses the candidates (a conv with a wavelet analysis
	// filter bank) that are not a layer, with the reason.
	WTConvLayers []WTConvLayer          `json:"wtconv_layers"`
	NearMisses   []wtconvgraph.NearMiss `json:"near_misses"`
}

// WTConvLayer is one recognised WTConv layer.
type WTConvLayer struct {
	Name       string  `json:"name"`
	Module     string  `json:"module"` // its PyTorch module path (the weights command's key prefix)
	Form       string  `json:"form"`   // pytorch, ops, function or customop
	Channels   int     `json:"channels"`
	Kernel     int     `json:"kernel"` // wavelet-domain kernel
	BaseKernel []int   `json:"base_kernel"`
	Levels     int     `json:"levels"`
	Stride     int     `json:"stride"`
	Bias       bool    `json:"bias"`
	Wavelet    string  `json:"wavelet"`
	Input      string  `json:"input"`
	Output     string  `json:"output"`
	InputHW    []int64 `json:"input_hw,omitempty"`
	Nodes      int     `json:"nodes"`
}

// Options control InspectWith.
type Options struct {
	// InputShapes fix dynamic input dims for shape inference.
	InputShapes map[string][]int64
	// KeepOverridableWeights gives convert's verdict under
	// --keep-overridable-weights (see convert.ClassifyOptions).
	KeepOverridableWeights bool
}

// Inspect summarises m; shapes fix dynamic input dims for shape inference.
func Inspect(m *onnxpb.ModelProto, shapes map[string][]int64) (*Summary, error) {
	return InspectWith(m, Options{InputShapes: shapes})
}

// InspectWith summarises m.
func InspectWith(m *onnxpb.ModelProto, opts Options) (*Summary, error) {
	shapes := opts.InputShapes
	inferred, err := graph.InferShapes(m, shapes)
	if err != nil {
		return nil, err
	}
	g := m.GetGraph()
	s := &Summary{IRVersion: m.GetIrVersion(), Producer: producer(m), Nodes: len(g.GetNode()),
		Opsets: []Opset{}, Inputs: []Tensor{}, Outputs: []Tensor{}, Convs: []convert.ConvInfo{}, Findings: []string{},
		GoEngine: GoEngineSupport(m)}
	for _, op := range m.GetOpsetImport() {
		s.Opsets = append(s.Opsets, Opset{Domain: op.GetDomain(), Version: op.GetVersion()})
	}
	inits := map[string]bool{}
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = true
	}
	for _, in := range g.GetInput() {
		if !inits[in.GetName()] {
			s.Inputs = append(s.Inputs, describe(in))
		}
	}
	for _, out := range g.GetOutput() {
		s.Outputs = append(s.Outputs, describe(out))
	}
	hist := map[string]int{}
	for _, n := range g.GetNode() {
		op := n.GetOpType()
		if d := n.GetDomain(); d != "" && d != "ai.onnx" {
			op = d + "." + op
		}
		hist[op]++
	}
	for op, c := range hist {
		s.Operators = append(s.Operators, OpCount{op, c})
	}
	sort.Slice(s.Operators, func(i, j int) bool {
		if s.Operators[i].Count != s.Operators[j].Count {
			return s.Operators[i].Count > s.Operators[j].Count
		}
		return s.Operators[i].Op < s.Operators[j].Op
	})
	for _, ci := range convert.ClassifyWith(m, inferred, convert.ClassifyOptions{KeepOverridableWeights: opts.KeepOverridableWeights}) {
		if ci.Invalid != "" {
			s.Findings = append(s.Findings, ci.Invalid)
			continue
		}
		if ci.Group <= 1 {
			continue
		}
		s.Convs = append(s.Convs, ci)
		if ci.Depthwise {
			s.Depthwise++
		}
		if ci.Candidate {
			s.Candidates++
		}
	}
	rec, err := wtconvgraph.Recognize(m, inferred)
	if err != nil {
		return nil, err
	}
	s.WTConvLayers, s.NearMisses = []WTConvLayer{}, rec.NearMisses
	if s.NearMisses == nil {
		s.NearMisses = []wtconvgraph.NearMiss{}
	}
	for i := range rec.Layers {
		l := &rec.Layers[i]
		s.WTConvLayers = append(s.WTConvLayers, WTConvLayer{
			Name: l.Name, Module: l.ModulePath(), Form: FormName(l.Form), Channels: l.Layer.Channels, Kernel: l.Layer.Kernel,
			BaseKernel: []int{l.BaseKernel[0], l.BaseKernel[1]}, Levels: l.Layer.Levels, Stride: l.Layer.Stride,
			Bias: l.Layer.Bias, Wavelet: l.Layer.WaveletName(), Input: l.Input, Output: l.Output, InputHW: l.InputHW,
			Nodes: len(l.NodeIndex),
		})
	}
	costShapes := inferred
	if len(rec.Layers) > 0 {
		// Sizes behind an exported layer's run-time shape arithmetic.
		if across := wtconvgraph.ShapesAcross(m, rec.Layers, shapes); across != nil {
			costShapes = across
		}
	}
	if s.Costs, err = modelCosts(m, costShapes, rec.Layers); err != nil {
		return nil, err
	}
	return s, nil
}

func producer(m *onnxpb.ModelProto) string {
	p := m.GetProducerName()
	if v := m.GetProducerVersion(); v != "" {
		p += " " + v
	}
	return p
}

func describe(vi *onnxpb.ValueInfoProto) Tensor {
	t := Tensor{Name: vi.GetName(), DType: "?", Dims: []string{}}
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		return t
	}
	t.DType = onnxmodel.DTypeName(tt.GetElemType())
	for _, d := range tt.GetShape().GetDim() {
		switch v := d.GetValue().(type) {
		case *onnxpb.TensorShapeProto_Dimension_DimValue:
			t.Dims = append(t.Dims, strconv.FormatInt(v.DimValue, 10))
		case *onnxpb.TensorShapeProto_Dimension_DimParam:
			t.Dims = append(t.Dims, v.DimParam)
		default:
			t.Dims = append(t.Dims, "?")
		}
	}
	return t
}
