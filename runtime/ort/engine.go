// Package ort implements runtime.Engine on ONNX Runtime through
// github.com/yalue/onnxruntime_go, with the CPU, CUDA and TensorRT execution
// providers.
//
// The ONNX Runtime shared library is not part of the repository: `make setup`
// caches the official 1.30.0 CPU build at .cache/onnxruntime/, `make
// setup-gpu` a 1.29.0 GPU set (core library with the CUDA and TensorRT
// providers) at .cache/onnxruntime-gpu/, and FindLibraryFor locates the one
// an execution provider needs (or the file named by a flag or
// $WTONNX_ORT_LIB). DiagnoseProvider says whether a provider's libraries
// load, with the dynamic loader's reason when not.
// The library is loaded once per process (see Initialize); engines are opened
// with Open or OpenFile and released with Close.
//
// GPU execution providers live in separate shared libraries that ONNX Runtime
// loads from the directory of libonnxruntime.so.1. EP "auto" tries TensorRT,
// then CUDA, then the CPU; each fallback is a value (Engine.Fallbacks) and a
// line to Options.Logf. An explicitly requested GPU provider that cannot be
// loaded is an error that names the missing file and where to get it.
//
// Tensors cross the boundary as tensor.Tensor: float32 for FLOAT and DOUBLE
// graph values (DOUBLE is widened exactly on the way in and rounded to
// float32 on the way out), int64 for INT64 and INT32 ones (INT32 inputs are
// range-checked). Graph inputs and outputs of other types are reported by
// Inputs/Outputs but cannot be run.
package ort

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	onnxruntime "github.com/yalue/onnxruntime_go"
	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/runtime"
	"github.com/wtonnx/wtonnx/tensor"
)

// ONNX element types handled by Run (values of TensorProto.DataType).
const (
	onnxFloat  = tensor.DType(onnxpb.TensorProto_FLOAT)
	onnxDouble = tensor.DType(onnxpb.TensorProto_DOUBLE)
	onnxInt32  = tensor.DType(onnxpb.TensorProto_INT32)
	onnxInt64  = tensor.DType(onnxpb.TensorProto_INT64)
)

// Options configures Open.
type Options struct {
	// LibraryPath is the ONNX Runtime shared library; "" means the one
	// already loaded in this process, else FindLibraryFor("", EP).
	LibraryPath string
	// EP is the execution provider: "cpu" (also ""), "cuda", "tensorrt" or
	// "auto" (TensorRT, else CUDA, else CPU).
	EP string
	// DeviceID is the GPU ordinal for CUDA and TensorRT.
	DeviceID int
	// IntraOpThreads sets ONNX Runtime's intra-op thread pool size; 0 keeps
	// its default (one thread per physical core).
	IntraOpThreads int
	// NoSpinning keeps the intra-op pool's threads from spinning (polling
	// for work) after each parallel section; they sleep instead
	// (session.intra_op.allow_spinning = 0). Spinning makes a session
	// that runs back to back faster, which is ONNX Runtime's default and
	// what a deployed session wants; but the spinning threads hold their
	// cores for a while after each Run, so when two sessions or engines
	// take turns (a benchmark comparing them) each turn would share its
	// cores with the other's spinning threads.
	NoSpinning bool
	// GraphOptLevel is "disable", "basic", "extended" or "all" ("" means
	// ONNX Runtime's default, "all").
	GraphOptLevel string
	// CustomOpLibraries are native shared libraries exporting
	// RegisterCustomOps, registered with every session.
	CustomOpLibraries []string
	// Logf, when set, receives one-line notes (execution provider
	// fallbacks).
	Logf func(format string, args ...any)
	// ProfilePrefix, when set, turns ONNX Runtime's profiler on: it writes
	// PREFIX_<date>.json when the engine is closed, which ReadProfile reads
	// (which execution provider ran each node). See NodeProviders.
	ProfilePrefix string
}

// Engine runs one model on ONNX Runtime. It implements runtime.Engine; Run
// may be called from several goroutines at once.
type Engine struct {
	name     string
	ep       string
	label    string
	version  string
	inputs   []runtime.TensorInfo
	outputs  []runtime.TensorInfo
	inIndex  map[string]int
	outIndex map[string]int
	// fallbacks are the providers EP "auto" tried and could not use.
	fallbacks []Fallback

	// mu makes Close wait for running Runs: Run holds it shared, Close
	// exclusively. ONNX Runtime allows concurrent Run on one session.
	mu      sync.RWMutex
	session *onnxruntime.DynamicAdvancedSession // nil once closed
	// options stay alive with the session: they own the handles of the
	// custom-op libraries the session's kernels live in.
	options *onnxruntime.SessionOptions

	// live counts the ONNX Runtime values Run has created or received and
	// not yet released; it returns to zero after every Run.
	live atomic.Int64
	// scalarSeen marks outputs whose shape the model does not declare but
	// that came back rank 0: later Runs preallocate them (see Run).
	scalarSeen []atomic.Bool
}

var _ runtime.Engine = (*Engine)(nil)

// OpenFile loads the model at path. The session is created from the file, so
// tensors stored as external data beside it are found.
func OpenFile(path string, opts Options) (*Engine, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ort: reading model: %w", err)
	}
	return open(data, path, path, opts)
}

// Open loads a serialized ONNX model. Models whose tensors live in external
// files must be opened with OpenFile.
func Open(model []byte, opts Options) (*Engine, error) {
	return open(model, "", "model", opts)
}

func open(data []byte, path, label string, opts Options) (*Engine, error) {
	ep := strings.ToLower(strings.TrimSpace(opts.EP))
	if ep == "" {
		ep = EPCPU
	}
	var candidates []string
	switch ep {
	case EPCPU, EPCUDA, EPTensorRT:
		candidates = []string{ep}
	case EPAuto:
		candidates = []string{EPTensorRT, EPCUDA, EPCPU}
	default:
		return nil, fmt.Errorf("ort: unknown execution provider %q (want cpu, cuda, tensorrt or auto)", opts.EP)
	}
	level, err := graphOptLevel(opts.GraphOptLevel)
	if err != nil {
		return nil, err
	}
	if opts.IntraOpThreads < 0 {
		return nil, fmt.Errorf("ort: intra-op thread count %d is negative", opts.IntraOpThreads)
	}
	if opts.DeviceID < 0 {
		return nil, fmt.Errorf("ort: device id %d is negative", opts.DeviceID)
	}
	for _, lib := range opts.CustomOpLibraries {
		if err := checkFile(lib); err != nil {
			return nil, fmt.Errorf("ort: custom-op library: %w", err)
		}
	}

	libPath := opts.LibraryPath
	if libPath == "" {
		// The library is process-global: once one is loaded, engines
		// that name none use it rather than fail on a second one.
		if libPath, _ = LoadedLibrary(); libPath == "" {
			if libPath, err = FindLibraryFor("", ep); err != nil {
				return nil, fmt.Errorf("ort: %w", err)
			}
		}
	}
	version, err := Initialize(libPath)
	if err != nil {
		return nil, err
	}
	loaded, _ := LoadedLibrary()

	inputs, outputs, err := graphIO(data)
	if err != nil {
		return nil, fmt.Errorf("ort: %s: %w", label, err)
	}
	e := &Engine{
		label:      label,
		version:    version,
		inputs:     inputs,
		outputs:    outputs,
		scalarSeen: make([]atomic.Bool, len(outputs)),
		inIndex:    make(map[string]int, len(inputs)),
		outIndex:   make(map[string]int, len(outputs)),
	}
	inNames := make([]string, len(inputs))
	for i, in := range inputs {
		e.inIndex[in.Name] = i
		inNames[i] = in.Name
	}
	outNames := make([]string, len(outputs))
	for i, out := range outputs {
		e.outIndex[out.Name] = i
		outNames[i] = out.Name
	}

	sc := sessionConfig{
		data: data, path: path, label: label, inNames: inNames, outNames: outNames,
		level: level, threads: opts.IntraOpThreads, device: opts.DeviceID,
		customOps: opts.CustomOpLibraries, libDir: filepath.Dir(loaded), version: version,
		profile: opts.ProfilePrefix, noSpin: opts.NoSpinning,
	}
	for i, cand := range candidates {
		var sess *onnxruntime.DynamicAdvancedSession
		var so *onnxruntime.SessionOptions
		if sess, so, err = sc.create(cand); err == nil {
			e.session, e.options, e.ep = sess, so, cand
			e.name = "ort/" + cand
			return e, nil
		}
		if i == len(candidates)-1 {
			break
		}
		reason := firstLine(err)
		var pe *providerError
		if errors.As(err, &pe) {
			reason = pe.reason()
		}
		e.fallbacks = append(e.fallbacks, Fallback{EP: cand, Reason: reason, Next: candidates[i+1]})
		if opts.Logf != nil {
			opts.Logf("ort: %s execution provider unavailable (%s); trying %s", epLabel(cand), reason, epLabel(candidates[i+1]))
		}
	}
	return nil, err
}

func graphOptLevel(s string) (onnxruntime.GraphOptimizationLevel, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "disable", "none", "off":
		return onnxruntime.GraphOptimizationLevelDisableAll, nil
	case "basic":
		return onnxruntime.GraphOptimizationLevelEnableBasic, nil
	case "extended":
		return onnxruntime.GraphOptimizationLevelEnableExtended, nil
	case "all", "":
		return onnxruntime.GraphOptimizationLevelEnableAll, nil
	}
	return 0, fmt.Errorf("ort: unknown graph optimization level %q (want disable, basic, extended or all)", s)
}

// sessionConfig holds what every session attempt of one Open shares.
type sessionConfig struct {
	data              []byte
	path, label       string
	inNames, outNames []string
	level             onnxruntime.GraphOptimizationLevel
	threads, device   int
	customOps         []string
	libDir, version   string
	profile           string
	noSpin            bool
}

// create makes a session with execution provider ep. On success the caller
// owns both the session and its options.
func (c *sessionConfig) create(ep string) (*onnxruntime.DynamicAdvancedSession, *onnxruntime.SessionOptions, error) {
	so, err := onnxruntime.NewSessionOptions()
	if err != nil {
		return nil, nil, fmt.Errorf("ort: creating session options: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			so.Destroy()
		}
	}()
	if err := so.SetGraphOptimizationLevel(c.level); err != nil {
		return nil, nil, fmt.Errorf("ort: setting graph optimization level: %w", err)
	}
	if c.threads > 0 {
		if err := so.SetIntraOpNumThreads(c.threads); err != nil {
			return nil, nil, fmt.Errorf("ort: setting %d intra-op threads: %w", c.threads, err)
		}
	}
	if c.noSpin {
		if err := so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
			return nil, nil, fmt.Errorf("ort: turning intra-op spinning off: %w", err)
		}
	}
	if c.profile != "" {
		if err := so.EnableProfiling(c.profile); err != nil {
			return nil, nil, fmt.Errorf("ort: enabling the profiler: %w", err)
		}
	}
	for _, lib := range c.customOps {
		if err := so.RegisterCustomOpsLibrary(lib); err != nil {
			return nil, nil, fmt.Errorf("ort: registering custom-op library %s: %w", lib, err)
		}
	}
	if ep != EPCPU {
		if err := appendProvider(so, ep, c.device); err != nil {
			return nil, nil, newProviderError(ep, c.libDir, c.version, "append", err)
		}
	}
	var sess *onnxruntime.DynamicAdvancedSession
	if c.path != "" {
		sess, err = onnxruntime.NewDynamicAdvancedSession(c.path, c.inNames, c.outNames, so)
	} else {
		sess, err = onnxruntime.NewDynamicAdvancedSessionWithONNXData(c.data, c.inNames, c.outNames, so)
	}
	if err != nil {
		if ep != EPCPU {
			return nil, nil, fmt.Errorf("ort: %s: creating the session with the %s execution provider failed (%s): %w",
				c.label, epLabel(ep), DoctorHint, err)
		}
		return nil, nil, fmt.Errorf("ort: %s: ONNX Runtime cannot load the model: %w", c.label, err)
	}
	ok = true
	return sess, so, nil
}

// graphIO reads the graph's inputs (those not fed by an initializer, as ONNX
// Runtime counts them) and outputs from the serialized model. It is read from
// the model rather than from a temporary ONNX Runtime session because that
// costs a second session load, cannot see custom-op registrations, and does
// not report symbolic dimension names.
func graphIO(data []byte) (inputs, outputs []runtime.TensorInfo, err error) {
	if len(data) == 0 {
		return nil, nil, errors.New("empty file: not an ONNX model")
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(data, &m); err != nil {
		return nil, nil, fmt.Errorf("not a valid ONNX model (protobuf decoding failed: %v)", err)
	}
	g := m.GetGraph()
	if g == nil || len(g.GetNode()) == 0 && len(g.GetOutput()) == 0 {
		return nil, nil, errors.New("not an ONNX model: it has no graph")
	}
	inits := make(map[string]bool, len(g.GetInitializer()))
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = true
	}
	for _, vi := range g.GetInput() {
		if inits[vi.GetName()] {
			continue
		}
		inputs = append(inputs, runtime.InfoFromValueInfo(vi))
	}
	for _, vi := range g.GetOutput() {
		outputs = append(outputs, runtime.InfoFromValueInfo(vi))
	}
	if len(inputs) == 0 {
		return nil, nil, errors.New("the graph has no inputs; the ONNX Runtime engine needs at least one")
	}
	if len(outputs) == 0 {
		return nil, nil, errors.New("the graph has no outputs")
	}
	return inputs, outputs, nil
}

// Name returns "ort/cpu", "ort/cuda" or "ort/tensorrt": the execution
// provider the session was created with.
func (e *Engine) Name() string { return e.name }

// Provider returns the execution provider obtained: "cpu", "cuda" or
// "tensorrt".
func (e *Engine) Provider() string { return e.ep }

// Fallback is one execution provider that Open tried and could not use
// before the next candidate (EP "auto": TensorRT, then CUDA, then the CPU).
type Fallback struct {
	EP     string `json:"ep"`     // the provider that failed: "tensorrt", "cuda"
	Reason string `json:"reason"` // why, in one line
	Next   string `json:"next"`   // the provider tried next
}

// String says what failed and why: "CUDA execution provider unavailable
// (libcudart.so.13 not found)".
func (f Fallback) String() string {
	return fmt.Sprintf("%s execution provider unavailable (%s)", epLabel(f.EP), f.Reason)
}

// Fallbacks returns the providers tried and given up before the one
// obtained (see Provider), in order; empty when the first candidate worked.
func (e *Engine) Fallbacks() []Fallback { return append([]Fallback(nil), e.fallbacks...) }

// Version returns the ONNX Runtime version of the loaded library.
func (e *Engine) Version() string { return e.version }

// Inputs describes the graph inputs a Run must feed, in graph order. Graph
// inputs backed by an initializer are not listed, as ONNX Runtime does not
// ask for them. Dims is nil when the model leaves the rank unknown and empty
// for a scalar.
func (e *Engine) Inputs() []runtime.TensorInfo { return cloneInfos(e.inputs) }

// Outputs describes the graph outputs, in graph order.
func (e *Engine) Outputs() []runtime.TensorInfo { return cloneInfos(e.outputs) }

func cloneInfos(in []runtime.TensorInfo) []runtime.TensorInfo {
	out := make([]runtime.TensorInfo, len(in))
	for i, t := range in {
		out[i] = runtime.TensorInfo{Name: t.Name, DType: t.DType}
		// Keep nil (rank unknown) apart from empty (a scalar).
		if t.Dims != nil {
			out[i].Dims = append([]int64{}, t.Dims...)
			out[i].DimNames = append([]string{}, t.DimNames...)
		}
	}
	return out
}

// Close releases the session. It waits for running Runs and is safe to call
// more than once.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.session == nil {
		return nil
	}
	err := e.session.Destroy()
	e.session = nil
	if e.options != nil {
		if err2 := e.options.Destroy(); err == nil {
			err = err2
		}
		e.options = nil
	}
	if err != nil {
		return fmt.Errorf("ort: closing %s: %w", e.label, err)
	}
	return nil
}

// Run feeds every graph input and returns the requested graph outputs (all
// of them when outputs is nil). ONNX Runtime computes every graph output of
// the session on each call; unrequested ones are dropped. Cancelling ctx
// stops a running inference. float32 and int64 input storage is handed to
// ONNX Runtime without a copy: do not modify it while Run is in progress.
func (e *Engine) Run(ctx context.Context, inputs map[string]*tensor.Tensor, outputs []string) (map[string]*tensor.Tensor, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("ort: run not started: %w", err)
	}
	want, err := e.wantedOutputs(outputs)
	if err != nil {
		return nil, err
	}
	if err := e.checkInputs(inputs); err != nil {
		return nil, err
	}

	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.session == nil {
		return nil, fmt.Errorf("ort: %s: engine is closed", e.label)
	}

	inVals := make([]onnxruntime.Value, len(e.inputs))
	outVals := make([]onnxruntime.Value, len(e.outputs))
	defer func() {
		e.release(inVals)
		e.release(outVals)
	}()
	for i, info := range e.inputs {
		v, err := toValue(info, inputs[info.Name])
		if err != nil {
			return nil, fmt.Errorf("ort: %s: input %q: %w", e.label, info.Name, err)
		}
		inVals[i] = v
		e.live.Add(1)
	}
	runErr := e.runOnce(ctx, inVals, outVals)
	if runErr != nil && e.learnScalars(outVals) {
		// An undeclared output came back rank 0, which onnxruntime_go
		// cannot wrap; run again with it preallocated as a scalar.
		e.release(outVals)
		runErr = e.runOnce(ctx, inVals, outVals)
	}
	if runErr != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("ort: %s: run cancelled: %w", e.label, ctxErr)
		}
		return nil, fmt.Errorf("ort: %s: %w", e.label, runErr)
	}

	result := make(map[string]*tensor.Tensor, len(want))
	for _, i := range want {
		info := e.outputs[i]
		t, err := fromValue(outVals[i])
		if err != nil {
			return nil, fmt.Errorf("ort: %s: output %q: %w", e.label, info.Name, err)
		}
		result[info.Name] = t
	}
	return result, nil
}

// runOnce runs the session once into outVals (all nil on entry),
// preallocating the scalar outputs: onnxruntime_go cannot wrap a rank-0
// output that ONNX Runtime allocates.
func (e *Engine) runOnce(ctx context.Context, inVals, outVals []onnxruntime.Value) error {
	for i, info := range e.outputs {
		if (info.Dims != nil && len(info.Dims) == 0) || e.scalarSeen[i].Load() {
			v, err := newScalar(info.DType)
			if err != nil {
				return fmt.Errorf("output %q: %w", info.Name, err)
			}
			outVals[i] = v
			e.live.Add(1)
		}
	}
	preallocated := make([]bool, len(outVals))
	for i, v := range outVals {
		preallocated[i] = v != nil
	}

	var runOpts *onnxruntime.RunOptions
	var watcher sync.WaitGroup
	stop := make(chan struct{})
	if ctx.Done() != nil {
		var err error
		if runOpts, err = onnxruntime.NewRunOptions(); err != nil {
			return fmt.Errorf("creating run options: %w", err)
		}
		defer runOpts.Destroy()
		watcher.Add(1)
		go func() {
			defer watcher.Done()
			select {
			case <-ctx.Done():
				runOpts.Terminate()
			case <-stop:
			}
		}()
	}
	runErr := e.session.RunWithOptions(inVals, outVals, runOpts)
	close(stop)
	watcher.Wait()
	for i, v := range outVals {
		if v != nil && !preallocated[i] {
			if isNilValue(v) {
				// onnxruntime_go failed to wrap it and kept a typed nil.
				continue
			}
			e.live.Add(1)
		}
	}
	return runErr
}

// learnScalars marks the undeclared outputs that onnxruntime_go failed to
// wrap (it leaves a typed nil) as scalars, and tells whether it found any.
// A rank-0 tensor is the one ONNX Runtime output it cannot wrap.
func (e *Engine) learnScalars(outVals []onnxruntime.Value) bool {
	found := false
	for i, v := range outVals {
		if v != nil && isNilValue(v) && e.outputs[i].Dims == nil && !e.scalarSeen[i].Load() {
			e.scalarSeen[i].Store(true)
			found = true
		}
	}
	return found
}

// isNilValue reports whether v holds a nil pointer.
func isNilValue(v onnxruntime.Value) bool {
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// release destroys the ONNX Runtime values of one Run.
func (e *Engine) release(vals []onnxruntime.Value) {
	for i, v := range vals {
		if v != nil && !isNilValue(v) {
			v.Destroy()
			e.live.Add(-1)
		}
		vals[i] = nil
	}
}

// wantedOutputs maps requested output names to output indices.
func (e *Engine) wantedOutputs(names []string) ([]int, error) {
	if names == nil {
		idx := make([]int, len(e.outputs))
		for i := range idx {
			idx[i] = i
		}
		return idx, nil
	}
	seen := make(map[int]bool, len(names))
	var idx []int
	for _, n := range names {
		i, ok := e.outIndex[n]
		if !ok {
			return nil, fmt.Errorf("ort: %s: %q is not a graph output (outputs: %s)", e.label, n, infoNames(e.outputs))
		}
		if !seen[i] {
			seen[i] = true
			idx = append(idx, i)
		}
	}
	return idx, nil
}

// checkInputs verifies names, element types and fixed dimensions.
func (e *Engine) checkInputs(inputs map[string]*tensor.Tensor) error {
	var unknown []string
	for name := range inputs {
		if _, ok := e.inIndex[name]; !ok {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("ort: %s: %q is not a graph input (inputs: %s)", e.label, unknown[0], infoNames(e.inputs))
	}
	for _, info := range e.inputs {
		t, ok := inputs[info.Name]
		if !ok || t == nil {
			return fmt.Errorf("ort: %s: input %q is missing (inputs: %s)", e.label, info.Name, infoNames(e.inputs))
		}
		if err := t.Validate(); err != nil {
			return fmt.Errorf("ort: %s: input %q: %w", e.label, info.Name, err)
		}
		if info.Dims == nil {
			continue
		}
		if len(t.Shape) != len(info.Dims) {
			return fmt.Errorf("ort: %s: input %q has shape %v (rank %d); the model needs rank %d %s",
				e.label, info.Name, t.Shape, len(t.Shape), len(info.Dims), dimsString(info))
		}
		for d, want := range info.Dims {
			if want >= 0 && int64(t.Shape[d]) != want {
				return fmt.Errorf("ort: %s: input %q has shape %v; the model needs %s (dimension %d must be %d)",
					e.label, info.Name, t.Shape, dimsString(info), d, want)
			}
		}
	}
	return nil
}

func infoNames(infos []runtime.TensorInfo) string {
	names := make([]string, len(infos))
	for i, in := range infos {
		names[i] = fmt.Sprintf("%q", in.Name)
	}
	return strings.Join(names, ", ")
}

func dimsString(info runtime.TensorInfo) string {
	parts := make([]string, len(info.Dims))
	for i, d := range info.Dims {
		switch {
		case d >= 0:
			parts[i] = fmt.Sprint(d)
		case i < len(info.DimNames) && info.DimNames[i] != "":
			parts[i] = info.DimNames[i]
		default:
			parts[i] = "?"
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// toValue wraps a host tensor as an ONNX Runtime value of the element type
// the model declares. float32 and int64 data are shared, not copied.
func toValue(info runtime.TensorInfo, t *tensor.Tensor) (onnxruntime.Value, error) {
	shape := make(onnxruntime.Shape, len(t.Shape))
	for i, d := range t.Shape {
		shape[i] = int64(d)
	}
	need := func(dt tensor.DType) error {
		if t.DType != dt {
			return fmt.Errorf("the model declares %s, which is fed as a %v tensor; got %v", onnxTypeName(info.DType), dt, t.DType)
		}
		return nil
	}
	switch info.DType {
	case onnxFloat:
		if err := need(tensor.Float32); err != nil {
			return nil, err
		}
		return newValue(shape, t.F32)
	case onnxDouble:
		if err := need(tensor.Float32); err != nil {
			return nil, err
		}
		d := make([]float64, len(t.F32))
		for i, v := range t.F32 {
			d[i] = float64(v)
		}
		return newValue(shape, d)
	case onnxInt64:
		if err := need(tensor.Int64); err != nil {
			return nil, err
		}
		return newValue(shape, t.I64)
	case onnxInt32:
		if err := need(tensor.Int64); err != nil {
			return nil, err
		}
		d := make([]int32, len(t.I64))
		for i, v := range t.I64 {
			if v < math.MinInt32 || v > math.MaxInt32 {
				return nil, fmt.Errorf("element %d (%d) does not fit the model's int32", i, v)
			}
			d[i] = int32(v)
		}
		return newValue(shape, d)
	}
	return nil, fmt.Errorf("the model declares %s; this engine runs float32, float64, int32 and int64 inputs only", onnxTypeName(info.DType))
}

func newValue[T onnxruntime.TensorData](shape onnxruntime.Shape, data []T) (onnxruntime.Value, error) {
	if len(shape) == 0 {
		return onnxruntime.NewScalar(data[0])
	}
	return onnxruntime.NewTensor(shape, data)
}

func newScalar(dt tensor.DType) (onnxruntime.Value, error) {
	switch dt {
	case onnxFloat:
		return onnxruntime.NewEmptyScalar[float32]()
	case onnxDouble:
		return onnxruntime.NewEmptyScalar[float64]()
	case onnxInt64:
		return onnxruntime.NewEmptyScalar[int64]()
	case onnxInt32:
		return onnxruntime.NewEmptyScalar[int32]()
	}
	return nil, fmt.Errorf("the model declares a %s scalar; this engine returns float32, float64, int32 and int64 only", onnxTypeName(dt))
}

// fromValue copies an ONNX Runtime value into a host tensor the caller owns.
func fromValue(v onnxruntime.Value) (*tensor.Tensor, error) {
	shape := make([]int, len(v.GetShape()))
	for i, d := range v.GetShape() {
		shape[i] = int(d)
	}
	switch x := v.(type) {
	case *onnxruntime.Tensor[float32]:
		// onnxruntime_go already copied ORT's buffer into this Go slice;
		// it stays valid after the value is destroyed.
		return tensor.NewFloat32(shape, x.GetData()), nil
	case *onnxruntime.Tensor[float64]:
		return tensor.NewFloat32(shape, narrow(x.GetData())), nil
	case *onnxruntime.Tensor[int64]:
		return tensor.NewInt64(shape, x.GetData()), nil
	case *onnxruntime.Tensor[int32]:
		return tensor.NewInt64(shape, widen(x.GetData())), nil
	case *onnxruntime.Scalar[float32]:
		return tensor.NewFloat32(nil, []float32{x.GetData()}), nil
	case *onnxruntime.Scalar[float64]:
		return tensor.NewFloat32(nil, []float32{float32(x.GetData())}), nil
	case *onnxruntime.Scalar[int64]:
		return tensor.NewInt64(nil, []int64{x.GetData()}), nil
	case *onnxruntime.Scalar[int32]:
		return tensor.NewInt64(nil, []int64{int64(x.GetData())}), nil
	}
	return nil, fmt.Errorf("ONNX Runtime returned a %v value of element type %v; this engine returns float32, float64, int32 and int64 tensors only",
		v.GetONNXType(), onnxruntime.TensorElementDataType(v.DataType()))
}

func narrow(d []float64) []float32 {
	out := make([]float32, len(d))
	for i, v := range d {
		out[i] = float32(v)
	}
	return out
}

func widen(d []int32) []int64 {
	out := make([]int64, len(d))
	for i, v := range d {
		out[i] = int64(v)
	}
	return out
}

func onnxTypeName(dt tensor.DType) string {
	if name, ok := onnxpb.TensorProto_DataType_name[int32(dt)]; ok && dt != 0 {
		return strings.ToLower(name)
	}
	if dt == 0 {
		return "no element type"
	}
	return fmt.Sprintf("element type %d", int32(dt))
}
