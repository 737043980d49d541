package convert

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/wtonnx/wtonnx/checkpoint"
	"github.com/wtonnx/wtonnx/graph"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/wtconv"
	"github.com/wtonnx/wtonnx/wtconvgraph"
)

// Supported default-domain opsets of the models Convert edits.
const (
	MinOpset = 9
	MaxOpset = 21
)

// LayerReport describes one converted layer.
type LayerReport struct {
	Node          string  `json:"node"`
	Channels      int     `json:"channels"`
	BaseKernel    []int64 `json:"base_kernel"`
	Kernel        int     `json:"kernel"`
	Levels        int     `json:"levels"`
	Stride        int     `json:"stride"`
	Wavelet       string  `json:"wavelet"`
	InputHW       []int64 `json:"input_hw,omitempty"`
	RFBefore      int     `json:"receptive_field_before"`
	RFAfter       int     `json:"receptive_field_after"`
	ParamsBefore  int64   `json:"params_before"`
	ParamsAfter   int64   `json:"params_after"`
	FLOPsBefore   int64   `json:"flops_before,omitempty"`
	FLOPsAfter    int64   `json:"flops_after,omitempty"`
	WeightsPrefix string  `json:"weights_prefix,omitempty"`
}

// Skipped is a depthwise or grouped conv that was left as it was.
type Skipped struct {
	Node   string `json:"node"`
	Reason string `json:"reason"`
}

// MarshalJSON writes FLOPs that are unknown (the input size is not static)
// as null.
func (r LayerReport) MarshalJSON() ([]byte, error) {
	type plain LayerReport
	known := r.InputHW != nil
	return json.Marshal(struct {
		plain
		FLOPsBefore *int64 `json:"flops_before"`
		FLOPsAfter  *int64 `json:"flops_after"`
	}{plain(r), knownCount(r.FLOPsBefore, known), knownCount(r.FLOPsAfter, known)})
}

// Totals sums the converted layers.
type Totals struct {
	Converted    int   `json:"converted"`
	Skipped      int   `json:"skipped"`
	ParamsBefore int64 `json:"params_before"`
	ParamsAfter  int64 `json:"params_after"`
	FLOPsBefore  int64 `json:"flops_before"` // null in JSON when a layer's is unknown
	FLOPsAfter   int64 `json:"flops_after"`
	// FLOPsUnknown counts the converted layers whose FLOPs are unknown.
	FLOPsUnknown int `json:"flops_unknown"`
}

// MarshalJSON writes sums that miss an unknown layer as null.
func (t Totals) MarshalJSON() ([]byte, error) {
	type plain Totals
	known := t.FLOPsUnknown == 0
	return json.Marshal(struct {
		plain
		FLOPsBefore *int64 `json:"flops_before"`
		FLOPsAfter  *int64 `json:"flops_after"`
	}{plain(t), knownCount(t.FLOPsBefore, known), knownCount(t.FLOPsAfter, known)})
}

// Report is the summary of a conversion (or of a plan, for a dry run).
type Report struct {
	Init InitMode `json:"init"`
	// Format is the form asked for (new layers are written in it).
	Format    Format        `json:"format"`
	Converted []LayerReport `json:"converted"`
	Skipped   []Skipped     `json:"skipped"`
	Totals    Totals        `json:"totals"`
	Warnings  []string      `json:"warnings,omitempty"`
	// FormsFound counts the WTConv layers of the result by the form the
	// recognizer finds them in ("ops", "function", "fused"): the layers
	// converted now and any the input held already. For a plan, those of
	// the input plus the planned ones in Format.
	FormsFound map[string]int `json:"forms_found"`
	// OverridableWeights lists the initializers that the model also lists
	// as graph inputs and that the converted layers took as constants; the
	// converted model no longer lists them as inputs.
	OverridableWeights []string `json:"overridable_weights_taken"`
	// Notes are remarks that are not warnings (what was taken as constant).
	Notes []string `json:"notes,omitempty"`
}

// layerPlan is everything needed to build one layer's replacement.
type layerPlan struct {
	info    ConvInfo
	layer   wtconv.Layer // Kernel is the wavelet-domain kernel, BaseKernel the base conv's
	wavelet wtconv.Wavelet
	hw      []int64 // static input size, or nil
	dynamic bool    // hw comes from --input-shape: the model's size stays dynamic
	weights *wtconv.Weights
	// newBase is true when the base conv gets new weights (import); else the
	// original conv's weight and bias tensors are reused as they are.
	newBase bool
	prefix  string
	report  LayerReport
}

// Convert returns a copy of m in which the selected depthwise convs are
// WTConv layers, and a report. m is not modified. With no candidate the copy
// equals m and the report carries a warning saying why.
func Convert(m *onnxpb.ModelProto, opts Options) (*onnxpb.ModelProto, *Report, error) {
	out := copyForEdit(m)
	plans, rep, err := plan(out, &opts)
	if err != nil {
		return nil, nil, err
	}
	if len(plans) == 0 {
		return out, rep, nil
	}
	b, err := newBuilder(out, opts.Format)
	if err != nil {
		return nil, nil, err
	}
	for i, p := range plans {
		if err := b.replace(p); err != nil {
			return nil, nil, fmt.Errorf("node %q: %w", p.info.Node, err)
		}
		if opts.Progress != nil {
			opts.Progress(i+1, len(plans))
		}
	}
	b.fixOverridable(rep.OverridableWeights)
	if err := b.finish(); err != nil {
		return nil, nil, err
	}
	rep.FormsFound = formsFound(out, nil)
	return out, rep, nil
}

// formsFound counts m's WTConv layers by form, plus planned new ones.
func formsFound(m *onnxpb.ModelProto, planned map[string]int) map[string]int {
	out := map[string]int{}
	shapes, err := graph.InferShapes(m, nil)
	if err == nil {
		if layers, err := wtconvgraph.Find(m, shapes); err == nil {
			for _, l := range layers {
				out[string(l.Form)]++
			}
		}
	}
	for f, n := range planned {
		out[f] += n
	}
	return out
}

// copyForEdit returns a copy of m that shares its tensors, nodes and other
// sub-messages (which Convert never changes) but owns the model, its graph
// and every list Convert edits. A deep copy would double the memory and
// time of converting a large model for nothing.
func copyForEdit(m *onnxpb.ModelProto) *onnxpb.ModelProto {
	out := shallowCopy(m).(*onnxpb.ModelProto)
	out.OpsetImport = slices.Clone(m.GetOpsetImport())
	out.Functions = slices.Clone(m.GetFunctions())
	if g := m.GetGraph(); g != nil {
		og := shallowCopy(g).(*onnxpb.GraphProto)
		og.Node = slices.Clone(g.GetNode())
		og.Initializer = slices.Clone(g.GetInitializer())
		og.ValueInfo = slices.Clone(g.GetValueInfo())
		out.Graph = og
	}
	return out
}

// shallowCopy copies a message's fields one level deep, unknown fields
// included.
func shallowCopy(msg proto.Message) proto.Message {
	src := msg.ProtoReflect()
	dst := src.New()
	src.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		dst.Set(fd, v)
		return true
	})
	dst.SetUnknown(src.GetUnknown())
	return dst.Interface()
}

// Plan reports what Convert would do, without building anything.
func Plan(m *onnxpb.ModelProto, opts Options) (*Report, error) {
	_, rep, err := plan(m, &opts)
	if err != nil {
		return nil, err
	}
	form := string(wtconvgraph.FormOps)
	switch opts.Format {
	case FormatFunction:
		form = string(wtconvgraph.FormFunction)
	case FormatCustomOp:
		form = string(wtconvgraph.FormFused)
	}
	rep.FormsFound = formsFound(m, map[string]int{form: len(rep.Converted)})
	return rep, nil
}

func plan(m *onnxpb.ModelProto, opts *Options) ([]*layerPlan, *Report, error) {
	if err := opts.check(); err != nil {
		return nil, nil, err
	}
	opset, err := graph.OpsetVersion(m)
	if err != nil {
		return nil, nil, err
	}
	if opset < MinOpset || opset > MaxOpset {
		return nil, nil, fmt.Errorf("the model uses opset %d; wtonnx converts opsets %d through %d", opset, MinOpset, MaxOpset)
	}
	if err := refuseFloat16(m); err != nil {
		return nil, nil, err
	}
	shapes, err := graph.InferShapes(m, opts.InputShapes)
	if err != nil {
		return nil, nil, err
	}
	// The model's own shapes: --input-shape fixes the plan (levels, costs),
	// not the model, whose inputs stay dynamic.
	declared := shapes
	if len(opts.InputShapes) > 0 {
		if declared, err = graph.InferShapes(m, nil); err != nil {
			return nil, nil, err
		}
	}
	ix := graph.NewIndex(m.GetGraph())
	rep := &Report{Init: opts.Init, Format: opts.Format, Converted: []LayerReport{}, Skipped: []Skipped{}, OverridableWeights: []string{}}
	var plans []*layerPlan
	for _, ci := range ClassifyWith(m, shapes, ClassifyOptions{KeepOverridableWeights: opts.KeepOverridableWeights}) {
		if ci.Invalid != "" {
			return nil, nil, fmt.Errorf("invalid model: %s", ci.Invalid)
		}
		if !ci.Depthwise && ci.Group <= 1 {
			continue // dense convs are not of interest
		}
		if reason := selectReason(ci, opts); reason != "" {
			rep.Skipped = append(rep.Skipped, Skipped{Node: ci.Node, Reason: reason})
			continue
		}
		p, skip, err := planLayer(ix, ci, opts, len(plans))
		if err != nil {
			return nil, nil, fmt.Errorf("node %q: %w", ci.Node, err)
		}
		if skip != "" {
			rep.Skipped = append(rep.Skipped, Skipped{Node: ci.Node, Reason: skip})
			continue
		}
		if hw := declared.Of(ci.node.GetInput()[0]); p.hw != nil && (len(hw) != 4 || hw[2] <= 0 || hw[3] <= 0) {
			p.dynamic = true
		}
		plans = append(plans, p)
		rep.Converted = append(rep.Converted, p.report)
		for _, o := range ci.Overridable {
			if !slices.Contains(rep.OverridableWeights, o) {
				rep.OverridableWeights = append(rep.OverridableWeights, o)
			}
		}
	}
	if n := len(rep.OverridableWeights); n > 0 {
		rep.Notes = append(rep.Notes, overridableNote(m, n))
	}
	for _, r := range rep.Converted {
		if r.InputHW == nil {
			rep.Totals.FLOPsUnknown++
		}
		rep.Totals.ParamsBefore += r.ParamsBefore
		rep.Totals.ParamsAfter += r.ParamsAfter
		rep.Totals.FLOPsBefore += r.FLOPsBefore
		rep.Totals.FLOPsAfter += r.FLOPsAfter
	}
	rep.Totals.Converted, rep.Totals.Skipped = len(rep.Converted), len(rep.Skipped)
	if len(plans) == 0 {
		why := "the model has no depthwise convolution"
		if len(rep.Skipped) > 0 {
			why = fmt.Sprintf("none of its %d depthwise or grouped convolutions qualifies (first: %s: %s)", len(rep.Skipped), rep.Skipped[0].Node, rep.Skipped[0].Reason)
		}
		if n, pt := countWTConvLayers(m, shapes); pt > 0 {
			why = fmt.Sprintf("the model holds %d WTConv layers already (%d exported from PyTorch) and no other depthwise convolution qualifies; to give them the fused operator or the clean standard-operator form, use wtonnx fuse", n, pt)
		} else if n > 0 {
			why = fmt.Sprintf("the model was converted already (%d WTConv layers) and no other depthwise convolution qualifies; wtonnx fuse changes their form", n)
		}
		rep.Warnings = append(rep.Warnings, "nothing converted: "+why+"; the model is written unchanged")
	}
	if opts.Init == InitImport {
		rep.Warnings = append(rep.Warnings, sharedPrefixWarnings(plans)...)
	}
	return plans, rep, nil
}

// overridableNote says what taking n initializers that are also graph
// inputs as constants means for this model.
func overridableNote(m *onnxpb.ModelProto, n int) string {
	what := fmt.Sprintf("%d %s", n, plural(n, "initializer", "initializers"))
	if m.GetIrVersion() < 4 {
		return what + " listed as graph inputs (IR 3 lists every initializer as an input) were taken as the constant weights they are; the converted model (IR 4) no longer lists the ones the WTConv layers consume as inputs"
	}
	return what + " with a graph input of the same name (defaults a caller may override) were taken as constants: converting fixes those defaults into the layers, and the converted model no longer lists them as inputs (--keep-overridable-weights leaves such convs alone)"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// refuseFloat16 rejects half-precision models: the WTConv tensors would be
// built in float32 and mismatch the graph's types.
func refuseFloat16(m *onnxpb.ModelProto) error {
	g := m.GetGraph()
	for _, vi := range append(append([]*onnxpb.ValueInfoProto{}, g.GetInput()...), g.GetOutput()...) {
		if vi.GetType().GetTensorType().GetElemType() == int32(onnxpb.TensorProto_FLOAT16) {
			return fmt.Errorf("float16 models are not supported yet (%q is float16); convert the model to float32 first", vi.GetName())
		}
	}
	for _, t := range g.GetInitializer() {
		if t.GetDataType() == int32(onnxpb.TensorProto_FLOAT16) {
			return fmt.Errorf("float16 models are not supported yet (initializer %q is float16); convert the model to float32 first", t.GetName())
		}
	}
	return nil
}

func selectReason(ci ConvInfo, opts *Options) string {
	switch {
	case !ci.Candidate:
		return ci.Reason
	case opts.Select != nil && !opts.Select.MatchString(ci.Node):
		return fmt.Sprintf("not selected (--select %s)", opts.Select)
	case opts.Exclude != nil && opts.Exclude.MatchString(ci.Node):
		return fmt.Sprintf("excluded (--exclude %s)", opts.Exclude)
	case opts.MinKernel > 0 && maxOf(ci.Kernel) < int64(opts.MinKernel):
		return fmt.Sprintf("kernel %v is below --min-kernel %d", ci.Kernel, opts.MinKernel)
	}
	return ""
}

// planLayer decides levels, kernel, stride and weights of one layer. skip is
// non-empty when the layer is left alone for a reason worth reporting.
func planLayer(ix *graph.Index, ci ConvInfo, opts *Options, index int) (p *layerPlan, skip string, err error) {
	if len(ci.Strides) != 2 || ci.Strides[0] != ci.Strides[1] {
		return nil, fmt.Sprintf("unequal strides %v (WTConv subsamples both axes alike)", ci.Strides), nil
	}
	C := int(ci.Channels)
	p = &layerPlan{info: ci}
	if len(ci.InputHW) == 2 && ci.InputHW[0] > 0 && ci.InputHW[1] > 0 {
		p.hw = ci.InputHW
	}
	layer := wtconv.Layer{Channels: C, Stride: int(ci.Strides[0]), Bias: ci.bias != nil, Wavelet: opts.Wavelet}
	if p.wavelet, err = wtconv.WaveletByName(layer.WaveletName()); err != nil {
		return nil, "", err
	}

	var info checkpoint.Info
	if opts.Init == InitImport {
		p.prefix = weightsPrefix(ci.WeightFrom, opts.WeightsPrefix)
		if info, err = opts.Weights.LayerInfo(p.prefix); err != nil {
			return nil, "", fmt.Errorf("importing weights: %w", err)
		}
		if info.Channels != C {
			return nil, "", fmt.Errorf("checkpoint %s: prefix %q holds a layer of %d channels, the conv has %d", opts.Weights.Path(), p.prefix, info.Channels, C)
		}
		if opts.Kernel != 0 && opts.Kernel != info.Kernel {
			return nil, "", fmt.Errorf("checkpoint %s: prefix %q has kernel %d, --kernel says %d", opts.Weights.Path(), p.prefix, info.Kernel, opts.Kernel)
		}
		if opts.Levels != AutoLevels && opts.Levels != info.Levels {
			return nil, "", fmt.Errorf("checkpoint %s: prefix %q has %d levels, --levels says %d", opts.Weights.Path(), p.prefix, info.Levels, opts.Levels)
		}
		layer.Kernel, layer.BaseKernel, layer.Levels, layer.Bias = info.Kernel, info.BaseKernel, info.Levels, info.Bias
	} else {
		layer.Kernel = opts.Kernel
		if layer.Kernel == 0 {
			layer.Kernel = DefaultKernel
		}
		// The original conv stays the base branch, at its own size.
		if len(ci.Kernel) == 2 && ci.Kernel[0] == ci.Kernel[1] {
			layer.BaseKernel = int(ci.Kernel[0])
		}
		layer.Levels = opts.Levels
		if layer.Levels == AutoLevels {
			if p.hw == nil {
				return nil, "levels auto needs the conv's input size, which is not static; fix the model's input with --input-shape NAME=1x3x224x224 or give --levels N", nil
			}
			layer.Levels = wtconv.AutoLevels(int(p.hw[0]), int(p.hw[1]))
			if layer.Levels == 0 {
				return nil, fmt.Sprintf("feature map %dx%d is too small for one wavelet level", p.hw[0], p.hw[1]), nil
			}
		}
	}
	if err := layer.Validate(); err != nil {
		return nil, "", err
	}
	if p.hw != nil {
		if err := layer.CheckLevelsFit(int(p.hw[0]), int(p.hw[1])); err != nil {
			return nil, "", err
		}
	}
	p.layer = layer
	switch opts.Init {
	case InitImport:
		if p.weights, err = opts.Weights.LayerWeights(p.prefix, layer); err != nil {
			return nil, "", fmt.Errorf("importing weights: %w", err)
		}
		p.newBase = true
	default:
		p.weights, err = waveletWeights(layer, opts, ci.Node, index)
		if err != nil {
			return nil, "", err
		}
	}
	p.report = layerReport(p)
	return p, "", nil
}

// waveletWeights draws the wavelet branch for preserve and random modes; the
// base branch stays the original conv and is not part of the result.
func waveletWeights(l wtconv.Layer, opts *Options, node string, index int) (*wtconv.Weights, error) {
	kb := l.BaseKernelSize()
	zeroBase := make([]float32, l.Channels*kb*kb)
	var bias []float32
	if l.Bias {
		bias = make([]float32, l.Channels)
	}
	if opts.Init == InitRandom {
		// Each layer draws from its own stream, derived from the seed and the
		// node's name, so selecting other layers does not change this one.
		h := fnv.New64a()
		fmt.Fprintf(h, "%d/%s", opts.Seed, node)
		return wtconv.RandomWeights(l, zeroBase, bias, h.Sum64())
	}
	return wtconv.PreserveWeights(l, zeroBase, bias)
}

// weightsPrefix derives a checkpoint prefix from the weight's source name.
func weightsPrefix(source string, rules []PrefixRule) string {
	prefix := strings.TrimSuffix(source, "weight")
	for _, r := range rules {
		if r.From.MatchString(prefix) {
			return r.From.ReplaceAllString(prefix, r.To)
		}
	}
	return prefix
}

func layerReport(p *layerPlan) LayerReport {
	l, ci := p.layer, p.info
	C := int64(l.Channels)
	kb := ci.Kernel
	if p.newBase {
		kb = []int64{int64(l.BaseKernelSize()), int64(l.BaseKernelSize())}
	}
	biasN := int64(0)
	if l.Bias {
		biasN = C
	}
	origBias := int64(0)
	if len(ci.node.GetInput()) > 2 && ci.node.GetInput()[2] != "" {
		origBias = C
	}
	k := int64(l.Kernel)
	r := LayerReport{
		Node: ci.Node, Channels: l.Channels, BaseKernel: kb, Kernel: l.Kernel, Levels: l.Levels, Stride: l.Stride,
		InputHW:       p.hw,
		RFBefore:      int(maxOf(ci.Kernel)),
		RFAfter:       max(int(maxOf(kb)), l.ReceptiveField()),
		Wavelet:       p.wavelet.Name,
		ParamsBefore:  C*ci.Kernel[0]*ci.Kernel[1] + origBias,
		ParamsAfter:   C*kb[0]*kb[1] + biasN + C + int64(l.Levels)*(4*C*k*k+4*C),
		WeightsPrefix: p.prefix,
	}
	if p.hw != nil {
		h, w := int(p.hw[0]), int(p.hw[1])
		r.FLOPsBefore = wtconv.DepthwiseFLOPs(l.Channels, h, w, int(ci.Kernel[0]), int(ci.Kernel[1]), l.Stride, l.Stride)
		c := l.FLOPs(h, w)
		// The layer's own formula counts a k x k base; use the real one.
		r.FLOPsAfter = c.Total - c.Base + wtconv.DepthwiseFLOPs(l.Channels, h, w, int(kb[0]), int(kb[1]), l.Stride, l.Stride)
	}
	return r
}

// sharedPrefixWarnings notes convs that take their weights from the same
// checkpoint prefix, which is legal but usually a mapping mistake.
func sharedPrefixWarnings(plans []*layerPlan) []string {
	byPrefix := map[string][]string{}
	var order []string
	for _, p := range plans {
		if _, seen := byPrefix[p.prefix]; !seen {
			order = append(order, p.prefix)
		}
		byPrefix[p.prefix] = append(byPrefix[p.prefix], p.info.Node)
	}
	var warn []string
	for _, prefix := range order {
		if nodes := byPrefix[prefix]; len(nodes) > 1 {
			warn = append(warn, fmt.Sprintf("convs %s all read checkpoint prefix %q", strings.Join(nodes, ", "), prefix))
		}
	}
	return warn
}

func maxOf(v []int64) int64 {
	m := int64(0)
	for _, x := range v {
		m = max(m, x)
	}
	return m
}
