package wtconvgraph

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/wtonnx/wtonnx/graph"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/wtconv"
)

// Layout of a tensor inside a candidate layer.
type layout int

const (
	img    layout = iota // N x C x h x w: one band
	packed               // N x nb*C x h x w, channel c*nb + band (what a grouped analysis conv writes)
	split                // N x C x nb x h x w (PyTorch's reshape of the packed layout)
)

// aval is the abstract value of one tensor: its layout and the term of
// each band.
type aval struct {
	lay   layout
	bands []*term
}

func (v *aval) describe() string {
	var keys []string
	for _, b := range v.bands {
		keys = append(keys, b.key)
	}
	return "[" + strings.Join(keys, ", ") + "]"
}

// baseRec is a depthwise conv over the layer input: the base branch.
type baseRec struct {
	node           int
	weight, bias   *tensor.Tensor
	weightName     string
	biasName       string
	scale          *tensor.Tensor
	scaleName      string
	stride, kh, kw int
}

// interp follows one candidate layer from its input.
type interp struct {
	ix    *graph.Index
	nodes []*onnxpb.NodeProto
	opset int64
	C     int
	wav   wtconv.Wavelet
	x     string

	vals    map[string]*aval
	valued  map[int]bool
	fails   []string
	levels  map[int]int // level -> analysis node
	wave    map[int]*tensor.Tensor
	waveNm  map[int]string
	scale   map[int]*tensor.Tensor
	scaleNm map[int]string
	bases   map[int]*baseRec
	split   bool
	// strideFilter is the ones kernel of a subsampling written as a
	// strided 1x1 conv (an older WTConv2d's stride_filter).
	strideFilter string
}

const unknownDim = math.MinInt64

func (ip *interp) fail(i int, format string, args ...any) {
	ip.fails = append(ip.fails, onnxmodel.NodeLabel(ip.nodes[i])+": "+fmt.Sprintf(format, args...))
}

// run interprets every node in graph order that reads a tensor of the layer.
func (ip *interp) run() {
	ip.vals[ip.x] = &aval{lay: img, bands: []*term{leaf("x", 0, 0)}}
	for i, n := range ip.nodes {
		reads := false
		for _, in := range n.GetInput() {
			if ip.vals[in] != nil {
				reads = true
				break
			}
		}
		if !reads || len(n.GetOutput()) == 0 {
			continue
		}
		if n.GetDomain() != "" && n.GetDomain() != "ai.onnx" {
			ip.fail(i, "operator %s.%s is not part of a WTConv layer", n.GetDomain(), n.GetOpType())
			continue
		}
		if n.GetOpType() == "Shape" || n.GetOpType() == "Size" {
			continue // shape arithmetic, gathered later
		}
		v, err := ip.apply(i, n)
		if err != nil {
			ip.fail(i, "%v", err)
			continue
		}
		ip.vals[n.GetOutput()[0]] = v
		ip.valued[i] = true
	}
}

func (ip *interp) apply(i int, n *onnxpb.NodeProto) (*aval, error) {
	x := ip.vals[input(n, 0)]
	// Only Add, Mul and Concat may read the layer through another input.
	switch n.GetOpType() {
	case "Add", "Mul", "Concat":
	default:
		for j, name := range n.GetInput() {
			if j > 0 && ip.vals[name] != nil {
				return nil, fmt.Errorf("reads the layer's data %q as its input %d", name, j)
			}
		}
		if x == nil {
			return nil, fmt.Errorf("reads the layer only through a parameter")
		}
	}
	switch n.GetOpType() {
	case "Identity":
		return x, nil
	case "Pad":
		return ip.pad(n, x)
	case "Conv":
		return ip.conv(i, n, x)
	case "ConvTranspose":
		return ip.convTranspose(n, x)
	case "Mul":
		return ip.mul(n)
	case "Add":
		a, b := ip.vals[input(n, 0)], ip.vals[input(n, 1)]
		if a == nil || b == nil {
			return nil, fmt.Errorf("adds a tensor that is not computed from the layer's input")
		}
		if a.lay != b.lay || len(a.bands) != len(b.bands) {
			return nil, fmt.Errorf("adds tensors of different band layouts %s and %s", a.describe(), b.describe())
		}
		out := &aval{lay: a.lay}
		for j := range a.bands {
			out.bands = append(out.bands, sum(a.bands[j], b.bands[j]))
		}
		return out, nil
	case "Reshape":
		return ip.reshape(n, x)
	case "Gather":
		return ip.gather(n, x)
	case "Slice":
		return ip.slice(n, x)
	case "Unsqueeze":
		axes, err := ip.axes(n)
		if err != nil {
			return nil, err
		}
		if x.lay != img || len(axes) != 1 || (axes[0] != 2 && axes[0] != -3) {
			return nil, fmt.Errorf("unsqueezes axes %v of a %s tensor (only a band axis 2 of one band is part of a layer)", axes, x.describe())
		}
		ip.split = true
		return &aval{lay: split, bands: x.bands}, nil
	case "Squeeze":
		// x[:, :, 0] written as a one-band Slice and a Squeeze.
		axes, err := ip.axes(n)
		if err != nil {
			return nil, err
		}
		if x.lay != split || len(x.bands) != 1 || len(axes) != 1 || (axes[0] != 2 && axes[0] != -3) {
			return nil, fmt.Errorf("squeezes axes %v of %s (only the band axis of one band is part of a layer)", axes, x.describe())
		}
		return &aval{lay: img, bands: x.bands}, nil
	case "Concat":
		axis := graph.AttrInt(n, "axis", 0)
		out := &aval{lay: split}
		for _, name := range n.GetInput() {
			v := ip.vals[name]
			if v == nil {
				return nil, fmt.Errorf("concatenates %q, which is not computed from the layer's input", name)
			}
			if v.lay != split || (axis != 2 && axis != -3) {
				return nil, fmt.Errorf("concatenates along axis %d (only the band axis 2 of 5-D band tensors is part of a layer)", axis)
			}
			out.bands = append(out.bands, v.bands...)
		}
		return out, nil
	case "AveragePool":
		k := graph.AttrInts(n, "kernel_shape", nil)
		s := graph.AttrInts(n, "strides", nil)
		if x.lay != img || len(k) != 2 || k[0] != 1 || k[1] != 1 || len(s) != 2 || s[0] != s[1] || s[0] < 1 || anyNonZero(graph.AttrInts(n, "pads", nil)) {
			return nil, fmt.Errorf("a pool of kernel %v, strides %v is not a subsampling of the layer's output", k, s)
		}
		return &aval{lay: img, bands: []*term{subsample(int(s[0]), x.bands[0])}}, nil
	}
	return nil, fmt.Errorf("operator %s is not part of a WTConv layer", n.GetOpType())
}

// axes reads an Unsqueeze's or Squeeze's axes: an attribute before opset
// 13, a constant input from then on.
func (ip *interp) axes(n *onnxpb.NodeProto) ([]int64, error) {
	if ip.opset < 13 {
		return graph.AttrInts(n, "axes", nil), nil
	}
	a, ok := ip.ints(input(n, 1))
	if !ok {
		return nil, fmt.Errorf("axes are not constant")
	}
	return a, nil
}

func anyNonZero(v []int64) bool {
	for _, x := range v {
		if x != 0 {
			return true
		}
	}
	return false
}

// pad accepts the zero padding at the end of the spatial axes that the
// authors' module applies to odd sizes; its amounts may come from shape
// arithmetic (then they are trusted to be 0 or 1, as the analysis conv
// ignores anything beyond the one row or column it needs).
func (ip *interp) pad(n *onnxpb.NodeProto, x *aval) (*aval, error) {
	if mode := graph.AttrString(n, "mode", "constant"); mode != "constant" {
		return nil, fmt.Errorf("pads in mode %q", mode)
	}
	var pads []int64
	known := true
	if ip.opset >= 11 {
		if v := input(n, 2); v != "" {
			c, err := ip.ix.ResolveConstant(v)
			if err != nil || c.Value.Len() != 1 || c.Value.Float64s()[0] != 0 {
				return nil, fmt.Errorf("pads with a value other than 0")
			}
		}
		if len(n.GetInput()) > 3 && input(n, 3) != "" {
			return nil, fmt.Errorf("pads selected axes")
		}
		pads, known = ip.ints(input(n, 1))
	} else {
		pads = graph.AttrInts(n, "pads", nil)
		if graph.AttrFloat(n, "value", 0) != 0 {
			return nil, fmt.Errorf("pads with a value other than 0")
		}
	}
	if known {
		r := len(pads) / 2
		for j := 0; j < r; j++ {
			if pads[j] != 0 || (j < r-2 && pads[j+r] != 0) || pads[j+r] < 0 {
				return nil, fmt.Errorf("pads %v: only zero rows and columns at the end are part of a layer", pads)
			}
		}
	}
	return x, nil
}

// bankMatches reports whether w holds the filter bank f (4 filters) tiled
// over the channels, within float32 rounding.
func bankMatches(w []float32, f []float32) bool {
	if len(f) == 0 || len(w)%len(f) != 0 {
		return false
	}
	for i, v := range w {
		if math.Abs(float64(v-f[i%len(f)])) > 1e-6 {
			return false
		}
	}
	return true
}

func (ip *interp) constFloat(name string) (*tensor.Tensor, error) {
	v, err := foldFloat(ip.ix, name, 0)
	if err != nil {
		return nil, err
	}
	if v.DType != tensor.Float32 {
		return nil, fmt.Errorf("tensor %q is %s, not float32", name, v.DType)
	}
	return v, nil
}

func (ip *interp) conv(i int, n *onnxpb.NodeProto, x *aval) (*aval, error) {
	w, err := ip.constFloat(input(n, 1))
	if err != nil {
		return nil, fmt.Errorf("weight: %w", err)
	}
	sh := w.Shape
	if len(sh) != 4 || sh[1] != 1 {
		return nil, fmt.Errorf("weight %q of shape %v is not depthwise", input(n, 1), sh)
	}
	geo := graph.ConvAttrs(n, graph.Shape{int64(sh[0]), 1, int64(sh[2]), int64(sh[3])})
	for _, d := range geo.Dilations {
		if d != 1 {
			return nil, fmt.Errorf("dilations %v", geo.Dilations)
		}
	}
	if len(geo.Strides) != 2 || geo.Strides[0] != geo.Strides[1] {
		return nil, fmt.Errorf("strides %v", geo.Strides)
	}
	stride := int(geo.Strides[0])
	C := ip.C
	switch {
	case x.lay == img && int(geo.Group) == C && sh[0] == 4*C && stride == 2:
		// Analysis of X_{i-1} (the input or the LL band of level i-1).
		t := x.bands[0]
		level := 0
		switch {
		case t.op == "x":
		case t.op == "t" && t.band == 0:
			level = t.level
		default:
			return nil, fmt.Errorf("a wavelet analysis of %s (only the input or an LL band is analysed)", t.key)
		}
		if !bankMatches(w.F32, ip.wav.AnalysisFilters()) {
			return nil, fmt.Errorf("weight %q is not the %s analysis filter bank of the layer", input(n, 1), ip.wav.Name)
		}
		p := int64(ip.wav.Pad())
		if p == 0 && geo.AutoPad == "VALID" {
			geo.AutoPad, geo.Pads = "NOTSET", []int64{0, 0, 0, 0}
		}
		if geo.AutoPad != "NOTSET" || len(geo.Pads) != 4 || geo.Pads[0] != p || geo.Pads[1] != p ||
			geo.Pads[2] < p || geo.Pads[2] > p+1 || geo.Pads[3] < p || geo.Pads[3] > p+1 {
			return nil, fmt.Errorf("analysis pads %v (auto_pad %s), want %d on every side (one more at the end for odd sizes)", geo.Pads, geo.AutoPad, p)
		}
		if prev, ok := ip.levels[level+1]; ok && prev != i {
			return nil, fmt.Errorf("a second analysis at level %d (the first is %s)", level+1, onnxmodel.NodeLabel(ip.nodes[prev]))
		}
		ip.levels[level+1] = i
		out := &aval{lay: packed}
		for b := 0; b < 4; b++ {
			out.bands = append(out.bands, leaf("t", level+1, b))
		}
		return out, nil
	case x.lay == img && int(geo.Group) == C && sh[0] == C && sh[2] == 1 && sh[3] == 1 && x.bands[0].op != "x":
		// Opset 9's subsampling: a strided 1x1 depthwise conv of ones.
		for _, v := range w.F32 {
			if v != 1 {
				return nil, fmt.Errorf("a 1x1 depthwise conv that is not a subsampling")
			}
		}
		if input(n, 2) != "" || anyNonZero(geo.Pads) {
			return nil, fmt.Errorf("a 1x1 depthwise conv with bias or pads is not a subsampling")
		}
		ip.strideFilter = input(n, 1)
		return &aval{lay: img, bands: []*term{subsample(stride, x.bands[0])}}, nil
	case x.lay == img && int(geo.Group) == C && sh[0] == C && x.bands[0].op == "x":
		if !samePadded(geo, []int64{int64(sh[2]), int64(sh[3])}) {
			return nil, fmt.Errorf("base conv pads %v are not 'same' for kernel %dx%d", geo.Pads, sh[2], sh[3])
		}
		rec := &baseRec{node: i, weight: w, weightName: input(n, 1), stride: stride, kh: sh[2], kw: sh[3]}
		if b := input(n, 2); b != "" {
			bt, err := ip.constFloat(b)
			if err != nil || bt.Len() != C {
				return nil, fmt.Errorf("bias %q is not a constant of %d values", b, C)
			}
			rec.bias, rec.biasName = bt, b
		}
		ip.bases[i] = rec
		t := baseTerm("b", i)
		if stride > 1 {
			t = subsample(stride, t)
		}
		return &aval{lay: img, bands: []*term{t}}, nil
	case x.lay == packed && len(x.bands) == 4 && int(geo.Group) == 4*C && sh[0] == 4*C && stride == 1:
		level := x.bands[0].level
		for b, t := range x.bands {
			if t.op != "t" || t.level != level || t.band != b {
				return nil, fmt.Errorf("a level conv over bands %s, want the four bands of one analysis in order", x.describe())
			}
		}
		if sh[2] != sh[3] || !samePadded(geo, []int64{int64(sh[2]), int64(sh[3])}) {
			return nil, fmt.Errorf("level %d conv: kernel %dx%d, pads %v: want a square 'same' kernel", level, sh[2], sh[3], geo.Pads)
		}
		if input(n, 2) != "" {
			return nil, fmt.Errorf("level %d conv has a bias (the authors' wavelet convs have none)", level)
		}
		if _, dup := ip.wave[level]; dup {
			return nil, fmt.Errorf("a second conv at level %d", level)
		}
		ip.wave[level], ip.waveNm[level] = w, input(n, 1)
		out := &aval{lay: packed}
		for b := 0; b < 4; b++ {
			out.bands = append(out.bands, leaf("w", level, b))
		}
		return out, nil
	}
	return nil, fmt.Errorf("a conv (group %d, weight %v, stride %d) over %s is not part of a layer of %d channels", geo.Group, sh, stride, x.describe(), C)
}

func (ip *interp) convTranspose(n *onnxpb.NodeProto, x *aval) (*aval, error) {
	w, err := ip.constFloat(input(n, 1))
	if err != nil {
		return nil, fmt.Errorf("weight: %w", err)
	}
	if input(n, 2) != "" {
		return nil, fmt.Errorf("a synthesis with a bias")
	}
	sh := w.Shape
	C := ip.C
	f := ip.wav.SynthesisFilters()
	taps := len(f) / 4
	geo := graph.ConvAttrs(n, graph.Shape{int64(sh[0]), 1, int64(sh[2]), int64(sh[3])})
	if graph.Attr(n, "output_shape") != nil || anyNonZero(graph.AttrInts(n, "output_padding", nil)) {
		return nil, fmt.Errorf("a synthesis with output_shape or output_padding")
	}
	p := int64(ip.wav.Pad())
	if p == 0 && geo.AutoPad == "VALID" {
		geo.AutoPad, geo.Pads = "NOTSET", []int64{0, 0, 0, 0}
	}
	if int(geo.Group) != C || len(geo.Strides) != 2 || geo.Strides[0] != 2 || geo.Strides[1] != 2 || geo.AutoPad != "NOTSET" ||
		len(geo.Pads) != 4 || geo.Pads[0] != p || geo.Pads[1] != p || geo.Pads[2] < p || geo.Pads[3] < p || anyNonZero(minusOne(geo.Dilations)) {
		return nil, fmt.Errorf("a transposed conv (group %d, strides %v, pads %v) is not the synthesis of %d channels", geo.Group, geo.Strides, geo.Pads, C)
	}
	switch {
	case x.lay == packed && len(x.bands) == 4 && len(sh) == 4 && sh[0] == 4*C && sh[1] == 1:
		if !bankMatches(w.F32, f) {
			return nil, fmt.Errorf("weight %q is not the %s synthesis filter bank", input(n, 1), ip.wav.Name)
		}
		return &aval{lay: img, bands: []*term{synth(x.bands)}}, nil
	case x.lay == img && len(sh) == 4 && sh[0] == C && sh[1] == 1:
		// The LL band alone (the converter's merge of Z_{i+1}).
		if !bankMatches(w.F32, f[:taps]) {
			return nil, fmt.Errorf("weight %q is not the %s LL synthesis filter", input(n, 1), ip.wav.Name)
		}
		return &aval{lay: img, bands: []*term{synth([]*term{x.bands[0], zeroTerm, zeroTerm, zeroTerm})}}, nil
	}
	return nil, fmt.Errorf("a transposed conv with weight %v over %s is not a synthesis", sh, x.describe())
}

func minusOne(v []int64) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = x - 1
	}
	return out
}

func (ip *interp) channels(v *aval) int {
	if v.lay == packed {
		return ip.C * len(v.bands)
	}
	return ip.C
}

// mul accepts a per-channel scale: base_scale on the base branch,
// wavelet_scale on a level conv.
func (ip *interp) mul(n *onnxpb.NodeProto) (*aval, error) {
	x, cname := ip.vals[input(n, 0)], input(n, 1)
	if x == nil {
		x, cname = ip.vals[input(n, 1)], input(n, 0)
	}
	if ip.vals[cname] != nil {
		return nil, fmt.Errorf("multiplies two tensors of the layer")
	}
	c, err := ip.constFloat(cname)
	if err != nil {
		return nil, fmt.Errorf("scale: %w", err)
	}
	ch := ip.channels(x)
	if c.Len() != ch || !perChannel(c.Shape, ch) {
		return nil, fmt.Errorf("scale %q of shape %v is not one value per channel of %d", cname, c.Shape, ch)
	}
	switch {
	case x.lay == img && (x.bands[0].op == "b" || (x.bands[0].op == "sub" && x.bands[0].args[0].op == "b")):
		t := x.bands[0]
		step := 1
		if t.op == "sub" {
			step, t = t.step, t.args[0]
		}
		rec := ip.bases[t.node]
		rec.scale, rec.scaleName = c, cname
		out := baseTerm("bs", t.node)
		if step > 1 {
			out = subsample(step, out)
		}
		return &aval{lay: img, bands: []*term{out}}, nil
	case x.lay == packed && len(x.bands) == 4 && x.bands[0].op == "w":
		level := x.bands[0].level
		if _, dup := ip.scale[level]; dup {
			return nil, fmt.Errorf("a second scale at level %d", level)
		}
		ip.scale[level], ip.scaleNm[level] = c, cname
		out := &aval{lay: packed}
		for b := 0; b < 4; b++ {
			out.bands = append(out.bands, leaf("y", level, b))
		}
		return out, nil
	}
	return nil, fmt.Errorf("scales %s (only the base conv and the level convs are scaled)", x.describe())
}

// perChannel reports whether shape broadcasts one value per channel (axis 1
// of a 4-D tensor).
func perChannel(shape []int, ch int) bool {
	if len(shape) == 1 {
		return ch == 1
	}
	if len(shape) > 4 || len(shape) < 3 {
		return false
	}
	r := append(make([]int, 4-len(shape)), shape...)
	return r[1] == ch && r[2] == 1 && r[3] == 1
}

// ints resolves a constant integer tensor.
func (ip *interp) ints(name string) ([]int64, bool) {
	if name == "" {
		return nil, false
	}
	c, err := ip.ix.ResolveConstant(name)
	if err != nil {
		return nil, false
	}
	switch c.Value.DType {
	case tensor.Int64:
		return c.Value.I64, true
	}
	return nil, false
}

// dims evaluates a shape tensor (a Reshape target) as far as the layout of
// the layer's tensors and constants tell; unknown entries are unknownDim.
func (ip *interp) dims(name string, depth int) ([]int64, bool) {
	if v, ok := ip.ints(name); ok {
		return v, true
	}
	p := ip.ix.Producer(name)
	if p == nil || depth > 32 {
		return nil, false
	}
	switch p.GetOpType() {
	case "Shape":
		v := ip.vals[input(p, 0)]
		var d []int64
		switch {
		case v == nil:
			return nil, false
		case v.lay == split:
			d = []int64{unknownDim, int64(ip.C), int64(len(v.bands)), unknownDim, unknownDim}
		default:
			d = []int64{unknownDim, int64(ip.channels(v)), unknownDim, unknownDim}
		}
		start, end := graph.AttrInt(p, "start", 0), graph.AttrInt(p, "end", int64(len(d)))
		if start < 0 {
			start += int64(len(d))
		}
		if end < 0 {
			end += int64(len(d))
		}
		start, end = max(0, min(start, int64(len(d)))), max(0, min(end, int64(len(d))))
		if start > end {
			return nil, false
		}
		return d[start:end], true
	case "Gather":
		d, ok := ip.dims(input(p, 0), depth+1)
		idx, ok2 := ip.ints(input(p, 1))
		if !ok || !ok2 || graph.AttrInt(p, "axis", 0) != 0 {
			return nil, false
		}
		var out []int64
		for _, j := range idx {
			if j < 0 {
				j += int64(len(d))
			}
			if j < 0 || j >= int64(len(d)) {
				return nil, false
			}
			out = append(out, d[j])
		}
		return out, true
	case "Unsqueeze", "Squeeze", "Cast", "Identity":
		return ip.dims(input(p, 0), depth+1)
	case "Concat":
		var out []int64
		for _, x := range p.GetInput() {
			d, ok := ip.dims(x, depth+1)
			if !ok {
				return nil, false
			}
			out = append(out, d...)
		}
		return out, true
	case "Mul", "Div", "Add", "Sub":
		a, ok := ip.dims(input(p, 0), depth+1)
		b, ok2 := ip.dims(input(p, 1), depth+1)
		if !ok || !ok2 || len(a) != 1 || len(b) != 1 {
			return nil, false
		}
		if a[0] == unknownDim || b[0] == unknownDim {
			return []int64{unknownDim}, true
		}
		switch p.GetOpType() {
		case "Mul":
			return []int64{a[0] * b[0]}, true
		case "Div":
			if b[0] == 0 {
				return nil, false
			}
			return []int64{a[0] / b[0]}, true
		case "Add":
			return []int64{a[0] + b[0]}, true
		default:
			return []int64{a[0] - b[0]}, true
		}
	}
	return nil, false
}

func (ip *interp) reshape(n *onnxpb.NodeProto, x *aval) (*aval, error) {
	d, ok := ip.dims(input(n, 1), 0)
	if !ok {
		return nil, fmt.Errorf("the target shape is not known well enough to follow the bands")
	}
	inCh := ip.channels(x)
	nb := len(x.bands)
	at := func(j int, fromInput int64) int64 {
		if d[j] == 0 && graph.AttrInt(n, "allowzero", 0) == 0 {
			return fromInput
		}
		return d[j]
	}
	switch {
	case len(d) == 5 && x.lay != img:
		c := at(1, int64(inCh))
		b := at(2, unknownDim)
		if x.lay == split {
			b = at(2, int64(nb))
		}
		if c == int64(ip.C) && (b == int64(nb) || b == -1) {
			ip.split = true
			return &aval{lay: split, bands: x.bands}, nil
		}
	case len(d) == 4 && x.lay != img:
		c := at(1, unknownDim)
		if x.lay == packed {
			c = at(1, int64(inCh))
		}
		if c == int64(ip.C*nb) || (c == -1 && x.lay == split) {
			return &aval{lay: packed, bands: x.bands}, nil
		}
	case len(d) == 4 && x.lay == img:
		if c := at(1, int64(ip.C)); c == int64(ip.C) {
			return x, nil
		}
	}
	return nil, fmt.Errorf("reshapes %s to %v, which splits or merges the channels otherwise than band by band", x.describe(), showDims(d))
}

func showDims(d []int64) string {
	var s []string
	for _, v := range d {
		if v == unknownDim {
			s = append(s, "?")
		} else {
			s = append(s, fmt.Sprint(v))
		}
	}
	return "[" + strings.Join(s, " ") + "]"
}

func (ip *interp) gather(n *onnxpb.NodeProto, x *aval) (*aval, error) {
	idx, ok := ip.ints(input(n, 1))
	if !ok {
		return nil, fmt.Errorf("indices are not constant")
	}
	c, _ := ip.ix.ResolveConstant(input(n, 1))
	scalar := len(c.Value.Shape) == 0
	axis := graph.AttrInt(n, "axis", 0)
	nb := len(x.bands)
	switch {
	case x.lay == split && (axis == 2 || axis == -3):
		var bands []*term
		for _, j := range idx {
			if j < 0 {
				j += int64(nb)
			}
			if j < 0 || j >= int64(nb) {
				return nil, fmt.Errorf("band index %d out of range", j)
			}
			bands = append(bands, x.bands[j])
		}
		if scalar {
			return &aval{lay: img, bands: bands}, nil
		}
		return &aval{lay: split, bands: bands}, nil
	case x.lay == packed && (axis == 1 || axis == -3) && len(idx) == ip.C && !scalar:
		b := idx[0]
		for c, j := range idx {
			if j != int64(c*nb)+b {
				return nil, fmt.Errorf("channel indices do not pick one band of every channel")
			}
		}
		if b < 0 || b >= int64(nb) {
			return nil, fmt.Errorf("band index %d out of range", b)
		}
		return &aval{lay: img, bands: []*term{x.bands[b]}}, nil
	}
	return nil, fmt.Errorf("gathers along axis %d of %s", axis, x.describe())
}

// slice accepts a band range on the band axis, crops from 0 and
// subsamplings on the spatial axes.
func (ip *interp) slice(n *onnxpb.NodeProto, x *aval) (*aval, error) {
	var starts, ends, axes, steps []int64
	endsKnown := true
	if ip.opset >= 10 {
		var ok bool
		if starts, ok = ip.ints(input(n, 1)); !ok {
			return nil, fmt.Errorf("starts are not constant")
		}
		ends, endsKnown = ip.ints(input(n, 2))
		if a := input(n, 3); a != "" {
			if axes, ok = ip.ints(a); !ok {
				return nil, fmt.Errorf("axes are not constant")
			}
		}
		if s := input(n, 4); s != "" {
			if steps, ok = ip.ints(s); !ok {
				return nil, fmt.Errorf("steps are not constant")
			}
		}
	} else {
		starts, ends, axes = graph.AttrInts(n, "starts", nil), graph.AttrInts(n, "ends", nil), graph.AttrInts(n, "axes", nil)
	}
	if axes == nil {
		for j := range starts {
			axes = append(axes, int64(j))
		}
	}
	if steps == nil {
		steps = make([]int64, len(starts))
		for j := range steps {
			steps[j] = 1
		}
	}
	if len(axes) != len(starts) || len(steps) != len(starts) || (endsKnown && len(ends) != len(starts)) {
		return nil, fmt.Errorf("starts, ends, axes and steps differ in length")
	}
	rank := 4
	if x.lay == split {
		rank = 5
	}
	out := &aval{lay: x.lay, bands: x.bands}
	step := int64(0)
	for j, a := range axes {
		if a < 0 {
			a += int64(rank)
		}
		switch {
		case x.lay == split && a == 2:
			if !endsKnown || steps[j] != 1 {
				return nil, fmt.Errorf("a band range with unknown end or step %d", steps[j])
			}
			nb := int64(len(x.bands))
			s, e := clampIdx(starts[j], nb), clampIdx(ends[j], nb)
			if s >= e {
				return nil, fmt.Errorf("an empty band range")
			}
			out.bands = x.bands[s:e]
		case a >= int64(rank-2) && a < int64(rank):
			if starts[j] != 0 {
				return nil, fmt.Errorf("a spatial slice from %d (crops start at 0)", starts[j])
			}
			if steps[j] != 1 {
				if step != 0 && steps[j] != step {
					return nil, fmt.Errorf("unequal subsampling steps")
				}
				step = steps[j]
			}
		default:
			return nil, fmt.Errorf("slices axis %d of %s", a, x.describe())
		}
	}
	if step > 1 {
		if x.lay != img || len(axes) != 2 {
			return nil, fmt.Errorf("subsamples a tensor other than the layer's output")
		}
		out.bands = []*term{subsample(int(step), x.bands[0])}
	}
	return out, nil
}

func clampIdx(v, n int64) int64 {
	if v < 0 {
		v += n
	}
	return max(0, min(v, n))
}

// NearMiss is a candidate that starts like a WTConv layer (a grouped
// stride-2 conv with a wavelet analysis filter bank) but is not one.
type NearMiss struct {
	Node   string `json:"node"`   // the analysis conv
	Reason string `json:"reason"` // why it is not recognised
}

// analysisWavelet returns the wavelet whose analysis bank the conv's weight
// holds, if any, and the channel count.
func analysisWavelet(ix *graph.Index, n *onnxpb.NodeProto) (wtconv.Wavelet, int, bool) {
	if n.GetOpType() != "Conv" || (n.GetDomain() != "" && n.GetDomain() != "ai.onnx") || len(n.GetInput()) < 2 {
		return wtconv.Wavelet{}, 0, false
	}
	// Attributes first: decoding every dense conv's weight would cost a
	// pass over most of a large model's bytes.
	if s := graph.AttrInts(n, "strides", nil); len(s) != 2 || s[0] != 2 || s[1] != 2 || graph.AttrInt(n, "group", 1) < 1 {
		return wtconv.Wavelet{}, 0, false
	}
	if t := ix.Initializer(n.GetInput()[1]); t != nil {
		if d := t.GetDims(); len(d) != 4 || d[1] != 1 || d[0] != 4*graph.AttrInt(n, "group", 1) {
			return wtconv.Wavelet{}, 0, false
		}
	}
	c, err := ix.ResolveConstant(n.GetInput()[1])
	if err != nil || c.Value.DType != tensor.Float32 {
		return wtconv.Wavelet{}, 0, false
	}
	sh := c.Value.Shape
	if len(sh) != 4 || sh[1] != 1 || sh[0]%4 != 0 || sh[2] != sh[3] {
		return wtconv.Wavelet{}, 0, false
	}
	C := sh[0] / 4
	if graph.AttrInt(n, "group", 1) != int64(C) {
		return wtconv.Wavelet{}, 0, false
	}
	if s := graph.AttrInts(n, "strides", nil); len(s) != 2 || s[0] != 2 || s[1] != 2 {
		return wtconv.Wavelet{}, 0, false
	}
	if w, ok := waveletOfSize(sh[2]); ok && bankMatches(c.Value.F32, w.AnalysisFilters()) {
		return w, C, true
	}
	return wtconv.Wavelet{}, 0, false
}

// recognize follows the candidate analysis conv at node index a.
// visited lists the analysis convs the run followed, so that one broken
// layer gives one near miss, not one per level.
func recognize(ix *graph.Index, nodes []*onnxpb.NodeProto, opset int64, a int, wav wtconv.Wavelet, C int) (l *Layer, why string, visited []int) {
	x := input(nodes[a], 0)
	for p := ix.Producer(x); p != nil && (p.GetOpType() == "Pad" || p.GetOpType() == "Identity"); p = ix.Producer(x) {
		x = input(p, 0)
	}
	ip := &interp{ix: ix, nodes: nodes, opset: opset, C: C, wav: wav, x: x,
		vals: map[string]*aval{}, valued: map[int]bool{}, levels: map[int]int{},
		wave: map[int]*tensor.Tensor{}, waveNm: map[int]string{},
		scale: map[int]*tensor.Tensor{}, scaleNm: map[int]string{}, bases: map[int]*baseRec{}}
	// The candidate is level 1: another analysis of the same input (a
	// second layer reading it) is not this layer's.
	ip.levels[1] = a
	ip.run()
	for _, i := range ip.levels {
		visited = append(visited, i)
	}
	L := len(ip.wave)
	scaled := func(i int) bool { return ip.scale[i] != nil }
	var out string
	var base *term
	step := 1
	if L > 0 {
		want := expectedSynthesis(1, L, scaled).key
		for _, n := range nodes {
			for _, o := range n.GetOutput() {
				v := ip.vals[o]
				if out != "" || v == nil || v.lay != img {
					continue
				}
				if b, z, s, ok := finalParts(v.bands[0]); ok && z.key == want {
					out, base, step = o, b, s
				}
			}
		}
	}
	if out == "" {
		return nil, ip.whyNot(), visited
	}
	// The stride comes after the sum (PyTorch's AveragePool of kernel 1):
	// the layer ends after it.
	for cur := out; ; {
		cs := ix.Consumers(cur)
		if len(cs) != 1 || ix.IsGraphOutput(cur) {
			break
		}
		v := ip.vals[output(cs[0])]
		if v == nil || v.lay != img {
			break
		}
		b, _, s, ok := finalParts(v.bands[0])
		if !ok || s < step {
			break
		}
		cur = output(cs[0])
		if s > step {
			out, base, step = cur, b, s
		}
	}
	rec := ip.bases[base.node]
	l = &Layer{Input: x, Output: out, BaseKernel: [2]int{rec.kh, rec.kw}}
	wt := &wtconv.Weights{Base: rec.weight.F32}
	l.TensorNames = map[string]string{"base_conv.weight": rec.weightName}
	if rec.bias != nil {
		wt.Bias = rec.bias.F32
		l.TensorNames["base_conv.bias"] = rec.biasName
	}
	if base.op == "bs" {
		wt.BaseScale = rec.scale.F32
		l.TensorNames["base_scale.weight"] = rec.scaleName
	} else {
		wt.BaseScale = fill(C, 1)
	}
	k := 0
	for i := 1; i <= L; i++ {
		w := ip.wave[i]
		if w == nil {
			return nil, fmt.Sprintf("level %d has no conv", i), visited
		}
		if k == 0 {
			k = w.Shape[2]
		} else if w.Shape[2] != k {
			return nil, fmt.Sprintf("the level convs have kernels %d and %d (one wavelet-domain kernel size per layer)", k, w.Shape[2]), visited
		}
		wt.Wavelet = append(wt.Wavelet, w.F32)
		l.TensorNames[fmt.Sprintf("wavelet_convs.%d.weight", i-1)] = ip.waveNm[i]
		if sc := ip.scale[i]; sc != nil {
			wt.WaveletScale = append(wt.WaveletScale, sc.F32)
			l.TensorNames[fmt.Sprintf("wavelet_scale.%d.weight", i-1)] = ip.scaleNm[i]
		} else {
			wt.WaveletScale = append(wt.WaveletScale, fill(4*C, 1)) // folded into the conv
		}
	}
	stride := step
	if step == 1 && rec.stride > 1 {
		stride = rec.stride
	}
	if stride > 1 && ip.strideFilter != "" {
		l.TensorNames["stride_filter"] = ip.strideFilter
	}
	l.Layer = wtconv.Layer{Channels: C, Kernel: k, Levels: L, Stride: stride, Bias: rec.bias != nil, Wavelet: wav.Name}
	if rec.kh == rec.kw && rec.kh != k {
		l.Layer.BaseKernel = rec.kh
	}
	l.Weights = wt
	l.Form = FormOps
	if ip.split {
		l.Form = FormPyTorch
	}
	if why := ip.collect(l, out); why != "" {
		return nil, why, visited
	}
	l.baseNode = nodes[base.node]
	return l, "", visited
}

// whyNot explains a candidate that does not compute a layer.
func (ip *interp) whyNot() string {
	L := len(ip.wave)
	scaled := func(i int) bool { return ip.scale[i] != nil }
	if L == 0 {
		if len(ip.fails) > 0 {
			return "no level conv follows the analysis (" + ip.fails[0] + ")"
		}
		return "no level conv follows the analysis"
	}
	want := expectedSynthesis(1, L, scaled).key
	// The tensor that got furthest: a sum of a base branch and a synthesis.
	var best *term
	for _, n := range ip.nodes {
		for _, o := range n.GetOutput() {
			if v := ip.vals[o]; v != nil && v.lay == img && v.bands[0].has("s") && (v.bands[0].has("b") || v.bands[0].has("bs")) {
				best = v.bands[0]
			}
		}
	}
	msg := fmt.Sprintf("no tensor computes base + synthesis of the %d levels (want base + %s)", L, want)
	if best != nil {
		msg += "; closest: " + best.key
	} else if len(ip.fails) > 0 {
		msg += "; stopped at " + ip.fails[0]
	}
	return msg
}

// collect fills the layer's nodes (the data path from input to output and
// the shape arithmetic only they use) and checks that nothing outside reads
// a tensor inside.
func (ip *interp) collect(l *Layer, out string) string {
	inLayer := map[int]bool{}
	idx := map[*onnxpb.NodeProto]int{}
	for i, n := range ip.nodes {
		idx[n] = i
	}
	stack := []string{out}
	seen := map[string]bool{}
	for len(stack) > 0 {
		t := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if t == ip.x || seen[t] {
			continue
		}
		seen[t] = true
		p := ip.ix.Producer(t)
		if p == nil {
			continue
		}
		i := idx[p]
		if !ip.valued[i] {
			continue
		}
		inLayer[i] = true
		for _, x := range p.GetInput() {
			if ip.vals[x] != nil {
				stack = append(stack, x)
			}
		}
	}
	// Shape arithmetic and constants feeding the layer's nodes.
	aux := map[int]bool{}
	var walk func(name string)
	walk = func(name string) {
		if name == "" || ip.vals[name] != nil {
			return
		}
		p := ip.ix.Producer(name)
		if p == nil {
			return
		}
		i := idx[p]
		if inLayer[i] || aux[i] {
			return
		}
		aux[i] = true
		for _, x := range p.GetInput() {
			walk(x)
		}
	}
	for i := range inLayer {
		for _, x := range ip.nodes[i].GetInput() {
			walk(x)
		}
	}
	// Keep only what nothing outside the layer reads.
	for changed := true; changed; {
		changed = false
		for i := range aux {
			for _, o := range ip.nodes[i].GetOutput() {
				used := ip.ix.IsGraphOutput(o)
				for _, c := range ip.ix.Consumers(o) {
					if j := idx[c]; !inLayer[j] && !aux[j] {
						used = true
					}
				}
				if used {
					delete(aux, i)
					changed = true
					break
				}
			}
		}
	}
	for i := range inLayer {
		for _, o := range ip.nodes[i].GetOutput() {
			if o == out {
				continue
			}
			if ip.ix.IsGraphOutput(o) {
				return fmt.Sprintf("the layer's inner tensor %q is a graph output", o)
			}
			for _, c := range ip.ix.Consumers(o) {
				if j := idx[c]; !inLayer[j] && !aux[j] {
					return fmt.Sprintf("the layer's inner tensor %q is also read by %s outside the layer", o, onnxmodel.NodeLabel(c))
				}
			}
		}
	}
	all := map[int]bool{}
	for i := range inLayer {
		all[i] = true
	}
	for i := range aux {
		all[i] = true
	}
	for i := range all {
		l.NodeIndex = append(l.NodeIndex, i)
	}
	sort.Ints(l.NodeIndex)
	weights := map[string]bool{}
	for _, v := range l.TensorNames {
		weights[v] = true
	}
	for _, i := range l.NodeIndex {
		n := ip.nodes[i]
		l.Nodes = append(l.Nodes, n.GetName())
		for _, x := range n.GetInput() {
			if ip.ix.Initializer(x) != nil && !weights[x] {
				l.FixedTensors = append(l.FixedTensors, x)
			}
		}
	}
	l.FixedTensors = dedupe(l.FixedTensors)
	return ""
}

func fill(n int, v float32) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = v
	}
	return out
}
