package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/runtime/engines"
	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/verify"
)

const exportedDir = "../../../shared/reference/exported"

// referenceCase is a model with an input and the output PyTorch computed.
type referenceCase struct {
	name, model, x, y string
}

func referenceCases(t *testing.T) []referenceCase {
	t.Helper()
	var cases []referenceCase
	for _, f := range fixtures(t) {
		cases = append(cases, referenceCase{"fixture/" + f.Name, f.ModelPath(), f.InputPath(), f.OutputPath()})
	}
	dirs, err := os.ReadDir(exportedDir)
	if err != nil {
		t.Fatalf("PyTorch's exports are needed: %v", err)
	}
	for _, d := range dirs {
		dir := filepath.Join(exportedDir, d.Name())
		cases = append(cases, referenceCase{"exported/" + d.Name(), filepath.Join(dir, "model.onnx"), filepath.Join(dir, "x.npy"), filepath.Join(dir, "y.npy")})
	}
	if len(cases) < 15 {
		t.Fatalf("only %d cases", len(cases))
	}
	return cases
}

// goRuns tells whether the Go engine can open the model; the exports of
// WTConv layers at odd sizes use operators (Mod) it may lack.
func goRuns(t *testing.T, path string) bool {
	m, err := onnxmodel.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	e, err := engines.Open(engines.Go, engines.Model{Path: path, Proto: m}, engines.Options{})
	if err != nil {
		t.Logf("the Go engine cannot open %s, checking ONNX Runtime only: %v", path, err)
		return false
	}
	e.Close()
	return true
}

// verify --reference against PyTorch's saved outputs passes for every
// fixture and every PyTorch export of a WTConv layer, on every engine that
// runs the model, and fails (exit 1) when one value of the saved output is
// moved by 1% of the output's scale.
func TestVerifyReferenceOutputs(t *testing.T) {
	for _, c := range referenceCases(t) {
		t.Run(c.name, func(t *testing.T) {
			kinds := "ort"
			if goRuns(t, c.model) {
				kinds = "ort,go"
			}
			code, stdout, stderr := runCLI("verify", c.model, "--reference", c.y, "-i", c.x, "--engines", kinds, "--json")
			if code != 0 {
				t.Fatalf("exit %d: %s\n%s", code, stderr, stdout)
			}
			var res verify.Result
			if err := json.Unmarshal([]byte(stdout), &res); err != nil {
				t.Fatal(err)
			}
			if res.Reference != c.y || len(res.Comparisons) != strings.Count(kinds, ",")+1 {
				t.Fatalf("reference %q, %d comparisons", res.Reference, len(res.Comparisons))
			}
			for _, cmp := range res.Comparisons {
				s := cmp.Outputs[0]
				if cmp.B.Model != verify.ModelLabelReference || len(cmp.Outputs) != 1 || s.MaxAbsB == 0 {
					t.Errorf("%v vs %v: %+v", cmp.A, cmp.B, cmp.Outputs)
				}
				t.Logf("%v: max abs %.3g = %.3g of max|y| %.3g", cmp.A, s.MaxAbsError, s.MaxScaledError, s.MaxAbsB)
			}

			y, err := tensor.ReadNPY(c.y)
			if err != nil {
				t.Fatal(err)
			}
			s := verify.Summarize("y", y)
			scale := max(s.Max, -s.Min)
			y.F32[len(y.F32)/2] += float32(0.01 * scale)
			bad := filepath.Join(t.TempDir(), "y.npy")
			if err := tensor.WriteNPY(bad, y); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr = runCLI("verify", c.model, "--reference", bad, "-i", c.x, "--engines", kinds)
			if code != 1 || strings.Count(stdout, "FAIL") != strings.Count(kinds, ",")+2 {
				t.Errorf("perturbed reference: exit %d, want 1 with every engine failing\n%s%s", code, stdout, stderr)
			}
		})
	}
}

// The folder `run -o` writes is a reference for `verify --reference DIR`;
// a folder lacking an output's file, or a name that is not an output, is an
// error (exit 2) that names it.
func TestVerifyReferenceFolder(t *testing.T) {
	f := fixtures(t)[0]
	dir := t.TempDir()
	if code, _, stderr := runCLI("run", f.ModelPath(), "-i", f.InputPath(), "--engine", "go", "-o", dir); code != 0 {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := runCLI("verify", f.ModelPath(), "--reference", dir, "-i", f.InputPath(), "--engines", "ort,go")
	if code != 0 || !strings.Contains(stdout, "reference: "+dir) || !strings.Contains(stdout, "A[ort/cpu] vs reference[npy]: PASS") {
		t.Fatalf("exit %d: %s%s", code, stdout, stderr)
	}
	empty := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--reference", empty}, filepath.Join(empty, f.Meta.OutputName+".npy")},
		{[]string{"--reference", "nosuch=" + f.OutputPath()}, `"nosuch"`},
		{[]string{"--reference", f.OutputPath(), "--localize"}, "intermediate"},
		{[]string{f.ModelPath(), "--reference", f.OutputPath()}, "not both"},
	} {
		args := append([]string{"verify", f.ModelPath(), "-i", f.InputPath()}, c.args...)
		if code, _, stderr := runCLI(args...); code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, stderr, c.want)
		}
	}
}
