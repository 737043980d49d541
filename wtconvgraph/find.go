// Package wtconvgraph finds the WTConv layers of a converted ONNX model and
// recovers each one as a wtconv.Layer with its weights, so that the layer can
// be costed, run through the reference forward (wtconv.Forward) or pictured.
//
// It recognises both forms convert emits:
//
//   - the standard-operator form: a subgraph whose node names start with
//     "<original node name>/wtconv/" (level{i}/analysis, level{i}/conv,
//     level{i}/scale, base, base/scale, add ...), the add node writing the
//     original conv's output;
//   - the fused form: one node of domain ai.wtonnx, op WTConv, inputs X,
//     base_weight, base_bias, base_scale, wavelet_weight [L,4C,1,K,K] and
//     wavelet_scale [L,4C], attributes levels, stride and wavelet.
//
// Recognition is by the node-name convention and then checked against the
// structure (operator types, tensor shapes, the wavelet filters, how the
// nodes are wired); a subgraph that carries the names but not the structure
// is an error naming the node, never a silent guess.
package wtconvgraph

import (
	"fmt"
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
	// Name is the original depthwise conv's node name: the prefix before
	// "/wtconv" in the layer's node names.
	Name   string
	Form   Form
	Input  string // X
	Output string // the layer's output (the original conv's output name)
	// Nodes are the names of the nodes that make up the layer.
	Nodes []string
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

// addName matches the final Add of a standard-operator layer (the converter's
// name generator may have appended _N).
var addName = regexp.MustCompile(`^(.*)/wtconv/add(_[0-9]+)?$`)

// suffixN is the _N the converter's name generator appends.
var suffixN = regexp.MustCompile(`_[0-9]+$`)

// Find returns the WTConv layers of m in graph order. shapes (may be nil)
// supply the static input sizes. A node that carries a layer's name or
// operator but not its structure is an error naming it.
func Find(m *onnxpb.ModelProto, shapes *graph.Shapes) ([]Layer, error) {
	g := m.GetGraph()
	if g == nil {
		return nil, fmt.Errorf("the model has no graph")
	}
	ix := graph.NewIndex(g)
	byName := map[string]*onnxpb.NodeProto{}
	for _, n := range g.GetNode() {
		if n.GetName() != "" {
			byName[n.GetName()] = n
		}
	}
	var out []Layer
	for _, n := range g.GetNode() {
		var l *Layer
		var err error
		switch {
		case n.GetOpType() == FusedOpType && n.GetDomain() == FusedDomain:
			l, err = fusedLayer(ix, n, FormFused)
		case n.GetDomain() == FunctionDomain && functionOp.MatchString(n.GetOpType()):
			l, err = fusedLayer(ix, n, FormFunction)
		case n.GetOpType() == "Add" && (n.GetDomain() == "" || n.GetDomain() == "ai.onnx") && addName.MatchString(n.GetName()):
			prefix := addName.FindStringSubmatch(n.GetName())[1]
			l, err = opsLayer(ix, byName, prefix, n)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("WTConv layer at %s: %w", onnxmodel.NodeLabel(n), err)
		}
		if shapes != nil {
			if x := shapes.Of(l.Input); len(x) == 4 && x[2] > 0 && x[3] > 0 {
				l.InputHW = []int64{x[2], x[3]}
			}
		}
		if l.InputHW != nil {
			if err := l.Layer.CheckLevelsFit(int(l.InputHW[0]), int(l.InputHW[1])); err != nil {
				return nil, fmt.Errorf("WTConv layer %q: %w", l.Name, err)
			}
		}
		out = append(out, *l)
	}
	return out, nil
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

func opsLayer(ix *graph.Index, byName map[string]*onnxpb.NodeProto, prefix string, add *onnxpb.NodeProto) (*Layer, error) {
	pre := prefix + "/wtconv/"
	l := &Layer{Name: prefix, Form: FormOps, Output: output(add), Nodes: []string{add.GetName()}}
	// The converter names nodes <prefix>/wtconv/<role>, with _N appended
	// where an initializer already took the name (level1/scale is both the
	// scale tensor and, as level1/scale_1, the Mul that applies it).
	roles := map[string]*onnxpb.NodeProto{}
	for name, n := range byName {
		rest, ok := strings.CutPrefix(name, pre)
		if !ok {
			continue
		}
		role := suffixN.ReplaceAllString(rest, "")
		if prev := roles[role]; prev != nil {
			return nil, fmt.Errorf("nodes %q and %q both look like %s", prev.GetName(), name, pre+role)
		}
		roles[role] = n
	}
	node := func(role, op string) (*onnxpb.NodeProto, error) {
		n := roles[role]
		if n == nil {
			return nil, nil
		}
		if n.GetOpType() != op {
			return nil, fmt.Errorf("node %q is %s, expected %s", n.GetName(), n.GetOpType(), op)
		}
		l.Nodes = append(l.Nodes, n.GetName())
		return n, nil
	}
	base, err := node("base", "Conv")
	if err != nil {
		return nil, err
	}
	if base == nil {
		return nil, fmt.Errorf("no base conv %q", pre+"base")
	}
	// Base conv: weight C x 1 x kh x kw, group C, same padding, equal strides.
	bw, err := ix.ResolveConstant(input(base, 1))
	if err != nil {
		return nil, fmt.Errorf("base conv %q: weight: %w", base.GetName(), err)
	}
	if bw.Value.DType != tensor.Float32 || len(bw.Value.Shape) != 4 || bw.Value.Shape[1] != 1 {
		return nil, fmt.Errorf("base conv %q: weight %q has shape %v, want C x 1 x kh x kw float32", base.GetName(), input(base, 1), bw.Value.Shape)
	}
	C := bw.Value.Shape[0]
	kh, kw := bw.Value.Shape[2], bw.Value.Shape[3]
	geo := graph.ConvAttrs(base, graph.Shape{int64(C), 1, int64(kh), int64(kw)})
	if geo.Group != int64(C) {
		return nil, fmt.Errorf("base conv %q: group %d, want %d (depthwise)", base.GetName(), geo.Group, C)
	}
	if len(geo.Strides) != 2 || geo.Strides[0] != geo.Strides[1] {
		return nil, fmt.Errorf("base conv %q: strides %v, want equal strides", base.GetName(), geo.Strides)
	}
	for _, d := range geo.Dilations {
		if d != 1 {
			return nil, fmt.Errorf("base conv %q: dilations %v", base.GetName(), geo.Dilations)
		}
	}
	if !samePadded(geo, []int64{int64(kh), int64(kw)}) {
		return nil, fmt.Errorf("base conv %q: pads %v are not 'same' for kernel %dx%d", base.GetName(), geo.Pads, kh, kw)
	}
	l.Input = input(base, 0)
	l.BaseKernel = [2]int{kh, kw}
	wt := &wtconv.Weights{Base: bw.Value.F32}
	if b := input(base, 2); b != "" {
		bt, err := constFloats(ix, b, "base conv "+strconv.Quote(base.GetName())+" bias", C)
		if err != nil {
			return nil, err
		}
		wt.Bias = bt.F32
	}
	baseOut := output(base)
	bs, err := node("base/scale", "Mul")
	if err != nil {
		return nil, err
	}
	if bs != nil {
		if input(bs, 0) != output(base) {
			return nil, fmt.Errorf("base scale %q does not read the base conv's output", bs.GetName())
		}
		st, err := constFloats(ix, input(bs, 1), "base scale "+strconv.Quote(bs.GetName()), C)
		if err != nil {
			return nil, err
		}
		wt.BaseScale = st.F32
		baseOut = output(bs)
	} else {
		wt.BaseScale = make([]float32, C)
		for i := range wt.BaseScale {
			wt.BaseScale[i] = 1
		}
	}
	if input(add, 0) != baseOut {
		return nil, fmt.Errorf("the final add does not read the base branch %q", baseOut)
	}
	// Levels 1..L; the wavelet is the one whose analysis filters level 1's
	// analysis conv holds (the filter size gives n = 2, 4, ... taps).
	var wav wtconv.Wavelet
	var bank []float32
	k := 0
	for i := 1; ; i++ {
		lv := "level" + strconv.Itoa(i)
		cv, err := node(lv+"/conv", "Conv")
		if err != nil {
			return nil, err
		}
		if cv == nil {
			break
		}
		an, err := node(lv+"/analysis", "Conv")
		if err != nil {
			return nil, err
		}
		if an == nil {
			return nil, fmt.Errorf("level %d has a conv but no analysis node %q", i, pre+lv+"/analysis")
		}
		if i == 1 && input(an, 0) != l.Input {
			return nil, fmt.Errorf("level 1 analysis %q reads %q, the base conv reads %q", an.GetName(), input(an, 0), l.Input)
		}
		hf, err := constFloats(ix, input(an, 1), "analysis filter", -1)
		if err != nil {
			return nil, fmt.Errorf("level %d: %w", i, err)
		}
		if bank == nil {
			if wav, bank, err = waveletOf(hf, C); err != nil {
				return nil, fmt.Errorf("level %d: analysis filter %q: %w", i, input(an, 1), err)
			}
		}
		if len(hf.F32) != len(bank) {
			return nil, fmt.Errorf("level %d: analysis filter %q has %d values, level 1's %s filter has %d", i, input(an, 1), len(hf.F32), wav.Name, len(bank))
		}
		for j := range bank {
			if hf.F32[j] != bank[j] {
				return nil, fmt.Errorf("level %d: analysis filter %q is not the %s filter for %d channels", i, input(an, 1), wav.Name, C)
			}
		}
		if input(cv, 0) != output(an) {
			return nil, fmt.Errorf("level %d conv %q does not read the analysis output", i, cv.GetName())
		}
		w, err := ix.ResolveConstant(input(cv, 1))
		if err != nil {
			return nil, fmt.Errorf("level %d conv %q: weight: %w", i, cv.GetName(), err)
		}
		sh := w.Value.Shape
		if w.Value.DType != tensor.Float32 || len(sh) != 4 || sh[0] != 4*C || sh[1] != 1 || sh[2] != sh[3] {
			return nil, fmt.Errorf("level %d conv %q: weight %q has shape %v, want %d x 1 x k x k float32", i, cv.GetName(), input(cv, 1), sh, 4*C)
		}
		if k == 0 {
			k = sh[2]
		} else if sh[2] != k {
			return nil, fmt.Errorf("level %d conv %q: kernel %d, level 1 has %d", i, cv.GetName(), sh[2], k)
		}
		cg := graph.ConvAttrs(cv, graph.Shape{int64(4 * C), 1, int64(k), int64(k)})
		if cg.Group != int64(4*C) || !samePadded(cg, []int64{int64(k), int64(k)}) {
			return nil, fmt.Errorf("level %d conv %q: group %d, pads %v: want a same-padded depthwise conv over %d channels", i, cv.GetName(), cg.Group, cg.Pads, 4*C)
		}
		sc, err := node(lv+"/scale", "Mul")
		if err != nil {
			return nil, err
		}
		if sc == nil || input(sc, 0) != output(cv) {
			return nil, fmt.Errorf("level %d: no scale node %q reading the level conv", i, pre+lv+"/scale")
		}
		st, err := constFloats(ix, input(sc, 1), "level "+strconv.Itoa(i)+" scale", 4*C)
		if err != nil {
			return nil, err
		}
		wt.Wavelet = append(wt.Wavelet, w.Value.F32)
		wt.WaveletScale = append(wt.WaveletScale, st.F32)
		l.FixedTensors = append(l.FixedTensors, input(an, 1))
	}
	L := len(wt.Wavelet)
	if L == 0 {
		return nil, fmt.Errorf("no wavelet level (no node %q)", pre+"level1/conv")
	}
	// The remaining named nodes (gathers, syntheses, merges, crops,
	// subsampling) are fixed transforms: collect them and their constants.
	for name, n := range byName {
		if strings.HasPrefix(name, pre) && !contains(l.Nodes, name) {
			l.Nodes = append(l.Nodes, name)
			for _, in := range n.GetInput()[1:] {
				if ix.Initializer(in) != nil {
					l.FixedTensors = append(l.FixedTensors, in)
				}
			}
		}
	}
	sort.Strings(l.Nodes[1:])
	l.FixedTensors = dedupe(l.FixedTensors)
	l.Layer = wtconv.Layer{Channels: C, Kernel: k, Levels: L, Stride: int(geo.Strides[0]), Bias: wt.Bias != nil, Wavelet: wav.Name}
	if kh == kw && kh != k {
		l.Layer.BaseKernel = kh
	}
	if err := l.Layer.Validate(); err != nil {
		return nil, err
	}
	l.Weights = wt
	if err := l.checkWeights(); err != nil {
		return nil, err
	}
	return l, nil
}

// waveletOf finds the supported wavelet whose 4C x 1 x n x n analysis
// weight for C channels the tensor holds.
func waveletOf(t *tensor.Tensor, C int) (wtconv.Wavelet, []float32, error) {
	if len(t.Shape) != 4 || t.Shape[0] != 4*C || t.Shape[1] != 1 || t.Shape[2] != t.Shape[3] || t.Shape[2]%2 != 0 {
		return wtconv.Wavelet{}, nil, fmt.Errorf("shape %v is not a %d x 1 x n x n wavelet filter bank", t.Shape, 4*C)
	}
	name := "db" + strconv.Itoa(t.Shape[2]/2)
	w, err := wtconv.WaveletByName(name)
	if err != nil {
		return wtconv.Wavelet{}, nil, err
	}
	bank := w.AnalysisWeight(C)
	for j := range bank {
		if t.F32[j] != bank[j] {
			return wtconv.Wavelet{}, nil, fmt.Errorf("not the %s filter bank for %d channels (value %d is %g, want %g)", name, C, j, t.F32[j], bank[j])
		}
	}
	return w, bank, nil
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

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
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
