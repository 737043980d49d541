// Package wtconvgraph finds the WTConv layers of an ONNX model and
// recovers each one as a wtconv.Layer with its weights, so that the layer can
// be costed, run through the reference forward (wtconv.Forward), pictured,
// fused into another form or saved as a checkpoint.
//
// Recognition is structural, the onnxscript-rewriter way, and never reads
// node names:
//
//   - a layer written with standard operators (PyTorch's export of the
//     authors' WTConv2d, or convert's ops form) starts at a grouped stride-2
//     Conv whose constant weight is a wavelet analysis filter bank. From the
//     layer's input the recognizer computes, for every tensor it can follow,
//     a symbolic term of what that tensor holds (an analysis band, a scaled
//     level conv, a synthesis of four bands, a base conv, a sum, a
//     subsampling), through the band split (Reshape, Gather, Slice,
//     Unsqueeze, Concat), the odd-size Pad, the crops and the stride
//     (Slice steps or AveragePool). A tensor holding exactly
//     base + synthesis(levels 1..L) is the layer's output; a broken wiring
//     computes a different term and is reported as a near miss with the
//     term it got;
//   - the fused form: one node of domain ai.wtonnx, op WTConv, inputs X,
//     base_weight, base_bias, base_scale, wavelet_weight [L,4C,1,K,K] and
//     wavelet_scale [L,4C], attributes levels, stride and wavelet;
//   - the function form: one node calling a model-local function, read by
//     the function's body (inlined with the node's inputs, its weights
//     folded through the body's Gather and Reshape): the body must be one
//     layer from the node's input to its output, whatever the function is
//     called. Only a node of domain ai.wtonnx.function whose body the model
//     does not carry is read by its op type's signature.
package wtconvgraph

import (
	"fmt"

	"google.golang.org/protobuf/proto"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/wtonnx/wtonnx/graph"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/wtconv"
)

// Form is how a layer is written in the graph.
type Form string

const (
	FormOps   Form = "ops"   // standard ONNX operators
	FormFused Form = "fused" // one ai.wtonnx WTConv node
	// FormFunction is one node calling a model-local function (domain
	// ai.wtonnx.function, op WTConv_<wavelet>_C<C>_B<kb>_K<k>_L<L>_S<s>[_nobias])
	// with the fused node's inputs (without base_bias when there is none).
	FormFunction Form = "function"
	// FormPyTorch is a layer as torch.onnx.export writes the authors'
	// WTConv2d: standard operators with a 5-D band split.
	FormPyTorch Form = "pytorch"
)

// Fused operator identity (see convert and customop).
const (
	FusedDomain    = "ai.wtonnx"
	FusedOpType    = "WTConv"
	FunctionDomain = "ai.wtonnx.function"
)

// functionOp matches the op type of a function-form layer.
var functionOp = regexp.MustCompile(`^WTConv_([a-z0-9]+)_C([0-9]+)_B([0-9]+)_K([0-9]+)_L([0-9]+)_S([0-9]+)(_nobias)?$`)

// Layer is one WTConv layer found in a model.
type Layer struct {
	// Name says which layer this is, for people: the PyTorch module path
	// where the export kept it (from the base conv's initializer name or
	// node path), the converted conv's name for convert's forms, else the
	// output tensor. It plays no part in recognition.
	Name   string
	Form   Form
	Input  string // X
	Output string // the layer's output (the original conv's output name)
	// Nodes are the names of the nodes that make up the layer (empty for
	// unnamed nodes); NodeIndex are their indices in the graph's node list:
	// the data path from Input to Output and the shape arithmetic and
	// constants that only it uses.
	Nodes     []string
	NodeIndex []int
	// Layer holds C, the wavelet-domain kernel k, L, the stride, whether the
	// base conv has a bias and the wavelet. In the fused form k is the
	// operator's single kernel size K (the base and wavelet kernels embedded
	// in it, as the operator computes them).
	Layer wtconv.Layer
	// BaseKernel is the base conv's kernel, kh x kw.
	BaseKernel [2]int
	// Weights hold the trainable tensors. Base is C*kh*kw values (the base
	// kernel at its own size, which may differ from k); everything else is as
	// wtconv.Weights documents. Use Embedded for wtconv.Forward.
	Weights *wtconv.Weights
	// InputHW is the static input size from shape inference, or nil.
	InputHW []int64
	// FixedTensors are the constant tensors only the wavelet transforms read
	// (Haar filters, band indices, crop bounds): fixed, not trained.
	FixedTensors []string
	// TensorNames maps the authors' state_dict suffixes (base_conv.weight,
	// wavelet_convs.0.weight, ...) to the tensors the graph reads them from.
	TensorNames map[string]string

	baseNode *onnxpb.NodeProto
}

// Params is the number of trainable values by the spec's formula with the
// base kernel at its own size (the base scale counted even where the graph
// omits a scale of ones, as the convert report counts it).
func (l *Layer) Params() int64 { return l.Layer.ParamsWithBase(l.BaseKernel[0], l.BaseKernel[1]) }

// FLOPs is the layer's cost on an h x w input (see wtconv.Layer.FLOPsWithBase).
func (l *Layer) FLOPs(h, w int) wtconv.Cost {
	return l.Layer.FLOPsWithBase(h, w, l.BaseKernel[0], l.BaseKernel[1])
}

// ReceptiveField is the theoretical receptive field per axis (the larger axis).
func (l *Layer) ReceptiveField() int {
	return l.Layer.ReceptiveFieldWithBase(max(l.BaseKernel[0], l.BaseKernel[1]))
}

// Embedded returns the layer and weights with the base and wavelet kernels
// zero-padded into one K x K size (K the largest of k, kh and kw), which
// leaves the same-padded convolutions exactly unchanged: what
// wtconv.Forward takes.
func (l *Layer) Embedded() (wtconv.Layer, *wtconv.Weights) {
	k, kh, kw := l.Layer.Kernel, l.BaseKernel[0], l.BaseKernel[1]
	K := max(k, kh, kw)
	C := l.Layer.Channels
	out := l.Layer
	out.Kernel, out.BaseKernel = K, 0
	wt := l.Weights.Clone()
	wt.Base = embed(l.Weights.Base, C, kh, kw, K)
	for i := range wt.Wavelet {
		wt.Wavelet[i] = embed(l.Weights.Wavelet[i], 4*C, k, k, K)
	}
	return out, wt
}

// Channel returns a one-channel copy of the layer (channel c of the embedded
// form): the layer is depthwise, so channel c of the output depends on
// channel c of the input alone.
func (l *Layer) Channel(c int) (wtconv.Layer, *wtconv.Weights, error) {
	el, ew := l.Embedded()
	C, K := el.Channels, el.Kernel
	if c < 0 || c >= C {
		return wtconv.Layer{}, nil, fmt.Errorf("layer %q: channel %d out of range (it has %d)", l.Name, c, C)
	}
	one := el
	one.Channels = 1
	kk := K * K
	wt := &wtconv.Weights{
		Base:      append([]float32(nil), ew.Base[c*kk:(c+1)*kk]...),
		BaseScale: []float32{ew.BaseScale[c]},
	}
	if ew.Bias != nil {
		wt.Bias = []float32{ew.Bias[c]}
	}
	for i := range ew.Wavelet {
		wt.Wavelet = append(wt.Wavelet, append([]float32(nil), ew.Wavelet[i][4*c*kk:4*(c+1)*kk]...))
		wt.WaveletScale = append(wt.WaveletScale, append([]float32(nil), ew.WaveletScale[i][4*c:4*(c+1)]...))
	}
	return one, wt, nil
}

// embed places n kernels of kh x kw into K x K ones so that a same-padded
// convolution ((k-1)/2 taps before the centre) is unchanged.
func embed(w []float32, n, kh, kw, K int) []float32 {
	if kh == K && kw == K {
		return append([]float32(nil), w...)
	}
	oy, ox := (K-1)/2-(kh-1)/2, (K-1)/2-(kw-1)/2
	out := make([]float32, n*K*K)
	for c := 0; c < n; c++ {
		for y := 0; y < kh; y++ {
			copy(out[c*K*K+(y+oy)*K+ox:], w[c*kh*kw+y*kw:c*kh*kw+(y+1)*kw])
		}
	}
	return out
}

// Recognition is what Recognize found: the layers, and the candidates that
// started like a layer but were not one, with the reason.
type Recognition struct {
	Layers     []Layer
	NearMisses []NearMiss
}

// Find returns the WTConv layers of m in graph order (see Recognize).
func Find(m *onnxpb.ModelProto, shapes *graph.Shapes) ([]Layer, error) {
	r, err := Recognize(m, shapes)
	if err != nil {
		return nil, err
	}
	return r.Layers, nil
}

// Recognize finds the WTConv layers of m in graph order, in every form, and
// the near misses. shapes (may be nil) supply the static input sizes. A
// fused or function node that does not carry a valid layer is an error
// naming it.
func Recognize(m *onnxpb.ModelProto, shapes *graph.Shapes) (*Recognition, error) {
	g := m.GetGraph()
	if g == nil {
		return nil, fmt.Errorf("the model has no graph")
	}
	opset, err := graph.OpsetVersion(m)
	if err != nil {
		opset = 0
	}
	ix := graph.NewIndex(g)
	nodes := g.GetNode()
	r := &Recognition{}
	taken := map[int]bool{}
	type found struct {
		at int
		l  *Layer
	}
	var all []found
	for i, n := range nodes {
		var l *Layer
		var err error
		switch f := localFunction(m, n); {
		case n.GetOpType() == FusedOpType && n.GetDomain() == FusedDomain:
			l, err = fusedLayer(ix, n, FormFused)
		case f != nil:
			// By its body, whatever the function is called.
			var why string
			if l, why = functionLayer(m, n, f); l == nil {
				if n.GetDomain() == FunctionDomain {
					r.NearMisses = append(r.NearMisses, NearMiss{Node: onnxmodel.NodeLabel(n), Reason: "calls function " + n.GetOpType() + ", but " + why})
				}
				continue
			}
			l.Name = strings.TrimSuffix(n.GetName(), "/wtconv")
			if l.Name == "" {
				l.Name = output(n)
			}
		case n.GetDomain() == FunctionDomain && functionOp.MatchString(n.GetOpType()):
			// A function-form node whose body the model does not carry.
			l, err = fusedLayer(ix, n, FormFunction)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("WTConv layer at %s: %w", onnxmodel.NodeLabel(n), err)
		}
		l.NodeIndex = []int{i}
		all = append(all, found{i, l})
	}
	followed := map[int]bool{}
	for i, n := range nodes {
		if taken[i] || followed[i] {
			continue
		}
		wav, C, ok := analysisWavelet(ix, n)
		if !ok {
			continue
		}
		l, why, visited := recognize(ix, nodes, opset, i, wav, C)
		for _, j := range visited {
			followed[j] = true
		}
		if l == nil {
			r.NearMisses = append(r.NearMisses, NearMiss{Node: onnxmodel.NodeLabel(n), Reason: why})
			continue
		}
		for _, j := range l.NodeIndex {
			taken[j] = true
		}
		l.Name = layerName(ix, l)
		all = append(all, found{l.NodeIndex[len(l.NodeIndex)-1], l})
	}
	// A near miss at an analysis conv that a later layer took is no miss.
	var misses []NearMiss
	for _, nm := range r.NearMisses {
		keep := true
		for i, n := range nodes {
			if taken[i] && onnxmodel.NodeLabel(n) == nm.Node {
				keep = false
			}
		}
		if keep {
			misses = append(misses, nm)
		}
	}
	r.NearMisses = misses
	sort.SliceStable(all, func(i, j int) bool { return all[i].at < all[j].at })
	var batch1 *graph.Shapes
	tried := false
	for _, f := range all {
		l := f.l
		if shapes != nil {
			if x := shapes.Of(l.Input); len(x) == 4 && x[2] > 0 && x[3] > 0 {
				l.InputHW = []int64{x[2], x[3]}
			} else if !tried {
				var ls []*Layer
				for _, f := range all {
					ls = append(ls, f.l)
				}
				batch1, tried = proxyShapes(m, ls, nil), true
			}
			if l.InputHW == nil && batch1 != nil {
				if x := batch1.Of(l.Input); len(x) == 4 && x[2] > 0 && x[3] > 0 {
					l.InputHW = []int64{x[2], x[3]}
				}
			}
		}
		if err := l.checkWeights(); err != nil {
			return nil, fmt.Errorf("WTConv layer %q: %w", l.Name, err)
		}
		if l.InputHW != nil {
			if err := l.Layer.CheckLevelsFit(int(l.InputHW[0]), int(l.InputHW[1])); err != nil {
				return nil, fmt.Errorf("WTConv layer %q: %w", l.Name, err)
			}
		}
		r.Layers = append(r.Layers, *l)
	}
	return r, nil
}

// ShapesAcross infers the shapes of m as proxyShapes does: sizes after a
// PyTorch-exported layer, which shape inference alone loses, become known.
// overrides fix dynamic input dims; nil reads a dynamic batch as 1. Nil
// when inference fails.
func ShapesAcross(m *onnxpb.ModelProto, layers []Layer, overrides map[string][]int64) *graph.Shapes {
	var ls []*Layer
	for i := range layers {
		ls = append(ls, &layers[i])
	}
	return proxyShapes(m, ls, overrides)
}

// proxyShapes infers the shapes of a copy of m in which every recognised
// layer is one node that shape inference understands (Identity, or a
// kernel-1 AveragePool for a stride), with every graph input whose only
// unknown dimension is the first (the batch) fixed to 1. PyTorch's exports
// compute their odd-size padding and reshapes from run-time shapes through
// tensors that shape inference cannot fold, so the sizes after the first
// layer are otherwise lost; the batch does not change a spatial size. Nil
// when inference fails.
func proxyShapes(m *onnxpb.ModelProto, layers []*Layer, overrides map[string][]int64) *graph.Shapes {
	g := m.GetGraph()
	drop := map[int]bool{}
	add := map[int]*onnxpb.NodeProto{}
	for _, l := range layers {
		if len(l.NodeIndex) == 0 {
			continue
		}
		for _, i := range l.NodeIndex {
			drop[i] = true
		}
		n := &onnxpb.NodeProto{OpType: proto.String("Identity"), Input: []string{l.Input}, Output: []string{l.Output}}
		if s := int64(l.Layer.Stride); s > 1 {
			n = &onnxpb.NodeProto{OpType: proto.String("AveragePool"), Input: []string{l.Input}, Output: []string{l.Output},
				Attribute: []*onnxpb.AttributeProto{
					{Name: proto.String("kernel_shape"), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: []int64{1, 1}},
					{Name: proto.String("strides"), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: []int64{s, s}},
				}}
		}
		add[l.NodeIndex[len(l.NodeIndex)-1]] = n
	}
	pg := &onnxpb.GraphProto{Input: g.GetInput(), Output: g.GetOutput(), Initializer: g.GetInitializer(), ValueInfo: g.GetValueInfo()}
	for i, n := range g.GetNode() {
		if !drop[i] {
			pg.Node = append(pg.Node, n)
		}
		if a := add[i]; a != nil {
			pg.Node = append(pg.Node, a)
		}
	}
	pm := &onnxpb.ModelProto{IrVersion: m.IrVersion, OpsetImport: m.GetOpsetImport(), Graph: pg}
	if overrides != nil {
		s, err := graph.InferShapes(pm, overrides)
		if err != nil {
			return nil
		}
		return s
	}
	return batchOneShapes(pm)
}

// batchOneShapes infers shapes with every graph input whose only unknown
// dimension is the first (the batch) fixed to 1.
func batchOneShapes(m *onnxpb.ModelProto) *graph.Shapes {
	over := map[string][]int64{}
	inits := map[string]bool{}
	for _, t := range m.GetGraph().GetInitializer() {
		inits[t.GetName()] = true
	}
	for _, in := range m.GetGraph().GetInput() {
		if inits[in.GetName()] {
			continue
		}
		dims := in.GetType().GetTensorType().GetShape().GetDim()
		if len(dims) == 0 {
			continue
		}
		shape := make([]int64, len(dims))
		ok := true
		for i, d := range dims {
			shape[i] = d.GetDimValue()
			if shape[i] <= 0 {
				if i > 0 {
					ok = false
				}
				shape[i] = 1
			}
		}
		if ok {
			over[in.GetName()] = shape
		}
	}
	s, err := graph.InferShapes(m, over)
	if err != nil {
		return nil
	}
	return s
}

// convertedBase matches the base conv of convert's ops form, named
// <original conv>/wtconv/base (used for the layer's name only).
var convertedBase = regexp.MustCompile(`^(.*)/wtconv/base(_[0-9]+)?$`)

// layerName picks the layer's name for people (see Layer.Name).
func layerName(ix *graph.Index, l *Layer) string {
	if w := l.TensorNames["base_conv.weight"]; strings.HasSuffix(w, ".base_conv.weight") {
		return strings.TrimSuffix(w, ".base_conv.weight")
	}
	if l.baseNode != nil {
		name := l.baseNode.GetName()
		if m := convertedBase.FindStringSubmatch(name); m != nil {
			return m[1]
		}
		if p := ModulePath(name); p != "" {
			return p
		}
	}
	return l.Output
}

// ModulePath turns a TorchScript exporter node path such as
// "/features/features.1/conv/base_conv/Conv" into the module path of the
// WTConv2d that holds the node ("features.1.conv"), or "" when the name is
// not such a path.
func ModulePath(node string) string {
	if !strings.HasPrefix(node, "/") {
		return ""
	}
	parts := strings.Split(strings.TrimPrefix(node, "/"), "/")
	end := -1
	for i, p := range parts {
		if p == "base_conv" || strings.HasPrefix(p, "wavelet_convs") || strings.HasPrefix(p, "base_scale") {
			end = i
			break
		}
	}
	if end <= 0 {
		return ""
	}
	cur := ""
	for _, p := range parts[:end] {
		switch {
		case cur == "":
			cur = p
		case strings.HasPrefix(p, cur+"."):
			cur = p
		default:
			cur += "." + p
		}
	}
	return cur
}

// constFloats resolves a constant float tensor and checks its element count.
func constFloats(ix *graph.Index, name, what string, want int) (*tensor.Tensor, error) {
	c, err := ix.ResolveConstant(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if c.Value.DType != tensor.Float32 {
		return nil, fmt.Errorf("%s %q is not float32", what, name)
	}
	if want >= 0 && len(c.Value.F32) != want {
		return nil, fmt.Errorf("%s %q has %d values, want %d", what, name, len(c.Value.F32), want)
	}
	return c.Value, nil
}

func input(n *onnxpb.NodeProto, i int) string {
	if i < len(n.GetInput()) {
		return n.GetInput()[i]
	}
	return ""
}

func output(n *onnxpb.NodeProto) string {
	if len(n.GetOutput()) > 0 {
		return n.GetOutput()[0]
	}
	return ""
}

// samePadded reports whether a conv pads like DWConvSame for its kernel.
func samePadded(geo graph.ConvGeometry, kernel []int64) bool {
	switch geo.AutoPad {
	case "SAME_UPPER":
		return true
	case "SAME_LOWER":
		for _, k := range kernel {
			if k%2 == 0 {
				return false
			}
		}
		return true
	case "VALID":
		for _, k := range kernel {
			if k != 1 {
				return false
			}
		}
		return true
	}
	r := len(kernel)
	if len(geo.Pads) != 2*r {
		return false
	}
	for i, k := range kernel {
		if geo.Pads[i] != (k-1)/2 || geo.Pads[i+r] != k-1-(k-1)/2 {
			return false
		}
	}
	return true
}

// checkWeights validates the recovered weights through their embedded form.
func (l *Layer) checkWeights() error {
	el, ew := l.Embedded()
	return ew.Check(el)
}

// fusedLayer reads a fused or function-form node. The function form's op
// type carries C, K, L and s and drops an absent base_bias input.
func fusedLayer(ix *graph.Index, n *onnxpb.NodeProto, form Form) (*Layer, error) {
	name := strings.TrimSuffix(n.GetName(), "/wtconv")
	if name == "" {
		name = output(n)
	}
	l := &Layer{Name: name, Form: form, Input: input(n, 0), Output: output(n), Nodes: []string{n.GetName()}}
	L := int(graph.AttrInt(n, "levels", -1))
	stride := int(graph.AttrInt(n, "stride", 1))
	wav := graph.AttrString(n, "wavelet", wtconv.DefaultWavelet)
	if form == FormFunction {
		m := functionOp.FindStringSubmatch(n.GetOpType())
		wav = m[1]
		L, _ = strconv.Atoi(m[5])
		stride, _ = strconv.Atoi(m[6])
		if m[7] != "" && len(n.GetInput()) == 5 {
			// no bias: put the empty slot back
			n = &onnxpb.NodeProto{Input: append(append([]string{}, n.GetInput()[:2]...), append([]string{""}, n.GetInput()[2:]...)...)}
		}
	}
	if len(n.GetInput()) != 6 {
		return nil, fmt.Errorf("%d inputs, want 6 (X, base_weight, base_bias, base_scale, wavelet_weight, wavelet_scale; base_bias may be empty)", len(n.GetInput()))
	}
	bw, err := constFloats(ix, input(n, 1), "base_weight", -1)
	if err != nil {
		return nil, err
	}
	if len(bw.Shape) != 4 || bw.Shape[1] != 1 || bw.Shape[2] != bw.Shape[3] {
		return nil, fmt.Errorf("base_weight %q has shape %v, want C x 1 x kb x kb", input(n, 1), bw.Shape)
	}
	C, KB := bw.Shape[0], bw.Shape[2]
	wt := &wtconv.Weights{Base: bw.F32}
	if b := input(n, 2); b != "" {
		bt, err := constFloats(ix, b, "base_bias", C)
		if err != nil {
			return nil, err
		}
		wt.Bias = bt.F32
	}
	bs, err := constFloats(ix, input(n, 3), "base_scale", C)
	if err != nil {
		return nil, err
	}
	wt.BaseScale = bs.F32
	ww, err := constFloats(ix, input(n, 4), "wavelet_weight", -1)
	if err != nil {
		return nil, err
	}
	if len(ww.Shape) != 5 || ww.Shape[0] != L || ww.Shape[1] != 4*C || ww.Shape[2] != 1 || ww.Shape[3] != ww.Shape[4] {
		return nil, fmt.Errorf("wavelet_weight %q has shape %v, want [%d, %d, 1, k, k] (levels %d)", input(n, 4), ww.Shape, L, 4*C, L)
	}
	K := ww.Shape[3]
	ws, err := constFloats(ix, input(n, 5), "wavelet_scale", L*4*C)
	if err != nil {
		return nil, err
	}
	per := 4 * C * K * K
	for i := 0; i < L; i++ {
		wt.Wavelet = append(wt.Wavelet, ww.F32[i*per:(i+1)*per])
		wt.WaveletScale = append(wt.WaveletScale, ws.F32[i*4*C:(i+1)*4*C])
	}
	l.Layer = wtconv.Layer{Channels: C, Kernel: K, Levels: L, Stride: stride, Bias: wt.Bias != nil, Wavelet: wav}
	if KB != K {
		l.Layer.BaseKernel = KB
	}
	if err := l.Layer.Validate(); err != nil {
		return nil, err
	}
	l.BaseKernel = [2]int{KB, KB}
	l.Weights = wt
	if err := l.checkWeights(); err != nil {
		return nil, err
	}
	return l, nil
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
