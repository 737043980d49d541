package ort

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	onnxruntime "github.com/yalue/onnxruntime_go"
	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/runtime"
	"github.com/wtonnx/wtonnx/tensor"
)

// Every ONNX backend conformance case runs on ONNX Runtime's CPU provider
// and matches the outputs recorded with it.
func TestConformance(t *testing.T) {
	lib := testLibrary(t)
	for _, name := range conformanceCases(t) {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(conformanceDir, name)
			path := filepath.Join(dir, "model.onnx")
			e, err := OpenFile(path, Options{LibraryPath: lib})
			if err != nil {
				// ONNX Runtime 1.30 no longer implements some opset-6
				// kernels: that must be the reason, and the model must
				// run once moved to opset 7.
				if !strings.Contains(err.Error(), "Could not find an implementation") {
					t.Fatal(err)
				}
				m, err2 := onnxmodel.Load(path)
				if err2 != nil {
					t.Fatal(err2)
				}
				if err2 := upgradeToOpset7(m); err2 != nil {
					t.Fatalf("%v; upgrading to opset 7: %v", err, err2)
				}
				data, err2 := proto.Marshal(m)
				if err2 != nil {
					t.Fatal(err2)
				}
				t.Logf("opset 6 is not supported by ONNX Runtime %s (%v); running it at opset 7", onnxruntime.GetVersion(), firstLine(err))
				e = openBytes(t, data, Options{LibraryPath: lib})
			} else {
				t.Cleanup(func() { e.Close() })
				checkInfoAgainstORT(t, path, e)
			}
			if e.Name() != "ort/cpu" {
				t.Errorf("Name() = %q, want ort/cpu", e.Name())
			}

			ins, outs := e.Inputs(), e.Outputs()
			inFiles, outFiles := pbFiles(t, dir, "input"), pbFiles(t, dir, "output")
			if len(inFiles) != len(ins) || len(outFiles) != len(outs) {
				t.Fatalf("%d input and %d output files for a model with %d inputs and %d outputs",
					len(inFiles), len(outFiles), len(ins), len(outs))
			}
			feed := map[string]*tensor.Tensor{}
			for i, f := range inFiles {
				_, x := readPB(t, f)
				feed[ins[i].Name] = x
			}
			got, err := e.Run(context.Background(), feed, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(outs) {
				t.Fatalf("Run returned %d outputs, want %d", len(got), len(outs))
			}
			for i, f := range outFiles {
				_, want := readPB(t, f)
				if err := closeTo(got[outs[i].Name], want, 1e-5, 1e-6); err != nil {
					t.Errorf("output %q: %v", outs[i].Name, err)
				}
			}
			if n := e.live.Load(); n != 0 {
				t.Errorf("%d ONNX Runtime values alive after Run", n)
			}
		})
	}
}

// checkInfoAgainstORT compares Inputs/Outputs (read from the model) with what
// ONNX Runtime itself reports for the model.
func checkInfoAgainstORT(t *testing.T, path string, e *Engine) {
	t.Helper()
	ins, outs, err := onnxruntime.GetInputOutputInfo(path)
	if err != nil {
		t.Fatal(err)
	}
	cmp := func(kind string, mine []runtime.TensorInfo, theirs []onnxruntime.InputOutputInfo) {
		if len(mine) != len(theirs) {
			t.Fatalf("%d %ss, ONNX Runtime reports %d", len(mine), kind, len(theirs))
		}
		for i, o := range theirs {
			m := mine[i]
			if m.Name != o.Name || int(m.DType) != int(o.DataType) || !reflect.DeepEqual(m.Dims, []int64(o.Dimensions)) {
				t.Errorf("%s %d: %+v, ONNX Runtime reports %s", kind, i, m, o.String())
			}
		}
	}
	cmp("input", e.Inputs(), ins)
	cmp("output", e.Outputs(), outs)
}

// The official reference cases' source models (a plain depthwise Conv) run on
// x.npy and match a direct convolution computed here.
func TestReferenceSourceModels(t *testing.T) {
	lib := testLibrary(t)
	dirs, err := filepath.Glob(filepath.Join(referenceDir, "*", "source.onnx"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no reference cases under %s (%v)", referenceDir, err)
	}
	for _, src := range dirs {
		dir := filepath.Dir(src)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var cs struct {
				YShape []int `json:"y_shape"`
			}
			raw, err := os.ReadFile(filepath.Join(dir, "case.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &cs); err != nil {
				t.Fatal(err)
			}
			x, err := tensor.ReadNPY(filepath.Join(dir, "x.npy"))
			if err != nil {
				t.Fatal(err)
			}
			e := openFile(t, src, Options{LibraryPath: lib})
			in := e.Inputs()[0].Name
			out := e.Outputs()[0].Name
			got, err := e.Run(context.Background(), map[string]*tensor.Tensor{in: x}, []string{out})
			if err != nil {
				t.Fatal(err)
			}
			y := got[out]
			if !tensor.SameShape(y.Shape, cs.YShape) {
				t.Fatalf("output shape %v, case.json y_shape %v", y.Shape, cs.YShape)
			}
			d := loadDepthwise(t, src)
			if err := closeTo(y, depthwiseConv(x, d.w, d.b, d.k, d.pad, d.str), 1e-5, 1e-5); err != nil {
				t.Errorf("against direct convolution: %v", err)
			}
		})
	}
}

// A model whose N, H and W are symbolic runs at two spatial sizes.
func TestDynamicShapes(t *testing.T) {
	src := filepath.Join(referenceDir, "basic_c4_k3_l1", "source.onnx")
	d := loadDepthwise(t, src)
	g := d.model.GetGraph()
	for _, vi := range []*onnxpb.ValueInfoProto{g.GetInput()[0], g.GetOutput()[0]} {
		dims := vi.GetType().GetTensorType().GetShape().GetDim()
		dims[0], dims[2], dims[3] = dim("N"), dim("H"), dim("W")
	}
	data, err := proto.Marshal(d.model)
	if err != nil {
		t.Fatal(err)
	}
	e := openBytes(t, data, Options{})
	info := e.Inputs()[0]
	if !reflect.DeepEqual(info.Dims, []int64{-1, 4, -1, -1}) || !reflect.DeepEqual(info.DimNames, []string{"N", "", "H", "W"}) {
		t.Fatalf("input info %+v, want dims [-1 4 -1 -1] named [N '' H W]", info)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, shape := range [][]int{{1, 4, 16, 16}, {2, 4, 9, 23}} {
		x := randomFloat32(r, shape...)
		got, err := e.Run(context.Background(), map[string]*tensor.Tensor{info.Name: x}, nil)
		if err != nil {
			t.Fatalf("shape %v: %v", shape, err)
		}
		y := got[e.Outputs()[0].Name]
		if err := closeTo(y, depthwiseConv(x, d.w, d.b, d.k, d.pad, d.str), 1e-5, 1e-5); err != nil {
			t.Errorf("shape %v: %v", shape, err)
		}
	}
	_, err = e.Run(context.Background(), map[string]*tensor.Tensor{info.Name: tensor.NewFloat32([]int{1, 3, 8, 8}, nil)}, nil)
	if err == nil || !strings.Contains(err.Error(), "dimension 1 must be 4") || !strings.Contains(err.Error(), "[N 4 H W]") {
		t.Errorf("3 channels into a 4-channel model: err = %v", err)
	}
}

// typesModel has float, double, int64 and scalar int32 inputs and outputs.
func typesModel(t testing.TB) []byte {
	return model(t, &onnxpb.GraphProto{
		Node: []*onnxpb.NodeProto{
			node("Relu", []string{"xf"}, []string{"relu"}),
			node("Neg", []string{"xd"}, []string{"negd"}),
			node("Neg", []string{"xi"}, []string{"negi"}),
			node("Identity", []string{"xs"}, []string{"s32"}),
		},
		Input: []*onnxpb.ValueInfoProto{
			valueInfo("xf", onnxpb.TensorProto_FLOAT, 2, 3),
			valueInfo("xd", onnxpb.TensorProto_DOUBLE, "n"),
			valueInfo("xi", onnxpb.TensorProto_INT64, 2),
			valueInfo("xs", onnxpb.TensorProto_INT32),
		},
		Output: []*onnxpb.ValueInfoProto{
			valueInfo("relu", onnxpb.TensorProto_FLOAT, 2, 3),
			valueInfo("negd", onnxpb.TensorProto_DOUBLE, "n"),
			valueInfo("negi", onnxpb.TensorProto_INT64, 2),
			valueInfo("s32", onnxpb.TensorProto_INT32),
		},
	})
}

func typesFeed() map[string]*tensor.Tensor {
	return map[string]*tensor.Tensor{
		"xf": tensor.NewFloat32([]int{2, 3}, []float32{-1, 2, -3, 4, -5, 6}),
		"xd": tensor.NewFloat32([]int{3}, []float32{0.5, -1.25, 1e-8}),
		"xi": tensor.NewInt64([]int{2}, []int64{1 << 40, -7}),
		"xs": tensor.NewInt64(nil, []int64{-123456}),
	}
}

// Element types other than float32/int64 are converted at the edge, scalars
// work, and requested outputs select what Run returns.
func TestTypesScalarsAndOutputSelection(t *testing.T) {
	e := openBytes(t, typesModel(t), Options{})
	if ins := e.Inputs(); ins[1].DType != onnxDouble || ins[3].DType != onnxInt32 || ins[3].Dims == nil || len(ins[3].Dims) != 0 {
		t.Fatalf("inputs %+v", ins)
	}
	got, err := e.Run(context.Background(), typesFeed(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*tensor.Tensor{
		"relu": tensor.NewFloat32([]int{2, 3}, []float32{0, 2, 0, 4, 0, 6}),
		"negd": tensor.NewFloat32([]int{3}, []float32{-0.5, 1.25, -1e-8}),
		"negi": tensor.NewInt64([]int{2}, []int64{-(1 << 40), 7}),
		"s32":  tensor.NewInt64(nil, []int64{-123456}),
	}
	if len(got) != len(want) {
		t.Fatalf("got %d outputs, want %d", len(got), len(want))
	}
	for name, w := range want {
		if err := closeTo(got[name], w, 0, 0); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}

	got, err = e.Run(context.Background(), typesFeed(), []string{"negi", "s32", "negi"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["negi"] == nil || got["s32"] == nil {
		t.Errorf("requesting negi and s32 returned %v", keys(got))
	}

	feed := typesFeed()
	feed["xs"] = tensor.NewInt64(nil, []int64{1 << 40})
	if _, err := e.Run(context.Background(), feed, nil); err == nil || !strings.Contains(err.Error(), `input "xs"`) || !strings.Contains(err.Error(), "int32") {
		t.Errorf("int32 overflow: err = %v", err)
	}
	if n := e.live.Load(); n != 0 {
		t.Errorf("%d ONNX Runtime values alive after failed Run", n)
	}
}

func keys(m map[string]*tensor.Tensor) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}

// Bad inputs and outputs are refused with errors naming the tensor, and no
// ONNX Runtime value outlives a failed Run.
func TestRunErrors(t *testing.T) {
	e := openBytes(t, typesModel(t), Options{})
	ctx := context.Background()
	cases := []struct {
		name    string
		edit    func(map[string]*tensor.Tensor)
		outputs []string
		want    []string
	}{
		{"missing input", func(f map[string]*tensor.Tensor) { delete(f, "xd") }, nil, []string{`input "xd" is missing`}},
		{"unknown input", func(f map[string]*tensor.Tensor) { f["nope"] = f["xf"] }, nil, []string{`"nope" is not a graph input`, `"xf"`}},
		{"wrong dtype", func(f map[string]*tensor.Tensor) { f["xi"] = tensor.NewFloat32([]int{2}, nil) }, nil, []string{`input "xi"`, "int64"}},
		{"wrong dtype after a good input", func(f map[string]*tensor.Tensor) { f["xs"] = tensor.NewFloat32(nil, []float32{1}) }, nil, []string{`input "xs"`}},
		{"wrong rank", func(f map[string]*tensor.Tensor) { f["xf"] = tensor.NewFloat32([]int{6}, nil) }, nil, []string{`input "xf"`, "rank 2"}},
		{"wrong dim", func(f map[string]*tensor.Tensor) { f["xf"] = tensor.NewFloat32([]int{2, 4}, nil) }, nil, []string{`input "xf"`, "dimension 1 must be 3"}},
		{"short data", func(f map[string]*tensor.Tensor) {
			f["xf"] = &tensor.Tensor{DType: tensor.Float32, Shape: []int{2, 3}, F32: make([]float32, 5)}
		}, nil, []string{`input "xf"`, "needs 6"}},
		{"unknown output", func(map[string]*tensor.Tensor) {}, []string{"relu", "zzz"}, []string{`"zzz" is not a graph output`}},
	}
	for _, c := range cases {
		f := typesFeed()
		c.edit(f)
		_, err := e.Run(ctx, f, c.outputs)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
	}
	if n := e.live.Load(); n != 0 {
		t.Errorf("%d ONNX Runtime values alive after failed Runs", n)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := e.Run(cancelled, typesFeed(), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v", err)
	}
	// A live cancellable context goes through RunOptions and still works.
	live, stop := context.WithCancel(ctx)
	defer stop()
	if _, err := e.Run(live, typesFeed(), nil); err != nil {
		t.Errorf("cancellable context: %v", err)
	}

	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := e.Run(ctx, typesFeed(), nil); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Run after Close: err = %v", err)
	}
}

// Garbage, empty and unloadable models give clear errors.
func TestBadModels(t *testing.T) {
	lib := testLibrary(t)
	r := rand.New(rand.NewPCG(3, 4))
	garbage := make([]byte, 4096)
	for i := range garbage {
		garbage[i] = byte(r.Uint32())
	}
	unknownOp := model(t, &onnxpb.GraphProto{
		Node:   []*onnxpb.NodeProto{node("NoSuchOperator", []string{"x"}, []string{"y"})},
		Input:  []*onnxpb.ValueInfoProto{valueInfo("x", onnxpb.TensorProto_FLOAT, 1)},
		Output: []*onnxpb.ValueInfoProto{valueInfo("y", onnxpb.TensorProto_FLOAT, 1)},
	})
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"garbage", garbage, "not a valid ONNX model"},
		{"text", []byte("this is not an onnx model\n"), "not"},
		{"empty", nil, "empty"},
		{"unknown operator", unknownOp, "ONNX Runtime cannot load the model"},
	} {
		e, err := Open(c.data, Options{LibraryPath: lib})
		if err == nil {
			e.Close()
			t.Errorf("%s: Open succeeded", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not mention %q", c.name, err, c.want)
		}
	}

	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.onnx")
	if err := os.WriteFile(bad, garbage, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFile(bad, Options{LibraryPath: lib}); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("garbage file: err = %v, want it to name %s", err, bad)
	}
	missing := filepath.Join(dir, "missing.onnx")
	if _, err := OpenFile(missing, Options{LibraryPath: lib}); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: err = %v", err)
	}
}

func TestBadOptions(t *testing.T) {
	lib := testLibrary(t)
	path := filepath.Join(conformanceDir, "test_ReLU", "model.onnx")
	notLib := filepath.Join(t.TempDir(), "libnotops.so")
	if err := os.WriteFile(notLib, []byte("not a shared library"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		opts Options
		want string
	}{
		{Options{EP: "rocm"}, `unknown execution provider "rocm"`},
		{Options{GraphOptLevel: "max"}, `unknown graph optimization level "max"`},
		{Options{IntraOpThreads: -1}, "negative"},
		{Options{CustomOpLibraries: []string{"/nonexistent/libops.so"}}, "/nonexistent/libops.so"},
		{Options{CustomOpLibraries: []string{notLib}}, notLib},
	} {
		c.opts.LibraryPath = lib
		e, err := OpenFile(path, c.opts)
		if err == nil {
			e.Close()
			t.Errorf("%+v: Open succeeded", c.opts)
		} else if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %q does not mention %q", c.opts, err, c.want)
		}
	}
	opts := map[string]Options{}
	for _, level := range []string{"disable", "basic", "extended", "all"} {
		opts["level "+level] = Options{LibraryPath: lib, GraphOptLevel: level, IntraOpThreads: 1}
	}
	// A session with the spinning switch opens and runs.
	opts["2 threads, no spinning"] = Options{LibraryPath: lib, IntraOpThreads: 2, NoSpinning: true}
	for name, o := range opts {
		e := openFile(t, path, o)
		x := tensor.NewFloat32([]int{2, 3, 4, 5}, nil)
		x.F32[0] = -1
		x.F32[1] = 2
		got, err := e.Run(context.Background(), map[string]*tensor.Tensor{e.Inputs()[0].Name: x}, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if y := got[e.Outputs()[0].Name]; y.F32[0] != 0 || y.F32[1] != 2 {
			t.Errorf("%s: Relu gave %v", name, y.F32[:2])
		}
	}
}

// providersPresent reports whether ep's provider libraries sit beside lib.
func providersPresent(lib, ep string) bool {
	return len(missingProviderLibraries(ep, filepath.Dir(lib))) == 0
}

// Requesting a GPU provider that cannot load fails and names the missing
// provider library and where to get it.
func TestExplicitGPUProviderFails(t *testing.T) {
	lib := testLibrary(t)
	path := filepath.Join(conformanceDir, "test_Conv2d", "model.onnx")
	for _, c := range []struct{ ep, file string }{{EPCUDA, providersCUDA}, {EPTensorRT, providersTensorRT}} {
		e, err := OpenFile(path, Options{LibraryPath: lib, EP: c.ep})
		if providersPresent(lib, c.ep) {
			// A machine with GPU providers installed: either they work or
			// the error names the provider.
			if err == nil {
				if e.Name() != "ort/"+c.ep {
					t.Errorf("%s: Name() = %q", c.ep, e.Name())
				}
				e.Close()
			} else if !strings.Contains(err.Error(), epLabel(c.ep)) {
				t.Errorf("%s: error %q does not name the provider", c.ep, err)
			}
			continue
		}
		if err == nil {
			e.Close()
			t.Fatalf("%s: Open succeeded without %s", c.ep, c.file)
		}
		for _, w := range []string{c.file, filepath.Dir(lib), "make setup-gpu", "wtonnx doctor", epLabel(c.ep) + " execution provider"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.ep, err, w)
			}
		}
		var pe *providerError
		if !errors.As(err, &pe) {
			t.Errorf("%s: error is %T, want *providerError", c.ep, err)
		}
	}
}

// "auto" falls back to the CPU with one note per unavailable provider, and
// computes the same result as an explicit CPU session.
func TestAutoFallsBackToCPU(t *testing.T) {
	lib := testLibrary(t)
	if providersPresent(lib, EPCUDA) {
		t.Logf("GPU provider libraries are installed beside %s; checking notes only for what failed", lib)
	}
	dir := filepath.Join(conformanceDir, "test_Conv2d_depthwise")
	var mu sync.Mutex
	var notes []string
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		notes = append(notes, fmt.Sprintf(format, args...))
	}
	e := openFile(t, filepath.Join(dir, "model.onnx"), Options{LibraryPath: lib, EP: "auto", Logf: logf})
	switch e.Name() {
	case "ort/cpu":
		if len(notes) != 2 || !strings.Contains(notes[0], "TensorRT") || !strings.Contains(notes[0], "trying CUDA") ||
			!strings.Contains(notes[1], "CUDA") || !strings.Contains(notes[1], "trying CPU") {
			t.Errorf("notes %q: want a TensorRT then a CUDA fallback note", notes)
		}
		if !providersPresent(lib, EPCUDA) {
			for _, n := range notes {
				if !strings.Contains(n, providersShared) || strings.Contains(n, "\n") {
					t.Errorf("note %q should be one line naming %s", n, providersShared)
				}
			}
		}
	case "ort/cuda":
		if len(notes) != 1 {
			t.Errorf("got CUDA with notes %q", notes)
		}
	case "ort/tensorrt":
		if len(notes) != 0 {
			t.Errorf("got TensorRT with notes %q", notes)
		}
	default:
		t.Fatalf("Name() = %q", e.Name())
	}
	if e.Provider() != strings.TrimPrefix(e.Name(), "ort/") {
		t.Errorf("Provider() = %q, Name() = %q", e.Provider(), e.Name())
	}
	_, x := readPB(t, filepath.Join(dir, "test_data_set_0", "input_0.pb"))
	_, want := readPB(t, filepath.Join(dir, "test_data_set_0", "output_0.pb"))
	got, err := e.Run(context.Background(), map[string]*tensor.Tensor{e.Inputs()[0].Name: x}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := closeTo(got[e.Outputs()[0].Name], want, 1e-5, 1e-6); err != nil {
		t.Error(err)
	}
}

// Eight goroutines running one engine get exactly what sequential runs get.
func TestConcurrentRunMatchesSequential(t *testing.T) {
	e := openFile(t, filepath.Join(conformanceDir, "test_operator_conv", "model.onnx"), Options{})
	in, out := e.Inputs()[0].Name, e.Outputs()[0].Name
	const workers, perWorker = 8, 3
	r := rand.New(rand.NewPCG(5, 6))
	xs := make([]*tensor.Tensor, workers*perWorker)
	want := make([]*tensor.Tensor, len(xs))
	for i := range xs {
		xs[i] = randomFloat32(r, 20, 16, 50, 40)
		got, err := e.Run(context.Background(), map[string]*tensor.Tensor{in: xs[i]}, nil)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = got[out]
	}
	got := make([]*tensor.Tensor, len(xs))
	errs := make([]error, len(xs))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for j := 0; j < perWorker; j++ {
				i := w*perWorker + j
				res, err := e.Run(context.Background(), map[string]*tensor.Tensor{in: xs[i]}, nil)
				errs[i] = err
				if err == nil {
					got[i] = res[out]
				}
			}
		}(w)
	}
	wg.Wait()
	for i := range xs {
		if errs[i] != nil {
			t.Fatalf("run %d: %v", i, errs[i])
		}
		if err := closeTo(got[i], want[i], 0, 0); err != nil {
			t.Errorf("run %d: concurrent result differs from sequential: %v", i, err)
		}
	}
	if n := e.live.Load(); n != 0 {
		t.Errorf("%d ONNX Runtime values alive after concurrent Runs", n)
	}
}

// Close waits for Runs in flight and later Runs fail cleanly.
func TestCloseDuringRuns(t *testing.T) {
	lib := testLibrary(t)
	e, err := OpenFile(filepath.Join(conformanceDir, "test_Conv2d", "model.onnx"), Options{LibraryPath: lib})
	if err != nil {
		t.Fatal(err)
	}
	x := randomFloat32(rand.New(rand.NewPCG(7, 8)), 2, 3, 7, 5)
	in := e.Inputs()[0].Name
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				if _, err := e.Run(context.Background(), map[string]*tensor.Tensor{in: x}, nil); err != nil {
					if !strings.Contains(err.Error(), "closed") {
						t.Errorf("run: %v", err)
					}
					return
				}
			}
		}()
	}
	if err := e.Close(); err != nil {
		t.Error(err)
	}
	wg.Wait()
	if n := e.live.Load(); n != 0 {
		t.Errorf("%d ONNX Runtime values alive", n)
	}
}

// 2000 Runs leave no ONNX Runtime value behind.
func TestNoValueLeaks(t *testing.T) {
	e := openBytes(t, typesModel(t), Options{})
	for i := 0; i < 2000; i++ {
		outs := []string(nil)
		if i%2 == 1 {
			outs = []string{"negd"}
		}
		if _, err := e.Run(context.Background(), typesFeed(), outs); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if n := e.live.Load(); n != 0 {
			t.Fatalf("run %d: %d ONNX Runtime values alive", i, n)
		}
	}
}

func TestInitializeOneLibraryPerProcess(t *testing.T) {
	lib := testLibrary(t)
	v, err := Initialize(lib)
	if err != nil {
		t.Fatal(err)
	}
	if v == "" || v != onnxruntime.GetVersion() {
		t.Errorf("Initialize returned version %q, ONNX Runtime says %q", v, onnxruntime.GetVersion())
	}
	dir := t.TempDir()
	link := filepath.Join(dir, "link.so")
	abs, _ := filepath.Abs(lib)
	if err := os.Symlink(abs, link); err != nil {
		t.Fatal(err)
	}
	if _, err := Initialize(link); err != nil {
		t.Errorf("a symbolic link to the loaded library: %v", err)
	}
	other := filepath.Join(dir, LibraryFile)
	if err := os.WriteFile(other, []byte("another library"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Initialize(other); err == nil || !strings.Contains(err.Error(), "already loaded") || !strings.Contains(err.Error(), other) {
		t.Errorf("a second library: err = %v", err)
	}
	if _, err := Initialize(filepath.Join(dir, "none.so")); err == nil || !strings.Contains(err.Error(), "none.so") {
		t.Errorf("a missing library: err = %v", err)
	}
	p, ver := LoadedLibrary()
	if ver != v || p == "" {
		t.Errorf("LoadedLibrary() = %q, %q", p, ver)
	}
}

func TestFindLibrary(t *testing.T) {
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(root, "go.mod"), []byte("// c\nmodule github.com/wtonnx/wtonnx\n\ngo 1.26\n"), 0o644))
	sub := filepath.Join(root, "a", "b")
	must(os.MkdirAll(sub, 0o755))
	cached := filepath.Join(root, CacheDir, LibraryFile)

	// Nothing anywhere: the error says how to get the library.
	_, err := findLibrary("", "", sub, "")
	for _, w := range []string{"make setup", EnvLibrary, cached} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("nothing cached: err = %v, want it to mention %q", err, w)
		}
	}
	// Outside any wtonnx repository.
	other := t.TempDir()
	must(os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/other\n"), 0o644))
	if _, err := findLibrary("", "", other, ""); err == nil || !strings.Contains(err.Error(), "make setup") {
		t.Errorf("outside the repository: err = %v", err)
	}

	must(os.MkdirAll(filepath.Dir(cached), 0o755))
	must(os.WriteFile(cached, []byte("x"), 0o644))
	if got, err := findLibrary("", "", sub, ""); err != nil || got != cached {
		t.Errorf("from a subdirectory: %q, %v; want %q", got, err, cached)
	}
	// Found through the executable's directory when the working directory
	// is elsewhere.
	if got, err := findLibrary("", "", other, filepath.Join(root, "wtonnx")); err != nil || got != cached {
		t.Errorf("beside the executable's repository: %q, %v", got, err)
	}
	// A library beside the executable.
	exeDir := t.TempDir()
	beside := filepath.Join(exeDir, LibraryFile)
	must(os.WriteFile(beside, []byte("x"), 0o644))
	if got, err := findLibrary("", "", other, filepath.Join(exeDir, "wtonnx")); err != nil || got != beside {
		t.Errorf("beside the executable: %q, %v", got, err)
	}
	// The environment variable beats the cache, the flag beats both.
	if got, err := findLibrary("", beside, sub, ""); err != nil || got != beside {
		t.Errorf("env: %q, %v", got, err)
	}
	if got, err := findLibrary(cached, beside, sub, ""); err != nil || got != cached {
		t.Errorf("flag: %q, %v", got, err)
	}
	// Named files must exist.
	if _, err := findLibrary("", filepath.Join(other, "nope.so"), sub, ""); err == nil || !strings.Contains(err.Error(), EnvLibrary) || !strings.Contains(err.Error(), "nope.so") {
		t.Errorf("env names a missing file: err = %v", err)
	}
	if _, err := findLibrary(filepath.Join(other, "nope.so"), "", sub, ""); err == nil || !strings.Contains(err.Error(), "nope.so") {
		t.Errorf("flag names a missing file: err = %v", err)
	}
	if _, err := findLibrary(other, "", sub, ""); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("flag names a directory: err = %v", err)
	}

	// The real lookup finds the library named by the environment, else the
	// one `make setup` cached in this repository.
	got, err := FindLibrary("")
	want := os.Getenv(EnvLibrary)
	if want == "" {
		want, _ = filepath.Abs(filepath.Join("..", "..", CacheDir, LibraryFile))
	}
	if err != nil || got != want {
		t.Errorf("FindLibrary(\"\") = %q, %v; want %q", got, err, want)
	}
}
