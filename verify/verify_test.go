package verify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/wtonnx/wtonnx/runtime/engines"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/convert"
	"github.com/wtonnx/wtonnx/graph"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/verify"
)

// One model on both engines: ONNX Runtime and the Go engine agree on a real
// exported model fed its recorded input.
func TestRunEnginesAgree(t *testing.T) {
	f := fixture(t, "constweights")
	res, err := verify.Run(context.Background(), verify.Options{
		ModelA:    f.ModelPath(),
		Engines:   []string{"ort", "go"},
		Tolerance: verify.DefaultTolerance,
		Inputs:    verify.InputSpec{Files: map[string]string{"": f.InputPath()}},
		Engine:    engines.Options{ORTLibrary: ortLib(t)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != verify.VerdictPass || len(res.Comparisons) != 1 || len(res.Runs) != 2 {
		t.Fatalf("verdict %s, %d comparisons, %d runs", res.Verdict, len(res.Comparisons), len(res.Runs))
	}
	c := res.Comparisons[0]
	if c.A.Engine != "ort/cpu" || c.B.Engine != "go" || c.A.Model != "A" {
		t.Errorf("compared %v with %v", c.A, c.B)
	}
	if len(c.Outputs) != 1 || c.Outputs[0].Name != f.Meta.OutputName || c.Outputs[0].Elements != 8*16*16 {
		t.Errorf("outputs %+v", c.Outputs)
	}
	if c.Outputs[0].CosineSimilarity < 0.999999 || c.Outputs[0].MaxAbsB == 0 {
		t.Errorf("cosine %v, max |b| %v", c.Outputs[0].CosineSimilarity, c.Outputs[0].MaxAbsB)
	}
	if res.Inputs[0].Source != "file:"+f.InputPath() {
		t.Errorf("input source %q", res.Inputs[0].Source)
	}

	// The JSON form decodes back to the same result.
	data, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var back verify.Result
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, res) {
		t.Errorf("JSON round trip changed the result:\n%s", data)
	}
	for _, key := range []string{`"verdict":"pass"`, `"model_a":`, `"comparisons":`, `"max_abs_error":`, `"cosine_similarity":`, `"engine":"ort/cpu"`} {
		if !strings.Contains(string(data), key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
}

// corrupt returns a copy of m with one weight of initializer name negated
// (the one of largest magnitude, so that the change is well beyond
// tolerance).
func corrupt(t *testing.T, m *onnxpb.ModelProto, name string) *onnxpb.ModelProto {
	t.Helper()
	data, err := onnxmodel.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	c, err := onnxmodel.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	for i, init := range c.GetGraph().GetInitializer() {
		if init.GetName() != name {
			continue
		}
		w, err := onnxmodel.Float32s(init)
		if err != nil {
			t.Fatal(err)
		}
		best := 0
		for j, v := range w {
			if math.Abs(float64(v)) > math.Abs(float64(w[best])) {
				best = j
			}
		}
		if w[best] == 0 {
			t.Fatalf("%s is all zeros", name)
		}
		w = append([]float32{}, w...)
		w[best] = -w[best]
		c.GetGraph().Initializer[i] = onnxmodel.NewFloat32Tensor(name, init.GetDims(), w)
		return c
	}
	t.Fatalf("no initializer %s", name)
	return nil
}

// Localize names exactly the node that reads a corrupted weight: A is a
// converted MobileNetV2 (random wavelet weights), B the same model with one
// weight of one level's wavelet-domain conv flipped.
func TestLocalizeCorruptedWeight(t *testing.T) {
	conv, pathA := convertFixture(t, "mobilenet_v2", convert.Options{Init: convert.InitRandom, Seed: 1})
	const layer = "/features/features.3/conv/conv.1/conv.1.0/Conv"
	weight := layer + "/wtconv/level2/weight"
	consumers := graph.NewIndex(conv.GetGraph()).Consumers(weight)
	if len(consumers) != 1 || consumers[0].GetOpType() != "Conv" {
		t.Fatalf("%s is read by %d nodes", weight, len(consumers))
	}
	want := consumers[0].GetName()
	pathB := save(t, corrupt(t, conv, weight), "corrupted.onnx")

	f := fixture(t, "mobilenet_v2")
	kinds := []string{"ort", "go"}
	if raceEnabled {
		// The Go engine's localization runs in TestLocalizeEngines.
		kinds = kinds[:1]
	}
	res, err := verify.Run(context.Background(), verify.Options{
		ModelA: pathA, ModelB: pathB,
		Engines:   kinds,
		Tolerance: verify.DefaultTolerance,
		Inputs:    verify.InputSpec{Files: map[string]string{"": f.InputPath()}},
		Localize:  true,
		Engine:    engines.Options{ORTLibrary: ortLib(t)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != verify.VerdictFail {
		t.Errorf("verdict %s: a flipped weight went unnoticed", res.Verdict)
	}
	if len(res.Localizations) != len(kinds) {
		t.Fatalf("%d localizations, want one per engine", len(res.Localizations))
	}
	for _, loc := range res.Localizations {
		if !loc.Diverged || loc.Node == nil {
			t.Errorf("%v vs %v: no divergence found", loc.A, loc.B)
			continue
		}
		if loc.Node.Name != want {
			t.Errorf("%v vs %v: first divergent node %s, want %s", loc.A, loc.B, loc.Node.Label(), want)
		}
		if loc.A.Engine != loc.B.Engine || loc.A.Model != "A" || loc.B.Model != "B" {
			t.Errorf("localized %v against %v", loc.A, loc.B)
		}
		if loc.Tensor == nil || loc.Tensor.Pass || loc.Tensor.Name != loc.Node.Outputs[0] {
			t.Errorf("diverging tensor %+v", loc.Tensor)
		}
		// Its data input agreed exactly (same engine, same weights so far).
		if e, ok := loc.InputMaxAbsError[loc.Node.Inputs[0]]; !ok || e != 0 {
			t.Errorf("input error of %s: %v (present %v)", loc.Node.Inputs[0], e, ok)
		}
		if loc.TensorsCompared < 10 {
			t.Errorf("only %d tensors compared before the divergence", loc.TensorsCompared)
		}
	}
}

// One model, two engines: localization walks the whole graph and finds the
// engines agree everywhere within a loose tolerance, and names the first
// node when the tolerance is impossibly tight.
func TestLocalizeEngines(t *testing.T) {
	f := fixture(t, "constweights")
	opts := verify.Options{
		ModelA:    f.ModelPath(),
		Tolerance: verify.Tolerance{Atol: 1e-3, Rtol: 1e-3},
		Inputs:    verify.InputSpec{Seed: 3},
		Localize:  true,
		Engine:    engines.Options{ORTLibrary: ortLib(t)},
	}
	res, err := verify.Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Localizations) != 1 {
		t.Fatalf("%d localizations", len(res.Localizations))
	}
	loc := res.Localizations[0]
	if loc.Diverged || loc.TensorsCompared < 5 {
		t.Errorf("diverged %v (%+v) after %d tensors", loc.Diverged, loc.Node, loc.TensorsCompared)
	}

	// Negative tolerance fails every element: the first node computing a
	// float tensor is named.
	opts.Tolerance = verify.Tolerance{Atol: -1}
	res, err = verify.Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	loc = res.Localizations[0]
	if !loc.Diverged || loc.Node.Position != firstComputing(t, f.ModelPath()) {
		t.Errorf("with tolerance -1: %+v", loc.Node)
	}
	if res.Verdict != verify.VerdictFail {
		t.Error("verdict pass with negative tolerance")
	}
}

// firstComputing is the topological position of the first node that is not
// a Constant.
func firstComputing(t *testing.T, path string) int {
	m, err := onnxmodel.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	order, err := onnxmodel.TopoOrder(m.GetGraph())
	if err != nil {
		t.Fatal(err)
	}
	for pos, i := range order {
		if m.GetGraph().GetNode()[i].GetOpType() != "Constant" {
			return pos
		}
	}
	t.Fatal("no computing node")
	return -1
}

// A model in the fused form (ai.wtonnx nodes) gets the custom-op library
// registered with ONNX Runtime without being asked; a missing library is an
// error naming the domain and the missing file.
func TestCustomOpLoadedAutomatically(t *testing.T) {
	_, orig := convertFixture(t, "constweights", convert.Options{Init: convert.InitRandom, Seed: 2})
	_, fused := convertFixture(t, "constweights", convert.Options{Init: convert.InitRandom, Seed: 2, Format: convert.FormatCustomOp})
	f := fixture(t, "constweights")
	opts := verify.Options{
		ModelA: orig, ModelB: fused,
		Engines:   []string{"ort"},
		Tolerance: verify.DefaultTolerance,
		Inputs:    verify.InputSpec{Files: map[string]string{"": f.InputPath()}},
		Engine:    engines.Options{ORTLibrary: ortLib(t)},
	}
	res, err := verify.Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != verify.VerdictPass || len(res.Comparisons) != 1 {
		for _, c := range res.Comparisons {
			t.Logf("%v vs %v: %+v", c.A, c.B, c.Outputs)
		}
		t.Fatalf("verdict %s with %d comparisons", res.Verdict, len(res.Comparisons))
	}

	opts.ModelA, opts.ModelB = fused, orig
	opts.Engine.CustomOpLibrary = "/nonexistent/libwtonnx_customop.so"
	_, err = verify.Run(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), "ai.wtonnx") || !strings.Contains(err.Error(), "/nonexistent/libwtonnx_customop.so") {
		t.Errorf("missing custom-op library: %v", err)
	}
}

func TestRunErrors(t *testing.T) {
	f := fixture(t, "constweights")
	dyn := fixture(t, "mobilenet_v2_dynamic")
	cases := []struct {
		name string
		opts verify.Options
		want []string
	}{
		{"nothing to compare", verify.Options{ModelA: f.ModelPath(), Engines: []string{"go"}}, []string{"nothing to compare"}},
		{"unknown engine", verify.Options{ModelA: f.ModelPath(), Engines: []string{"ort", "tvm"}}, []string{`"tvm"`}},
		{"missing model", verify.Options{ModelA: "/nonexistent/a.onnx", Engines: []string{"ort", "go"}}, []string{"/nonexistent/a.onnx"}},
		{"different inputs", verify.Options{ModelA: f.ModelPath(), ModelB: fixture(t, "mobilenet_v2").ModelPath(), Engines: []string{"go"}}, []string{"different inputs"}},
		{"dynamic input without shape", verify.Options{ModelA: dyn.ModelPath(), Engines: []string{"ort", "go"}}, []string{dyn.ModelPath(), `"batch"`, "dynamic"}},
		{"go engine on cuda", verify.Options{ModelA: f.ModelPath(), Engines: []string{"go", "ort"}, Engine: engines.Options{EP: "cuda"}}, []string{"go engine", "CPU only"}},
		{"cuda without provider", verify.Options{ModelA: f.ModelPath(), Engines: []string{"ort", "go"}, Engine: engines.Options{EP: "cuda", ORTLibrary: ortLib(t)}}, []string{"CUDA execution provider is not available", "libonnxruntime_providers_cuda.so"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.opts.Engine.EP == "cuda" && c.opts.Engine.ORTLibrary != "" && gpuProvidersInstalled(t) {
				t.Skip("GPU provider libraries are installed beside ONNX Runtime; this case checks the error without them")
			}
			_, err := verify.Run(context.Background(), c.opts)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// EP "auto" falls back to the CPU here and says so in one note.
func TestAutoEPNote(t *testing.T) {
	if gpuProvidersInstalled(t) {
		t.Skip("GPU provider libraries are installed beside ONNX Runtime; EP auto may use them")
	}
	f := fixture(t, "constweights")
	var notes []string
	res, err := verify.Run(context.Background(), verify.Options{
		ModelA: f.ModelPath(), Engines: []string{"ort", "go"},
		Tolerance: verify.DefaultTolerance, Engine: engines.Options{EP: "auto", ORTLibrary: ortLib(t)},
		Logf: func(format string, args ...any) { notes = append(notes, fmt.Sprintf(format, args...)) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Runs[0].Engine != "ort/cpu" {
		t.Errorf("auto ran on %s", res.Runs[0].Engine)
	}
	// The fallbacks are in the result as values: TensorRT, then CUDA.
	if fb := res.Runs[0].Fallbacks; len(fb) != 2 || fb[0].EP != "tensorrt" || fb[1].EP != "cuda" || fb[1].Next != "cpu" {
		t.Errorf("fallbacks %+v", fb)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "running on the CPU") {
		t.Errorf("notes %q, want one saying it runs on the CPU", notes)
	}
}
