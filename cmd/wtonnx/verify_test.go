package main

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/convert"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/testmodels"
	"github.com/wtonnx/wtonnx/verify"
)

// convertSaved converts a fixture with the library and saves the result.
func convertSaved(t *testing.T, f testmodels.Fixture, opts convert.Options) (*onnxpb.ModelProto, string) {
	t.Helper()
	m, err := onnxmodel.Load(f.ModelPath())
	if err != nil {
		t.Fatal(err)
	}
	if opts.Levels == 0 {
		opts.Levels = convert.AutoLevels
	}
	if slices.Contains(f.Meta.InputDynamic(), true) {
		shape := make([]int64, len(f.Meta.InputShape))
		for i, d := range f.Meta.InputShape {
			shape[i] = int64(d)
		}
		opts.InputShapes = map[string][]int64{f.Meta.InputName: shape}
	}
	c, _, err := convert.Convert(m, opts)
	if err != nil {
		t.Fatalf("converting %s: %v", f.Name, err)
	}
	path := filepath.Join(t.TempDir(), f.Name+"-wtconv.onnx")
	if err := onnxmodel.Save(c, path, onnxmodel.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	return c, path
}

// Every fixture, converted with --init preserve, computes what the original
// does, on both engines: exit 0, and the JSON report says so.
func TestVerifyPreservedConversions(t *testing.T) {
	for _, f := range fixtures(t) {
		t.Run(f.Name, func(t *testing.T) {
			_, conv := convertSaved(t, f, convert.Options{Init: convert.InitPreserve})
			code, stdout, stderr := runCLI("verify", f.ModelPath(), conv, "--engines", "ort,go",
				"--atol", "1e-4", "--rtol", "1e-3", "-i", f.InputPath(), "--json")
			if code != 0 {
				t.Fatalf("exit %d: %s\n%s", code, stderr, stdout)
			}
			var res verify.Result
			if err := json.Unmarshal([]byte(stdout), &res); err != nil {
				t.Fatalf("decoding %q: %v", stdout, err)
			}
			// A vs B on ort and on go, and B on ort vs go.
			if res.Verdict != "pass" || len(res.Comparisons) != 3 || len(res.Runs) != 4 {
				t.Fatalf("verdict %s, %d comparisons, %d runs", res.Verdict, len(res.Comparisons), len(res.Runs))
			}
			for _, c := range res.Comparisons {
				s := c.Outputs[0]
				t.Logf("%v vs %v: max abs %.3g, max rel %.3g, cosine %.9f", c.A, c.B, s.MaxAbsError, s.MaxRelError, s.CosineSimilarity)
				if !c.Pass || s.Name != f.Meta.OutputName || s.MaxAbsB == 0 {
					t.Errorf("%v vs %v: %+v", c.A, c.B, s)
				}
			}
		})
	}
}

// A wrong model fails with exit 1 and a report on stdout; --localize names
// the node that reads the corrupted weight.
func TestVerifyDetectsAndLocalizes(t *testing.T) {
	f, err := testmodels.Load("mobilenet_v2")
	if err != nil {
		t.Fatal(err)
	}
	conv, pathA := convertSaved(t, f, convert.Options{Init: convert.InitRandom, Seed: 1})
	const weight = "/features/features.5/conv/conv.1/conv.1.0/Conv/wtconv/level1/weight"
	var want string
	for _, n := range conv.GetGraph().GetNode() {
		for _, in := range n.GetInput() {
			if in == weight {
				want = n.GetName()
			}
		}
	}
	if want == "" {
		t.Fatalf("no node reads %s", weight)
	}
	for i, init := range conv.GetGraph().GetInitializer() {
		if init.GetName() == weight {
			w, err := onnxmodel.Float32s(init)
			if err != nil {
				t.Fatal(err)
			}
			w = append([]float32{}, w...)
			w[7] += 0.5
			conv.GetGraph().Initializer[i] = onnxmodel.NewFloat32Tensor(weight, init.GetDims(), w)
		}
	}
	pathB := filepath.Join(t.TempDir(), "corrupted.onnx")
	if err := onnxmodel.Save(conv, pathB, onnxmodel.SaveOptions{}); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := runCLI("verify", pathA, pathB, "--engines", "ort", "-i", f.InputPath(), "--localize")
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s\n%s", code, stderr, stdout)
	}
	if stderr != "" {
		t.Errorf("stderr %q", stderr)
	}
	for _, s := range []string{"FAIL", "first divergent node " + want + " (Conv)", "verdict: FAIL"} {
		if !strings.Contains(stdout, s) {
			t.Errorf("report lacks %q:\n%s", s, stdout)
		}
	}

	code, stdout, _ = runCLI("verify", pathA, pathB, "--engines", "ort", "-i", f.InputPath(), "--localize", "--json")
	if code != 1 {
		t.Fatalf("exit %d with --json", code)
	}
	var res verify.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("decoding %q: %v", stdout, err)
	}
	if res.Verdict != "fail" || len(res.Localizations) != 1 || res.Localizations[0].Node == nil || res.Localizations[0].Node.Name != want {
		t.Errorf("result %+v", res)
	}

	// A tolerance wide enough accepts the difference: exit 0.
	if code, stdout, stderr := runCLI("verify", pathA, pathB, "--engines", "ort", "-i", f.InputPath(), "--atol", "1e6"); code != 0 {
		t.Errorf("exit %d with a huge atol: %s %s", code, stderr, stdout)
	}
}

func TestVerifyErrors(t *testing.T) {
	f, err := testmodels.Load("constweights")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"missing model", []string{"verify", "/nonexistent/a.onnx"}, "/nonexistent/a.onnx"},
		{"missing second model", []string{"verify", f.ModelPath(), "/nonexistent/b.onnx"}, "/nonexistent/b.onnx"},
		{"one engine, one model", []string{"verify", f.ModelPath(), "--engines", "go"}, "nothing to compare"},
		{"unknown engine", []string{"verify", f.ModelPath(), "--engines", "ort,tvm"}, `"tvm"`},
		{"no engines", []string{"verify", f.ModelPath(), "--engines", ","}, "no engine"},
		{"negative atol", []string{"verify", f.ModelPath(), "--atol", "-1"}, "negative"},
		{"cuda missing", []string{"verify", f.ModelPath(), "--ep", "cuda", "--engines", "ort,go"}, "libonnxruntime_providers_cuda.so"},
		{"three models", []string{"verify", f.ModelPath(), f.ModelPath(), f.ModelPath()}, "accepts between 1 and 2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if (strings.HasPrefix(c.name, "cuda") || strings.HasPrefix(c.name, "tensorrt")) && gpuProvidersInstalled(t) {
				t.Skip("GPU provider libraries are installed beside ONNX Runtime; this case checks the error without them")
			}
			code, stdout, stderr := runCLI(c.args...)
			if code != 2 {
				t.Fatalf("exit %d, want 2: %s %s", code, stderr, stdout)
			}
			if !strings.Contains(stderr, c.want) {
				t.Errorf("stderr %q does not mention %q", stderr, c.want)
			}
		})
	}
}

// ORT and the Go engine agree on one model, with the default tolerance.
func TestVerifyEnginesHuman(t *testing.T) {
	f, err := testmodels.Load("efficientnet_b0")
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI("verify", f.ModelPath(), "--seed", "11", "--dist", "normal")
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, stderr, stdout)
	}
	for _, s := range []string{"A[ort/cpu] vs A[go]: PASS", "random:normal:seed=11", f.Meta.OutputName, "verdict: PASS", "COSINE"} {
		if !strings.Contains(stdout, s) {
			t.Errorf("report lacks %q:\n%s", s, stdout)
		}
	}
}
