package convert

import (
	"fmt"
	"strconv"

	"github.com/wtonnx/wtonnx/graph"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
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
	// functions records the model-local functions emitted so far.
	functions map[string]bool
}

func newBuilder(m *onnxpb.ModelProto, format Format) (*builder, error) {
	opset, err := graph.OpsetVersion(m)
	if err != nil {
		return nil, err
	}
	b := &builder{m: m, g: m.GetGraph(), opset: opset, format: format,
		names: graph.NewNamer(m.GetGraph()), shared: map[string]string{}, functions: map[string]bool{}}
	for _, f := range m.GetFunctions() {
		if f.GetDomain() == FunctionDomain {
			b.functions[f.GetName()] = true // a layer signature an earlier conversion wrote
		}
	}
	return b, nil
}

// build returns the plan's layer in the builder's form.
func (b *builder) build(p *layerPlan) ([]*onnxpb.NodeProto, error) {
	switch b.format {
	case FormatCustomOp:
		return b.fusedLayer(p)
	case FormatFunction:
		return b.functionLayer(p)
	default:
		return b.opsLayer(p)
	}
}

// replace swaps the plan's conv node for its WTConv subgraph, in place.
func (b *builder) replace(p *layerPlan) error {
	nodes, err := b.build(p)
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

// fixOverridable removes the consumed initializers from the graph inputs,
// so the layers' weights are constants, and lifts an IR 3 model to IR 4,
// where initializers need not be listed as inputs (the new ones are not).
func (b *builder) fixOverridable(names []string) {
	if b.m.GetIrVersion() < 4 {
		b.m.IrVersion = ptr(int64(4))
	}
	if len(names) == 0 {
		return
	}
	drop := map[string]bool{}
	for _, n := range names {
		drop[n] = true
	}
	var in []*onnxpb.ValueInfoProto
	for _, vi := range b.g.GetInput() {
		if !drop[vi.GetName()] {
			in = append(in, vi)
		}
	}
	b.g.Input = in
}

func (b *builder) finish() error {
	graph.Prune(b.g, b.removed)
	switch b.format {
	case FormatCustomOp:
		b.importDomain(CustomDomain, CustomVersion)
	case FormatFunction:
		b.importDomain(FunctionDomain, 1)
		if b.m.GetIrVersion() < 8 {
			// Model-local functions arrived with IR 8.
			b.m.IrVersion = ptr(int64(8))
		}
	}
	return graph.Sort(b.g)
}

// importDomain adds an opset import unless the model has the domain already
// (a model converted before).
func (b *builder) importDomain(domain string, version int64) {
	for _, o := range b.m.GetOpsetImport() {
		if o.GetDomain() == domain {
			return
		}
	}
	b.m.OpsetImport = append(b.m.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: ptr(domain), Version: ptr(version)})
}

// --- the three forms ---

// graphSink writes a layer's nodes into the main graph, named
// <node>/wtconv/<role>, with shared constants as initializers.
type graphSink struct {
	b     *builder
	base  string // <node>/wtconv
	nodes []*onnxpb.NodeProto
}

func (g *graphSink) op(op, role string, inputs []string, attrs ...*onnxpb.AttributeProto) string {
	out := g.b.names.Unique(g.base + "/" + role + "_out")
	g.nodes = append(g.nodes, &onnxpb.NodeProto{
		OpType: ptr(op), Name: ptr(g.b.names.Unique(g.base + "/" + role)),
		Input: inputs, Output: []string{out}, Attribute: attrs,
	})
	return out
}

func (g *graphSink) floats(key string, dims []int64, v []float32) string {
	return g.b.sharedFloat(key, dims, v)
}

func (g *graphSink) ints(key string, dims []int64, v ...int64) string {
	if name, ok := g.b.shared[key]; ok {
		return name
	}
	name := g.b.names.Unique(key)
	g.b.g.Initializer = append(g.b.g.Initializer, onnxmodel.NewInt64Tensor(name, dims, v))
	g.b.shared[key] = name
	return name
}

// opsLayer splices the layer as standard operators: per-level initializers
// <node>/wtconv/level<i>/weight and /scale, the base conv either the
// original one (preserve, random) or a new one with the imported weights.
func (b *builder) opsLayer(p *layerPlan) ([]*onnxpb.NodeProto, error) {
	l, ci := p.layer, p.info
	C, k := l.Channels, l.Kernel
	base := ci.Node + "/wtconv"
	s := &graphSink{b: b, base: base}
	var sizes [][2]int64
	if p.hw != nil && !p.dynamic {
		sizes = make([][2]int64, l.Levels+1)
		sizes[0] = [2]int64{p.hw[0], p.hw[1]}
		for i := 1; i <= l.Levels; i++ {
			sizes[i] = [2]int64{(sizes[i-1][0] + 1) / 2, (sizes[i-1][1] + 1) / 2}
		}
	}
	src := wtSources{
		levelWeight: func(i int) string {
			return b.initializer(base+"/level"+strconv.Itoa(i+1)+"/weight", []int64{int64(4 * C), 1, int64(k), int64(k)}, p.weights.Wavelet[i])
		},
		levelScale: func(i int) string {
			return b.initializer(base+"/level"+strconv.Itoa(i+1)+"/scale", []int64{1, int64(4 * C), 1, 1}, p.weights.WaveletScale[i])
		},
		base: func() string {
			if !p.newBase {
				orig := ci.node
				return s.op("Conv", "base", append([]string{}, orig.GetInput()...), orig.GetAttribute()...)
			}
			kb := l.BaseKernelSize()
			in := []string{ci.node.GetInput()[0], b.initializer(base+"/base/weight", []int64{int64(C), 1, int64(kb), int64(kb)}, p.weights.Base)}
			if l.Bias {
				in = append(in, b.initializer(base+"/base/bias", []int64{int64(C)}, p.weights.Bias))
			}
			return s.op("Conv", "base", in, intsAttr("kernel_shape", int64(kb), int64(kb)), intsAttr("pads", samePads(kb)...),
				intsAttr("strides", int64(l.Stride), int64(l.Stride)), intAttr("group", int64(C)))
		},
		baseScale: func() string {
			if allOnes(p.weights.BaseScale) {
				return ""
			}
			return b.initializer(base+"/base/scale", []int64{1, int64(C), 1, 1}, p.weights.BaseScale)
		},
	}
	if _, err := emitLayer(s, wtEmit{layer: l, wav: p.wavelet, x: ci.node.GetInput()[0], sizes: sizes, opset: b.opset, src: src}); err != nil {
		return nil, err
	}
	s.nodes[len(s.nodes)-1].Output = []string{ci.Output}
	return s.nodes, nil
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

// fusedInputs are the fused operator's tensors for a layer, at their own
// sizes: base_weight C x 1 x kb x kb, wavelet_weight L x 4C x 1 x k x k.
type fusedInputs struct {
	kb           int
	base, bias   []float32 // bias nil: none
	wavelet, wsc []float32 // packed over the levels
}

func (b *builder) fusedInputsOf(p *layerPlan) (*fusedInputs, error) {
	l, ci := p.layer, p.info
	f := &fusedInputs{}
	if p.newBase {
		f.kb, f.base, f.bias = l.BaseKernelSize(), p.weights.Base, p.weights.Bias
	} else {
		if ci.Kernel[0] != ci.Kernel[1] {
			return nil, fmt.Errorf("the fused WTConv needs a square base kernel, the conv has %v", ci.Kernel)
		}
		f.kb, f.base = int(ci.Kernel[0]), ci.weight.F32
		if ci.bias != nil {
			f.bias = ci.bias.F32
		}
	}
	for i := 0; i < l.Levels; i++ {
		f.wavelet = append(f.wavelet, p.weights.Wavelet[i]...)
		f.wsc = append(f.wsc, p.weights.WaveletScale[i]...)
	}
	return f, nil
}

// fusedLayer emits one ai.wtonnx WTConv node; the base and the wavelet
// kernels keep their own sizes, and the wavelet attribute names the filters.
func (b *builder) fusedLayer(p *layerPlan) ([]*onnxpb.NodeProto, error) {
	l, ci := p.layer, p.info
	C, L, k := l.Channels, l.Levels, l.Kernel
	base := ci.Node + "/wtconv"
	f, err := b.fusedInputsOf(p)
	if err != nil {
		return nil, err
	}
	inputs := []string{
		ci.node.GetInput()[0],
		b.initializer(base+"/base_weight", []int64{int64(C), 1, int64(f.kb), int64(f.kb)}, f.base),
		"",
		b.initializer(base+"/base_scale", []int64{int64(C)}, p.weights.BaseScale),
		b.initializer(base+"/wavelet_weight", []int64{int64(L), int64(4 * C), 1, int64(k), int64(k)}, f.wavelet),
		b.initializer(base+"/wavelet_scale", []int64{int64(L), int64(4 * C)}, f.wsc),
	}
	if f.bias != nil {
		inputs[2] = b.initializer(base+"/base_bias", []int64{int64(C)}, f.bias)
	}
	n := &onnxpb.NodeProto{
		OpType: ptr(CustomOpType), Domain: ptr(CustomDomain), Name: ptr(b.names.Unique(base)),
		Input: inputs, Output: []string{ci.Output},
		Attribute: []*onnxpb.AttributeProto{intAttr("levels", int64(L)), intAttr("stride", int64(l.Stride)), stringAttr("wavelet", p.wavelet.Name)},
	}
	return []*onnxpb.NodeProto{n}, nil
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
