package convert

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/wtonnx/wtonnx/graph"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/wtconvgraph"
)

// ConvInfo describes one Conv node of the model as far as WTConv is
// concerned: its geometry, whether it is depthwise, and whether it can
// become a WTConv layer (and if not, why).
type ConvInfo struct {
	Node       string  `json:"node"`
	Output     string  `json:"output"`
	Depthwise  bool    `json:"depthwise"`
	Channels   int64   `json:"channels"`
	OutChans   int64   `json:"out_channels"`
	Group      int64   `json:"group"`
	Kernel     []int64 `json:"kernel"`
	Strides    []int64 `json:"strides"`
	Pads       []int64 `json:"pads"`
	Dilations  []int64 `json:"dilations"`
	AutoPad    string  `json:"auto_pad,omitempty"`
	InputHW    []int64 `json:"input_hw,omitempty"` // nil or -1 entries when not static
	Candidate  bool    `json:"candidate"`
	Reason     string  `json:"reason,omitempty"`        // why it is not a candidate
	WeightName string  `json:"weight"`                  // the weight tensor the node reads
	WeightFrom string  `json:"weight_source,omitempty"` // initializer or node holding the value
	// Layer names the WTConv layer the conv belongs to (a level or base
	// conv of one), if any.
	Layer string `json:"wtconv_layer,omitempty"`
	// Invalid says how the node contradicts the ONNX Conv specification
	// (a weight whose shape contradicts the group, a non-float weight, ...).
	Invalid string `json:"invalid,omitempty"`
	// Overridable lists the initializers the weight and bias are computed
	// from that the model also lists as graph inputs; converting the conv
	// takes their stored values as constants.
	Overridable []string `json:"overridable_weights,omitempty"`

	node   *onnxpb.NodeProto
	weight *tensor.Tensor
	bias   *tensor.Tensor
}

// ClassifyOptions control Classify.
type ClassifyOptions struct {
	// KeepOverridableWeights leaves alone convs whose weight or bias comes
	// from an initializer that is also a graph input (a value callers may
	// replace at run time). By default such initializers are taken at their
	// stored values: in IR < 4 models every initializer is listed as an
	// input, and PyTorch's keep_initializers_as_inputs lists them too.
	KeepOverridableWeights bool
}

// Classify lists every Conv node of the main graph with its geometry and
// verdict. Plain (group 1) convolutions are included with Depthwise false.
func Classify(m *onnxpb.ModelProto, shapes *graph.Shapes) []ConvInfo {
	return ClassifyWith(m, shapes, ClassifyOptions{})
}

// ClassifyWith is Classify with options.
func ClassifyWith(m *onnxpb.ModelProto, shapes *graph.Shapes, opts ClassifyOptions) []ConvInfo {
	g := m.GetGraph()
	ix := graph.NewIndex(g)
	layers, _ := wtconvgraph.Find(m, shapes)
	layerOf := wtconvNodes(m, layers)
	var out []ConvInfo
	for _, n := range g.GetNode() {
		if n.GetOpType() != "Conv" || (n.GetDomain() != "" && n.GetDomain() != "ai.onnx") {
			continue
		}
		ci := classifyConv(ix, shapes, n, opts)
		if l := layerOf[n]; l != nil {
			ci.Layer = l.Name
			if l.Form == wtconvgraph.FormPyTorch {
				ci.Reason = fmt.Sprintf("part of the WTConv layer %s (a PyTorch export; wtonnx fuse rewrites it)", l.Name)
			} else {
				ci.Reason = fmt.Sprintf("part of the WTConv layer %s (converted already)", l.Name)
			}
			ci.Candidate = false
		}
		out = append(out, ci)
	}
	return out
}

// wtconvNodes maps every node of the given layers (found in m) to its layer.
func wtconvNodes(m *onnxpb.ModelProto, layers []wtconvgraph.Layer) map[*onnxpb.NodeProto]*wtconvgraph.Layer {
	nodes := m.GetGraph().GetNode()
	out := map[*onnxpb.NodeProto]*wtconvgraph.Layer{}
	for i := range layers {
		for _, j := range layers[i].NodeIndex {
			if j >= 0 && j < len(nodes) {
				out[nodes[j]] = &layers[i]
			}
		}
	}
	return out
}

// countWTConvLayers is how many WTConv layers the model holds, and how many
// of them are PyTorch's exports.
func countWTConvLayers(m *onnxpb.ModelProto, shapes *graph.Shapes) (all, pytorch int) {
	layers, err := wtconvgraph.Find(m, shapes)
	if err != nil {
		return 0, 0
	}
	for _, l := range layers {
		if l.Form == wtconvgraph.FormPyTorch {
			pytorch++
		}
	}
	return len(layers), pytorch
}

func classifyConv(ix *graph.Index, shapes *graph.Shapes, n *onnxpb.NodeProto, opts ClassifyOptions) ConvInfo {
	ci := ConvInfo{Node: n.GetName(), node: n}
	if len(n.GetOutput()) > 0 {
		ci.Output = n.GetOutput()[0]
	}
	if ci.Node == "" {
		ci.Node = ci.Output
	}
	resolve := ix.ResolveDefault
	if opts.KeepOverridableWeights {
		resolve = ix.ResolveConstant
	}
	if err := ix.CheckConv(shapes, n); err != nil {
		ci.Invalid = err.Error()
		ci.Reason = "invalid: " + err.Error()
		if len(n.GetInput()) > 1 {
			ci.WeightName = n.GetInput()[1]
		}
		return ci
	}
	if len(n.GetInput()) < 2 {
		ci.Reason = "the node has no weight input"
		return ci
	}
	ci.WeightName = n.GetInput()[1]
	var wshape graph.Shape
	if shapes != nil {
		wshape = shapes.Of(ci.WeightName)
	}
	// Decoding a weight costs a pass over its bytes: dense convs, which hold
	// most of a model's weights and never become WTConv, are not decoded
	// unless their shape is otherwise unknown.
	var wc *graph.Constant
	werr := errNotDecoded
	if graph.AttrInt(n, "group", 1) > 1 || wshape == nil {
		wc, werr = resolve(ci.WeightName)
	}
	if werr == nil {
		ci.weight = wc.Value
		ci.WeightFrom = wc.Source
		ci.Overridable = append(ci.Overridable, wc.Overridable...)
		wshape = make(graph.Shape, len(wc.Value.Shape))
		for i, d := range wc.Value.Shape {
			wshape[i] = int64(d)
		}
	}
	geo := graph.ConvAttrs(n, wshape)
	ci.Group, ci.Kernel, ci.Strides, ci.Pads, ci.Dilations = geo.Group, geo.Kernel, geo.Strides, geo.Pads, geo.Dilations
	if geo.AutoPad != "NOTSET" {
		ci.AutoPad = geo.AutoPad
	}
	var x graph.Shape
	if shapes != nil {
		x = shapes.Of(n.GetInput()[0])
	}
	if len(wshape) >= 2 {
		ci.OutChans = wshape[0]
		ci.Channels = wshape[1] * geo.Group
	}
	if len(x) >= 2 && x[1] > 0 {
		ci.Channels = x[1]
	}
	if len(x) == 4 {
		ci.InputHW = []int64{x[2], x[3]}
	}
	ci.Depthwise = geo.Group > 1 && len(wshape) >= 2 && wshape[1] == 1 && ci.OutChans == geo.Group && ci.Channels == geo.Group
	if ci.Depthwise && werr == nil && len(n.GetInput()) > 2 && n.GetInput()[2] != "" {
		bc, err := resolve(n.GetInput()[2])
		if err != nil {
			ci.Reason = "bias not constant: " + err.Error()
			return ci
		}
		ci.bias = bc.Value
		for _, o := range bc.Overridable {
			if !slices.Contains(ci.Overridable, o) {
				ci.Overridable = append(ci.Overridable, o)
			}
		}
	}
	ci.Reason = candidateReason(ix, n, ci, wshape, werr)
	ci.Candidate = ci.Reason == ""
	if !ci.Candidate {
		ci.Overridable = nil
	}
	return ci
}

// candidateReason returns "" when the conv can become a WTConv layer.
func candidateReason(ix *graph.Index, n *onnxpb.NodeProto, ci ConvInfo, wshape graph.Shape, werr error) string {
	switch {
	case wshape == nil:
		return "the weight's shape is unknown"
	case len(wshape) != 4:
		return fmt.Sprintf("%d-D convolution (only 2-D convolutions become WTConv)", len(wshape)-2)
	case ci.Group == 1:
		return "not grouped (a dense convolution)"
	case wshape[1] == 1 && ci.OutChans != ci.Group && ci.Channels == ci.Group:
		return fmt.Sprintf("grouped but not depthwise: channel multiplier %d (output channels %d != input channels %d)", ci.OutChans/ci.Group, ci.OutChans, ci.Channels)
	case !ci.Depthwise:
		return fmt.Sprintf("grouped but not depthwise (group %d, %d input channels, %d output channels)", ci.Group, ci.Channels, ci.OutChans)
	}
	for _, d := range ci.Dilations {
		if d != 1 {
			return fmt.Sprintf("dilated (dilations %v)", ci.Dilations)
		}
	}
	if werr != nil {
		return "weights not constant: " + werr.Error()
	}
	if ci.weight.DType != tensor.Float32 {
		return "weights are not float32"
	}
	if dt := weightDataType(ix, ci.WeightFrom); dt == int32(onnxpb.TensorProto_FLOAT16) {
		return "float16 weights (float16 models are not supported yet)"
	}
	if !samePadded(ci) {
		return fmt.Sprintf("padding is not 'same' (pads %v for kernel %v): the wavelet branch would not align with the conv's output", ci.Pads, ci.Kernel)
	}
	return ""
}

func weightDataType(ix *graph.Index, source string) int32 {
	if t := ix.Initializer(source); t != nil {
		return t.GetDataType()
	}
	return 0
}

// samePadded reports whether the conv pads like the spec's DWConvSame:
// (k-1)//2 before and the rest after, per axis (or auto_pad SAME_UPPER).
func samePadded(ci ConvInfo) bool {
	switch ci.AutoPad {
	case "SAME_UPPER":
		return true
	case "SAME_LOWER":
		for _, k := range ci.Kernel {
			if k%2 == 0 {
				return false
			}
		}
		return true
	case "VALID":
		for _, k := range ci.Kernel {
			if k != 1 {
				return false
			}
		}
		return true
	}
	r := len(ci.Kernel)
	if len(ci.Pads) != 2*r {
		return false
	}
	for i, k := range ci.Kernel {
		if ci.Pads[i] != (k-1)/2 || ci.Pads[i+r] != k-1-(k-1)/2 {
			return false
		}
	}
	return true
}

// errNotDecoded marks a weight Classify did not decode (a dense conv's).
var errNotDecoded = errors.New("weight not decoded")

// MarshalJSON writes unknown sizes as null: an input_hw entry the shapes
// do not fix is null, never -1.
func (ci ConvInfo) MarshalJSON() ([]byte, error) {
	type plain ConvInfo
	return json.Marshal(struct {
		plain
		InputHW []*int64 `json:"input_hw,omitempty"`
	}{plain(ci), knownDims(ci.InputHW)})
}

// knownDims maps dims to pointers, nil for unknown (negative) ones.
func knownDims(v []int64) []*int64 {
	if v == nil {
		return nil
	}
	out := make([]*int64, len(v))
	for i, d := range v {
		if d >= 0 {
			out[i] = &v[i]
		}
	}
	return out
}

// knownCount is n, or nil when ok is false (an unknown count is null in
// JSON, never 0).
func knownCount(n int64, ok bool) *int64 {
	if !ok {
		return nil
	}
	return &n
}
