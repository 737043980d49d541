package convert

import (
	"fmt"
	"math"
	"strconv"

	"github.com/wtonnx/wtonnx/graph"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/wtconv"
)

// CustomDomain and CustomOpType name the fused node (see customop/).
const (
	CustomDomain  = "ai.wtonnx"
	CustomOpType  = "WTConv"
	CustomVersion = 1
)

// builder splices replacement subgraphs into one model.
type builder struct {
	m      *onnxpb.ModelProto
	g      *onnxpb.GraphProto
	opset  int64
	format Format
	names  *graph.Namer
	// shared constants by key, so that layers of equal width share filters
	shared  map[string]string
	removed []string // tensors the replaced nodes read, to prune at the end
	haar    wtconv.Wavelet
	// functions records the model-local functions emitted so far.
	functions map[string]bool
}

func newBuilder(m *onnxpb.ModelProto, format Format) (*builder, error) {
	opset, err := graph.OpsetVersion(m)
	if err != nil {
		return nil, err
	}
	w, err := wtconv.WaveletByName(wtconv.DefaultWavelet)
	if err != nil {
		return nil, err
	}
	return &builder{m: m, g: m.GetGraph(), opset: opset, format: format,
		names: graph.NewNamer(m.GetGraph()), shared: map[string]string{}, haar: w}, nil
}

// replace swaps the plan's conv node for its WTConv subgraph, in place.
func (b *builder) replace(p *layerPlan) error {
	nodes, err := b.emit(p)
	if err != nil {
		return err
	}
	var out []*onnxpb.NodeProto
	for _, n := range b.g.GetNode() {
		if n == p.info.node {
			out = append(out, nodes...)
			b.removed = append(b.removed, n.GetInput()...)
			continue
		}
		out = append(out, n)
	}
	b.g.Node = out
	return nil
}

// emit builds one layer in the builder's form: the one place that picks the
// form's builder.
func (b *builder) emit(p *layerPlan) ([]*onnxpb.NodeProto, error) {
	if w := p.layer.WaveletName(); w != wtconv.DefaultWavelet && w != "haar" {
		return nil, fmt.Errorf("%s is not supported by the %s form yet", w, b.format)
	}
	switch b.format {
	case FormatCustomOp:
		return b.fusedLayer(p)
	case FormatFunction:
		return b.functionLayer(p)
	}
	return b.opsLayer(p)
}

func (b *builder) finish() error {
	graph.Prune(b.g, b.removed)
	imports := map[string]bool{}
	for _, o := range b.m.GetOpsetImport() {
		imports[o.GetDomain()] = true
	}
	switch {
	case b.format == FormatCustomOp && !imports[CustomDomain]:
		b.m.OpsetImport = append(b.m.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: ptr(CustomDomain), Version: ptr(int64(CustomVersion))})
	case b.format == FormatFunction && !imports[FunctionDomain]:
		b.m.OpsetImport = append(b.m.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: ptr(FunctionDomain), Version: ptr(int64(1))})
		if b.m.GetIrVersion() < 8 {
			// Model-local functions arrived with IR 8.
			b.m.IrVersion = ptr(int64(8))
		}
	}
	return graph.Sort(b.g)
}

// --- standard-operator form ---

func (b *builder) opsLayer(p *layerPlan) ([]*onnxpb.NodeProto, error) {
	l, ci := p.layer, p.info
	C, k, L := l.Channels, l.Kernel, l.Levels
	base := ci.Node + "/wtconv"
	x := ci.node.GetInput()[0]
	static := p.hw != nil && !p.dynamic // crops by ConvTranspose pads, else by Slice on run-time shapes
	if !static && b.opset < 10 {
		return nil, fmt.Errorf("the input size is dynamic and opset %d has no Slice with tensor bounds (needs opset 10) to crop odd sizes at run time; export the model with a fixed input size, or at opset 10 or newer", b.opset)
	}
	var nodes []*onnxpb.NodeProto
	emit := func(op, name string, inputs []string, attrs ...*onnxpb.AttributeProto) string {
		out := b.names.Unique(base + "/" + name + "_out")
		nodes = append(nodes, &onnxpb.NodeProto{
			OpType: ptr(op), Name: ptr(b.names.Unique(base + "/" + name)),
			Input: inputs, Output: []string{out}, Attribute: attrs,
		})
		return out
	}
	haar := b.haarFilter(C)
	llIdx := b.llIndices(C)
	samePads := []int64{int64((k - 1) / 2), int64((k - 1) / 2), int64(k - 1 - (k-1)/2), int64(k - 1 - (k-1)/2)}

	// Analysis, level convs and scales, top down.
	levelIn := make([]string, L+1) // X_{i-1} for level i at index i-1
	levelIn[0] = x
	sizes := make([][2]int64, L+1)
	if static {
		sizes[0] = [2]int64{p.hw[0], p.hw[1]}
		for i := 1; i <= L; i++ {
			sizes[i] = [2]int64{(sizes[i-1][0] + 1) / 2, (sizes[i-1][1] + 1) / 2}
		}
	}
	ys := make([]string, L+1)
	for i := 1; i <= L; i++ {
		lv := "level" + strconv.Itoa(i)
		t := emit("Conv", lv+"/analysis", []string{levelIn[i-1], haar},
			intsAttr("kernel_shape", 2, 2), intsAttr("strides", 2, 2), intsAttr("pads", 0, 0, 1, 1), intAttr("group", int64(C)))
		w := b.initializer(base+"/"+lv+"/weight", []int64{int64(4 * C), 1, int64(k), int64(k)}, p.weights.Wavelet[i-1])
		cv := emit("Conv", lv+"/conv", []string{t, w},
			intsAttr("kernel_shape", int64(k), int64(k)), intsAttr("pads", samePads...), intAttr("group", int64(4*C)))
		s := b.initializer(base+"/"+lv+"/scale", []int64{1, int64(4 * C), 1, 1}, p.weights.WaveletScale[i-1])
		ys[i] = emit("Mul", lv+"/scale", []string{cv, s})
		if i < L {
			levelIn[i] = emit("Gather", lv+"/ll", []string{t, llIdx}, intAttr("axis", 1))
		}
	}
	// Synthesis, bottom up.
	z := ""
	llFilter := b.llFilter(C)
	for i := L; i >= 1; i-- {
		lv := "level" + strconv.Itoa(i)
		var pads []int64
		if static {
			pads = []int64{0, 0, 2*sizes[i][0] - sizes[i-1][0], 2*sizes[i][1] - sizes[i-1][1]}
		} else {
			pads = []int64{0, 0, 0, 0}
		}
		tAttrs := []*onnxpb.AttributeProto{intsAttr("kernel_shape", 2, 2), intsAttr("strides", 2, 2), intsAttr("pads", pads...), intAttr("group", int64(C))}
		s := emit("ConvTranspose", lv+"/synthesis", []string{ys[i], haar}, tAttrs...)
		if z != "" {
			up := emit("ConvTranspose", lv+"/synthesis_ll", []string{z, llFilter}, tAttrs...)
			s = emit("Add", lv+"/merge", []string{s, up})
		}
		if !static {
			s = b.cropTo(emit, lv+"/crop", s, levelIn[i-1])
		}
		z = s
	}
	// Base branch.
	var baseOut string
	if p.newBase {
		w := b.initializer(base+"/base/weight", []int64{int64(C), 1, int64(k), int64(k)}, p.weights.Base)
		in := []string{x, w}
		if l.Bias {
			in = append(in, b.initializer(base+"/base/bias", []int64{int64(C)}, p.weights.Bias))
		}
		baseOut = emit("Conv", "base", in, intsAttr("kernel_shape", int64(k), int64(k)), intsAttr("pads", samePads...),
			intsAttr("strides", int64(l.Stride), int64(l.Stride)), intAttr("group", int64(C)))
	} else {
		orig := ci.node
		baseOut = emit("Conv", "base", append([]string{}, orig.GetInput()...), orig.GetAttribute()...)
	}
	if !allOnes(p.weights.BaseScale) {
		s := b.initializer(base+"/base/scale", []int64{1, int64(C), 1, 1}, p.weights.BaseScale)
		baseOut = emit("Mul", "base/scale", []string{baseOut, s})
	}
	if l.Stride > 1 {
		z = b.subsample(emit, z, C, l.Stride)
	}
	nodes = append(nodes, &onnxpb.NodeProto{
		OpType: ptr("Add"), Name: ptr(b.names.Unique(base + "/add")),
		Input: []string{baseOut, z}, Output: []string{ci.Output},
	})
	return nodes, nil
}

type emitFunc func(op, name string, inputs []string, attrs ...*onnxpb.AttributeProto) string

// cropTo slices s (N, C, H', W') to the spatial size of ref at run time.
func (b *builder) cropTo(emit emitFunc, name, s, ref string) string {
	shape := emit("Shape", name+"/shape", []string{ref})
	hw := emit("Slice", name+"/hw", []string{shape, b.ints("wtconv/const/i2", 2), b.ints("wtconv/const/i4", 4)})
	return emit("Slice", name, []string{s, b.ints("wtconv/const/zeros2", 0, 0), hw, b.ints("wtconv/const/axes23", 2, 3)})
}

// subsample keeps every s-th row and column: out[:, :, ::s, ::s].
func (b *builder) subsample(emit emitFunc, z string, C, s int) string {
	if b.opset >= 10 {
		big := int64(math.MaxInt64)
		return emit("Slice", "subsample", []string{z, b.ints("wtconv/const/zeros2", 0, 0),
			b.ints("wtconv/const/max2", big, big), b.ints("wtconv/const/axes23", 2, 3),
			b.ints("wtconv/const/steps"+strconv.Itoa(s), int64(s), int64(s))})
	}
	// Opset 9's Slice has no steps: a 1x1 depthwise conv of ones, strided.
	key := fmt.Sprintf("wtconv/const/ones_c%d", C)
	ones := b.sharedFloat(key, []int64{int64(C), 1, 1, 1}, fill(C, 1))
	return emit("Conv", "subsample", []string{z, ones}, intsAttr("kernel_shape", 1, 1),
		intsAttr("strides", int64(s), int64(s)), intAttr("group", int64(C)))
}

// haarFilter returns the shared 4C x 1 x 2 x 2 analysis/synthesis weight.
func (b *builder) haarFilter(C int) string {
	f := b.haar.AnalysisFilters() // 4 filters of 2x2, band order
	data := make([]float32, 0, 16*C)
	for c := 0; c < C; c++ {
		data = append(data, f...)
	}
	return b.sharedFloat(fmt.Sprintf("wtconv/haar_c%d", C), []int64{int64(4 * C), 1, 2, 2}, data)
}

// llFilter returns the C x 1 x 2 x 2 synthesis weight of the LL band alone.
func (b *builder) llFilter(C int) string {
	f := b.haar.AnalysisFilters()[:4]
	data := make([]float32, 0, 4*C)
	for c := 0; c < C; c++ {
		data = append(data, f...)
	}
	return b.sharedFloat(fmt.Sprintf("wtconv/haar_ll_c%d", C), []int64{int64(C), 1, 2, 2}, data)
}

// llIndices returns the channel indices 0, 4, 8, ... of the LL band.
func (b *builder) llIndices(C int) string {
	idx := make([]int64, C)
	for c := range idx {
		idx[c] = int64(4 * c)
	}
	key := fmt.Sprintf("wtconv/ll_index_c%d", C)
	if name, ok := b.shared[key]; ok {
		return name
	}
	name := b.names.Unique(key)
	b.g.Initializer = append(b.g.Initializer, onnxmodel.NewInt64Tensor(name, []int64{int64(C)}, idx))
	b.shared[key] = name
	return name
}

func (b *builder) ints(key string, v ...int64) string {
	if name, ok := b.shared[key]; ok {
		return name
	}
	name := b.names.Unique(key)
	b.g.Initializer = append(b.g.Initializer, onnxmodel.NewInt64Tensor(name, []int64{int64(len(v))}, v))
	b.shared[key] = name
	return name
}

func (b *builder) sharedFloat(key string, dims []int64, data []float32) string {
	if name, ok := b.shared[key]; ok {
		return name
	}
	name := b.initializer(key, dims, data)
	b.shared[key] = name
	return name
}

func (b *builder) initializer(base string, dims []int64, data []float32) string {
	name := b.names.Unique(base)
	b.g.Initializer = append(b.g.Initializer, onnxmodel.NewFloat32Tensor(name, dims, data))
	return name
}

// --- fused form ---

// fusedLayer emits one ai.wtonnx WTConv node. The operator takes one kernel
// size for the base and the wavelet convs; where the original base kernel
// differs, both are embedded, zero-padded, in the larger size, which leaves
// the result exact (the padding taps multiply by zero).
func (b *builder) fusedLayer(p *layerPlan) ([]*onnxpb.NodeProto, error) {
	l, ci := p.layer, p.info
	C, L := l.Channels, l.Levels
	base := ci.Node + "/wtconv"
	kb := int(maxOf(ci.Kernel))
	var baseW []float32
	var bias []float32
	if p.newBase {
		kb, baseW, bias = l.Kernel, p.weights.Base, p.weights.Bias
	} else {
		if ci.Kernel[0] != ci.Kernel[1] {
			return nil, fmt.Errorf("the fused WTConv needs a square base kernel, the conv has %v", ci.Kernel)
		}
		baseW = ci.weight.F32
		ix := graph.NewIndex(b.g)
		bt, err := biasOf(ix, ci.node)
		if err != nil {
			return nil, err
		}
		if bt != nil {
			bias = bt.F32
		}
	}
	K := max(kb, l.Kernel)
	baseW = embedKernel(baseW, C, kb, K)
	wav := make([]float32, 0, L*4*C*K*K)
	scales := make([]float32, 0, L*4*C)
	for i := 0; i < L; i++ {
		wav = append(wav, embedKernel(p.weights.Wavelet[i], 4*C, l.Kernel, K)...)
		scales = append(scales, p.weights.WaveletScale[i]...)
	}
	inputs := []string{
		ci.node.GetInput()[0],
		b.initializer(base+"/base_weight", []int64{int64(C), 1, int64(K), int64(K)}, baseW),
		"",
		b.initializer(base+"/base_scale", []int64{int64(C)}, p.weights.BaseScale),
		b.initializer(base+"/wavelet_weight", []int64{int64(L), int64(4 * C), 1, int64(K), int64(K)}, wav),
		b.initializer(base+"/wavelet_scale", []int64{int64(L), int64(4 * C)}, scales),
	}
	if bias != nil {
		inputs[2] = b.initializer(base+"/base_bias", []int64{int64(C)}, bias)
	}
	n := &onnxpb.NodeProto{
		OpType: ptr(CustomOpType), Domain: ptr(CustomDomain), Name: ptr(b.names.Unique(base)),
		Input: inputs, Output: []string{ci.Output},
		Attribute: []*onnxpb.AttributeProto{intAttr("levels", int64(L)), intAttr("stride", int64(l.Stride)), stringAttr("wavelet", l.WaveletName())},
	}
	return []*onnxpb.NodeProto{n}, nil
}

// embedKernel places each of n k x k kernels into a K x K one so that the
// same-padded convolution is unchanged: (k-1)/2 taps before the centre stay
// (K-1)/2 before it.
func embedKernel(w []float32, n, k, K int) []float32 {
	if k == K {
		return w
	}
	off := (K-1)/2 - (k-1)/2
	out := make([]float32, n*K*K)
	for c := 0; c < n; c++ {
		for y := 0; y < k; y++ {
			copy(out[c*K*K+(y+off)*K+off:], w[c*k*k+y*k:c*k*k+y*k+k])
		}
	}
	return out
}

// --- small helpers ---

func ptr[T any](v T) *T { return &v }

func intAttr(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: ptr(name), Type: ptr(onnxpb.AttributeProto_INT), I: ptr(v)}
}

func intsAttr(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: ptr(name), Type: ptr(onnxpb.AttributeProto_INTS), Ints: v}
}

func stringAttr(name, v string) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: ptr(name), Type: ptr(onnxpb.AttributeProto_STRING), S: []byte(v)}
}

func fill(n int, v float32) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func allOnes(v []float32) bool {
	for _, x := range v {
		if x != 1 {
			return false
		}
	}
	return true
}
