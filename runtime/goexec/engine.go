package goexec

import (
	"context"
	"fmt"
	"math"
	goruntime "runtime"
	"sort"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/opset"
	"github.com/wtonnx/wtonnx/runtime"
	"github.com/wtonnx/wtonnx/tensor"
)

// Options configures an Engine.
type Options struct {
	// Threads bounds the goroutines one Run uses for its kernels; 0 means
	// GOMAXPROCS.
	Threads int
	// Logf, when set, receives progress and diagnostic messages.
	Logf func(format string, args ...any)
}

// Engine runs one ONNX model in pure Go. It implements runtime.Engine.
type Engine struct {
	threads *team
	logf    func(string, ...any)
	inputs  []runtime.TensorInfo
	outputs []runtime.TensorInfo
	// overridable holds initializers that are also listed as graph inputs
	// (old IR versions): a Run may replace them.
	overridable map[string]bool
	consts      map[string]*tensor.Tensor
	nodes       []*execNode
	producer    map[string]int // tensor name -> index in nodes
	// fused is the plan with activations folded into the preceding Conv;
	// hidden holds the tensors it no longer materialises. Run uses it
	// unless one of those tensors is requested.
	fused      *plan
	hidden     map[string]bool
	inputIndex map[string]int
	scratch    *scratchPool
}

var _ runtime.Engine = (*Engine)(nil)

type execNode struct {
	flatNode
	inputs  []string
	outputs []string
	kernel  kernelFunc
	// withEpilogue, set for Conv, builds the kernel with a fused activation.
	withEpilogue func(*unaryOp) kernelFunc
	// act, set for fusable activations, is the activation as an epilogue.
	act *unaryOp
	// withBias, set for MatMul by a constant 2-D B of biasLen columns,
	// builds the kernel with a fused bias Add and activation (either nil).
	withBias func(bias []float32, epi *unaryOp) kernelFunc
	biasLen  int
}

// plan is an ordered node list with its producer index.
type plan struct {
	nodes    []*execNode
	producer map[string]int
}

// Open prepares model for execution. It fails, naming the node, for any
// operator, operator-set version or attribute the engine does not support.
func Open(model *onnxpb.ModelProto, opts Options) (*Engine, error) {
	if model == nil || model.GetGraph() == nil {
		return nil, fmt.Errorf("goexec: model has no graph")
	}
	g := model.GetGraph()
	threads := opts.Threads
	if threads <= 0 {
		threads = goruntime.GOMAXPROCS(0)
	}
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	e := &Engine{
		threads:     newTeam(threads),
		logf:        logf,
		overridable: map[string]bool{},
		consts:      map[string]*tensor.Tensor{},
		producer:    map[string]int{},
		inputIndex:  map[string]int{},
		scratch:     newScratchPool(),
	}
	// An Engine dropped without Close (or by a failing Open) stops its
	// workers when collected.
	goruntime.AddCleanup(e, (*team).close, e.threads)

	opsets := map[string]int64{}
	for _, o := range model.GetOpsetImport() {
		opsets[normDomain(o.GetDomain())] = o.GetVersion()
	}
	if _, ok := opsets[""]; !ok {
		return nil, fmt.Errorf("goexec: model imports no ai.onnx operator set")
	}
	if v := opsets[""]; v > MaxOpset || v < 1 {
		return nil, fmt.Errorf("goexec: model uses ai.onnx opset %d; this engine supports opsets 1 to %d", v, MaxOpset)
	}
	if len(g.GetSparseInitializer()) > 0 {
		return nil, fmt.Errorf("goexec: sparse initializers are not supported (%q)", g.GetSparseInitializer()[0].GetValues().GetName())
	}

	for _, init := range g.GetInitializer() {
		if onnxpb.TensorProto_DataType(init.GetDataType()) == onnxpb.TensorProto_DOUBLE {
			return nil, fmt.Errorf("goexec: initializer %q: %w", init.GetName(), errDouble)
		}
		t, err := onnxmodel.ToTensor(init)
		if err != nil {
			return nil, fmt.Errorf("goexec: initializer %q: %w", init.GetName(), err)
		}
		e.consts[init.GetName()] = t
	}
	available := map[string]bool{}
	for name := range e.consts {
		available[name] = true
	}
	for _, vi := range g.GetInput() {
		name := vi.GetName()
		if _, isConst := e.consts[name]; isConst {
			e.overridable[name] = true
			continue
		}
		info, err := valueInfo(vi)
		if err != nil {
			return nil, fmt.Errorf("goexec: graph input %q: %w", name, err)
		}
		if available[name] {
			return nil, fmt.Errorf("goexec: graph input %q is listed twice", name)
		}
		e.inputIndex[name] = len(e.inputs)
		e.inputs = append(e.inputs, info)
		available[name] = true
	}

	in := &inliner{funcs: map[funcKey]*onnxpb.FunctionProto{}}
	for _, f := range model.GetFunctions() {
		in.funcs[funcKey{normDomain(f.GetDomain()), f.GetName()}] = f
	}
	flat, err := in.expand(g.GetNode(), opsets, "", 0, nil)
	if err != nil {
		return nil, fmt.Errorf("goexec: %w", err)
	}
	sorted, err := topoSort(flat, available)
	if err != nil {
		return nil, fmt.Errorf("goexec: %w", err)
	}
	for _, fn := range sorted {
		n := fn.proto
		dom := normDomain(n.GetDomain())
		ver, ok := fn.opsets[dom]
		if !ok {
			return nil, fmt.Errorf("goexec: %s: the model imports no operator set for domain %q", fn.label(), dom)
		}
		sch, err := opset.Find(dom, n.GetOpType(), ver)
		if err != nil {
			return nil, fmt.Errorf("goexec: %s: %w", fn.label(), err)
		}
		kern, ok := kernels[sch.Key]
		if !ok {
			return nil, fmt.Errorf("goexec: %s: operator %s has no kernel", fn.label(), sch.Key)
		}
		if err := sch.Check(n, ver); err != nil {
			return nil, fmt.Errorf("goexec: %s at opset %d: %w", fn.label(), ver, err)
		}
		b := &buildCtx{node: n, opset: ver, attrs: newAttrs(n), consts: e.consts, overridable: e.overridable}
		if err := checkDTypes(n); err != nil {
			return nil, fmt.Errorf("goexec: %s: %w", fn.label(), err)
		}
		k, err := kern.build(b)
		if err != nil {
			return nil, fmt.Errorf("goexec: %s at opset %d: %w", fn.label(), ver, err)
		}
		if b.constOut != nil {
			// Constant-like node: its value is known now.
			e.consts[n.GetOutput()[0]] = b.constOut
			continue
		}
		if folded, err := e.fold(n, k); err != nil {
			return nil, fmt.Errorf("goexec: %s at opset %d: %w", fn.label(), ver, err)
		} else if folded {
			continue
		}
		en := &execNode{flatNode: fn, inputs: n.GetInput(), outputs: n.GetOutput(), kernel: k}
		if kern.epilogue != nil {
			if en.withEpilogue, err = kern.epilogue(b); err != nil {
				return nil, fmt.Errorf("goexec: %s: %w", fn.label(), err)
			}
		}
		if kern.bias != nil {
			if wb, n, ok := kern.bias(b); ok {
				en.withBias, en.biasLen = wb, n
			}
		}
		if kern.act != nil {
			en.act = kern.act(b)
		}
		for _, o := range en.outputs {
			if o != "" {
				e.producer[o] = len(e.nodes)
			}
		}
		e.nodes = append(e.nodes, en)
	}

	for _, vi := range g.GetOutput() {
		name := vi.GetName()
		if !e.known(name) {
			return nil, fmt.Errorf("goexec: graph output %q is not produced by any node", name)
		}
		info, err := valueInfo(vi)
		if err != nil {
			return nil, fmt.Errorf("goexec: graph output %q: %w", name, err)
		}
		e.outputs = append(e.outputs, info)
	}
	e.fuse(g)
	logf("goexec: %d nodes (%d after fusion), %d constants, %d threads", len(e.nodes), len(e.fused.nodes), len(e.consts), threads)
	return e, nil
}

func (e *Engine) known(name string) bool {
	if _, ok := e.producer[name]; ok {
		return true
	}
	if _, ok := e.consts[name]; ok {
		return true
	}
	_, ok := e.inputIndex[name]
	return ok
}

func valueInfo(vi *onnxpb.ValueInfoProto) (runtime.TensorInfo, error) {
	info := runtime.TensorInfo{Name: vi.GetName()}
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		return info, fmt.Errorf("not a tensor")
	}
	switch onnxpb.TensorProto_DataType(tt.GetElemType()) {
	case onnxpb.TensorProto_FLOAT:
		info.DType = tensor.Float32
	case onnxpb.TensorProto_DOUBLE:
		return info, errDouble
	case onnxpb.TensorProto_INT64, onnxpb.TensorProto_INT32, onnxpb.TensorProto_INT16,
		onnxpb.TensorProto_INT8, onnxpb.TensorProto_UINT8, onnxpb.TensorProto_BOOL:
		info.DType = tensor.Int64 // integers are held as int64
	default:
		return info, fmt.Errorf("element type %v is not supported (float, double and integer types are)", onnxpb.TensorProto_DataType(tt.GetElemType()))
	}
	if tt.GetShape() == nil {
		info.Dims = nil // rank unknown
		return info, nil
	}
	for _, d := range tt.GetShape().GetDim() {
		if d.Value != nil {
			if v, ok := d.Value.(*onnxpb.TensorShapeProto_Dimension_DimValue); ok && v.DimValue > 0 {
				info.Dims = append(info.Dims, v.DimValue)
				info.DimNames = append(info.DimNames, "")
				continue
			}
		}
		info.Dims = append(info.Dims, -1)
		info.DimNames = append(info.DimNames, d.GetDimParam())
	}
	if info.Dims == nil {
		info.Dims = []int64{}
		info.DimNames = []string{}
	}
	return info, nil
}

// Name reports "go".
func (e *Engine) Name() string { return "go" }

// Inputs describes the graph inputs that a Run must supply.
func (e *Engine) Inputs() []runtime.TensorInfo { return cloneInfos(e.inputs) }

// Outputs describes the graph outputs.
func (e *Engine) Outputs() []runtime.TensorInfo { return cloneInfos(e.outputs) }

func cloneInfos(in []runtime.TensorInfo) []runtime.TensorInfo {
	out := make([]runtime.TensorInfo, len(in))
	for i, t := range in {
		out[i] = t
		out[i].Dims = append([]int64(nil), t.Dims...)
		out[i].DimNames = append([]string(nil), t.DimNames...)
	}
	return out
}

// Close does nothing (the engine holds no native resources); it is safe to
// call twice.
func (e *Engine) Close() error { e.threads.close(); return nil }

// Run executes the nodes needed for the requested tensors. outputs may name
// graph outputs or any tensor a node produces; nil means every graph output.
func (e *Engine) Run(ctx context.Context, inputs map[string]*tensor.Tensor, outputs []string) (map[string]*tensor.Tensor, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if outputs == nil {
		for _, o := range e.outputs {
			outputs = append(outputs, o.Name)
		}
	}
	for _, name := range outputs {
		if !e.known(name) {
			return nil, fmt.Errorf("goexec: requested tensor %q is not produced by the model", name)
		}
	}
	vals := make(map[string]*tensor.Tensor, len(e.nodes)+len(inputs))
	if err := e.checkInputs(inputs, vals); err != nil {
		return nil, err
	}
	p := e.fused
	for _, name := range outputs {
		if e.hidden[name] {
			p = &plan{nodes: e.nodes, producer: e.producer}
			break
		}
	}
	nodes, producer := p.nodes, p.producer

	// Nodes needed for the requested tensors, and the last use of each value.
	needed := make([]bool, len(nodes))
	var stack []int
	for _, name := range outputs {
		if p, ok := producer[name]; ok && !needed[p] {
			if _, given := vals[name]; given {
				continue
			}
			needed[p] = true
			stack = append(stack, p)
		}
	}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, in := range nodes[i].inputs {
			if _, given := vals[in]; given {
				continue
			}
			if p, ok := producer[in]; ok && !needed[p] {
				needed[p] = true
				stack = append(stack, p)
			}
		}
	}
	keep := map[string]bool{}
	for _, name := range outputs {
		keep[name] = true
	}
	lastUse := map[string]int{}
	for i, n := range nodes {
		if needed[i] {
			for _, in := range n.inputs {
				lastUse[in] = i
			}
		}
	}

	defer e.threads.begin()()
	rc := &runCtx{ctx: ctx, threads: e.threads, scratch: e.scratch, pooled: map[*float32]int{}}
	args := make([]*tensor.Tensor, 0, 8)
	for i, n := range nodes {
		if !needed[i] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("goexec: %w", err)
		}
		args = args[:0]
		for _, in := range n.inputs {
			if in == "" {
				args = append(args, nil)
				continue
			}
			t, ok := vals[in]
			if !ok {
				t = e.consts[in]
			}
			if t == nil {
				return nil, fmt.Errorf("goexec: %s: input %q has no value", n.label(), in)
			}
			args = append(args, t)
		}
		res, err := n.kernel(rc, args)
		if err != nil {
			return nil, fmt.Errorf("goexec: %s: %w", n.label(), err)
		}
		for j, o := range n.outputs {
			if o == "" {
				continue
			}
			if j >= len(res) || res[j] == nil {
				return nil, fmt.Errorf("goexec: %s: output %d (%q) was not computed", n.label(), j, o)
			}
			vals[o] = res[j]
			rc.retain(res[j])
		}
		for _, in := range n.inputs {
			if lastUse[in] == i && !keep[in] {
				if t, ok := vals[in]; ok {
					delete(vals, in)
					rc.release(t)
				}
			}
		}
	}

	out := make(map[string]*tensor.Tensor, len(outputs))
	for _, name := range outputs {
		t, ok := vals[name]
		if !ok {
			t = e.consts[name]
		}
		if t == nil {
			return nil, fmt.Errorf("goexec: tensor %q was not computed", name)
		}
		out[name] = t.Clone()
	}
	for _, t := range vals {
		rc.release(t)
	}
	return out, nil
}

func (e *Engine) checkInputs(inputs map[string]*tensor.Tensor, vals map[string]*tensor.Tensor) error {
	names := make([]string, 0, len(inputs))
	for name := range inputs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t := inputs[name]
		if t == nil {
			return fmt.Errorf("goexec: input %q is nil", name)
		}
		if err := t.Validate(); err != nil {
			return fmt.Errorf("goexec: input %q: %w", name, err)
		}
		idx, ok := e.inputIndex[name]
		if !ok {
			if e.overridable[name] {
				c := e.consts[name]
				if c.DType != t.DType || !tensor.SameShape(c.Shape, t.Shape) {
					return fmt.Errorf("goexec: input %q replaces an initializer of %v %v but is %v %v", name, c.DType, c.Shape, t.DType, t.Shape)
				}
				vals[name] = t
				continue
			}
			return fmt.Errorf("goexec: %q is not an input of the model (inputs: %s)", name, e.inputNames())
		}
		info := e.inputs[idx]
		if t.DType != info.DType {
			return fmt.Errorf("goexec: input %q is %v, the model wants %v", name, t.DType, info.DType)
		}
		if info.Dims != nil {
			if len(t.Shape) != len(info.Dims) {
				return fmt.Errorf("goexec: input %q has rank %d (shape %v), the model wants rank %d %v", name, len(t.Shape), t.Shape, len(info.Dims), info.Dims)
			}
			for i, d := range info.Dims {
				if d >= 0 && int64(t.Shape[i]) != d {
					return fmt.Errorf("goexec: input %q has shape %v, the model wants %v (dimension %d must be %d)", name, t.Shape, info.Dims, i, d)
				}
			}
		}
		vals[name] = t
	}
	for _, info := range e.inputs {
		if _, ok := inputs[info.Name]; !ok {
			return fmt.Errorf("goexec: input %q is missing", info.Name)
		}
	}
	return nil
}

func (e *Engine) inputNames() string {
	s := ""
	for i, in := range e.inputs {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%q", in.Name)
	}
	return s
}

// fold runs a node whose inputs are all constants once, at Open, and
// records its outputs as constants.
func (e *Engine) fold(n *onnxpb.NodeProto, k kernelFunc) (bool, error) {
	var args []*tensor.Tensor
	for _, in := range n.GetInput() {
		if in == "" {
			args = append(args, nil)
			continue
		}
		t, ok := e.consts[in]
		if !ok {
			return false, nil
		}
		args = append(args, t)
	}
	if len(args) == 0 {
		return false, nil
	}
	rc := &runCtx{ctx: context.Background(), threads: e.threads, scratch: e.scratch}
	res, err := k(rc, args)
	if err != nil {
		return false, err
	}
	for j, o := range n.GetOutput() {
		if o == "" {
			continue
		}
		if j >= len(res) || res[j] == nil {
			return false, fmt.Errorf("output %d (%q) was not computed", j, o)
		}
		e.consts[o] = res[j]
	}
	return true, nil
}

// fuse builds the fused plan: erf GELU chains become one node (see
// gelu.go), and a Conv whose only consumer is an activation (and whose
// output is not a graph output) computes the activation itself.
func (e *Engine) fuse(g *onnxpb.GraphProto) {
	countUses := func(nodes []*execNode) map[string]int {
		uses := map[string]int{}
		for _, n := range nodes {
			for _, in := range n.inputs {
				uses[in]++
			}
		}
		for _, o := range g.GetOutput() {
			uses[o.GetName()] += 2
		}
		return uses
	}
	e.hidden = map[string]bool{}
	nodes := e.fuseGelu(e.nodes, countUses(e.nodes), e.hidden)
	uses := countUses(nodes)
	fp := &plan{producer: map[string]int{}}
	skip := map[int]bool{}
	for i, n := range nodes {
		if skip[i] {
			continue
		}
		out := n
		if fused, ok := e.fuseMatMulBias(nodes, i, uses, skip); ok {
			out = fused
		} else if n.withEpilogue != nil && len(n.outputs) == 1 && uses[n.outputs[0]] == 1 {
			// The single consumer: the next node that reads the output.
			for j := i + 1; j < len(nodes); j++ {
				c := nodes[j]
				if !reads(c, n.outputs[0]) {
					continue
				}
				if c.act != nil && len(c.outputs) == 1 && c.inputs[0] == n.outputs[0] {
					fusedNode := *n
					fusedNode.outputs = c.outputs
					fusedNode.kernel = n.withEpilogue(c.act)
					out = &fusedNode
					skip[j] = true
					e.hidden[n.outputs[0]] = true
				}
				break
			}
		}
		for _, o := range out.outputs {
			if o != "" {
				fp.producer[o] = len(fp.nodes)
			}
		}
		fp.nodes = append(fp.nodes, out)
	}
	e.fused = fp
}

// fuseMatMulBias fuses into the MatMul nodes[i] the Add of a constant [N]
// bias that is its output's only consumer, and the activation that is the
// Add's only consumer if there is one, marking the fused nodes in skip.
func (e *Engine) fuseMatMulBias(nodes []*execNode, i int, uses map[string]int, skip map[int]bool) (*execNode, bool) {
	n := nodes[i]
	if n.withBias == nil || len(n.outputs) != 1 || uses[n.outputs[0]] != 1 {
		return nil, false
	}
	consumer := func(name string) (int, *execNode) {
		for j := i + 1; j < len(nodes); j++ {
			if reads(nodes[j], name) {
				return j, nodes[j]
			}
		}
		return -1, nil
	}
	j, add := consumer(n.outputs[0])
	if add == nil || !opIs(add, "Add") || len(add.inputs) != 2 || len(add.outputs) != 1 {
		return nil, false
	}
	name := add.inputs[0]
	if name == n.outputs[0] {
		name = add.inputs[1]
	}
	bias, ok := e.consts[name]
	if !ok || e.overridable[name] || name == n.outputs[0] || bias.DType != tensor.Float32 ||
		len(bias.Shape) != 1 || bias.Shape[0] != n.biasLen {
		return nil, false
	}
	fused := *n
	fused.withBias = nil
	fused.outputs = add.outputs
	skip[j] = true
	e.hidden[n.outputs[0]] = true
	var epi *unaryOp
	if uses[add.outputs[0]] == 1 {
		if k, act := consumer(add.outputs[0]); act != nil && act.act != nil && len(act.outputs) == 1 && act.inputs[0] == add.outputs[0] {
			epi = act.act
			fused.outputs = act.outputs
			skip[k] = true
			e.hidden[add.outputs[0]] = true
		}
	}
	fused.kernel = n.withBias(bias.F32, epi)
	return &fused, true
}

func reads(n *execNode, name string) bool {
	for _, in := range n.inputs {
		if in == name {
			return true
		}
	}
	return false
}

// convEpilogue is Conv's fusion hook: its kernel with an activation.
func convEpilogue(b *buildCtx) (func(*unaryOp) kernelFunc, error) {
	wa, err := parseWindowAttrs(b)
	if err != nil {
		return nil, err
	}
	return convWithEpilogue(b, wa), nil
}

// matmulBias is MatMul's fusion hook: with a constant 2-D float B, its
// kernel can add a bias of B's column count and apply an activation.
func matmulBias(b *buildCtx) (func([]float32, *unaryOp) kernelFunc, int, bool) {
	w, ok := b.constIn(1)
	if !ok || b.overridable[b.node.GetInput()[1]] || w.DType != tensor.Float32 || len(w.Shape) != 2 {
		return nil, 0, false
	}
	return matmulWithBias(w), w.Shape[1], true
}

// activationOf describes node b as an element-wise activation that can be
// fused into a preceding Conv, or returns nil.
func activationOf(b *buildCtx) *unaryOp {
	switch op := b.node.GetOpType(); op {
	case "Relu", "Sigmoid", "HardSwish", "Tanh":
		if b.numIn() != 1 {
			return nil
		}
		return &unaryOp{kind: op}
	case "LeakyRelu":
		a, err := b.attrs.float("alpha", 0.01)
		if err != nil {
			return nil
		}
		return &unaryOp{kind: op, alpha: a}
	case "HardSigmoid":
		a, err1 := b.attrs.float("alpha", 0.2)
		beta, err2 := b.attrs.float("beta", 0.5)
		if err1 != nil || err2 != nil {
			return nil
		}
		return &unaryOp{kind: op, alpha: a, beta: beta}
	case "Clip":
		u := &unaryOp{kind: op, lo: float32(math.Inf(-1)), hi: float32(math.Inf(1))}
		if b.opset < 11 {
			var err1, err2 error
			u.lo, err1 = b.attrs.float("min", u.lo)
			u.hi, err2 = b.attrs.float("max", u.hi)
			if err1 != nil || err2 != nil {
				return nil
			}
			return u
		}
		for i, p := range []*float32{&u.lo, &u.hi} {
			if !b.hasIn(i + 1) {
				continue
			}
			t, ok := b.constIn(i + 1)
			if !ok || t.DType != tensor.Float32 || t.Len() != 1 {
				return nil
			}
			*p = t.F32[0]
		}
		return u
	}
	return nil
}
