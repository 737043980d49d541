package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/testmodels"
)

type convertSummary struct {
	Output string `json:"output"`
	DryRun bool   `json:"dry_run"`
	Totals struct {
		Converted int `json:"converted"`
	} `json:"totals"`
	Taken      []string       `json:"overridable_weights_taken"`
	FormsFound map[string]int `json:"forms_found"`
}

func convertJSONRun(t *testing.T, args ...string) (convertSummary, string) {
	t.Helper()
	code, stdout, stderr := runCLI(append(args, "--json")...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, stderr)
	}
	var s convertSummary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	return s, stderr
}

// TestLightModelConverts: the IR 3 light fixture, whose depthwise weights
// are ConstantOfShape of shape tensors listed as graph inputs, converts
// every depthwise conv with --init preserve, passes the ONNX checker (full
// check) and computes the original's outputs on ONNX Runtime.
func TestLightModelConverts(t *testing.T) {
	f, err := testmodels.Load("light")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "light_wt.onnx")
	s, stderr := convertJSONRun(t, "convert", f.ModelPath(), "-o", out, "--init", "preserve")
	if s.Totals.Converted != len(f.Meta.DepthwiseConvs) || len(f.Meta.DepthwiseConvs) != 3 {
		t.Fatalf("converted %d of %d depthwise convs", s.Totals.Converted, len(f.Meta.DepthwiseConvs))
	}
	if len(s.Taken) == 0 || !strings.Contains(stderr, "taken as the constant weights") || s.Output != out || s.DryRun || s.FormsFound["ops"] != 3 {
		t.Fatalf("report: %+v, stderr %q", s, stderr)
	}
	m, err := onnxmodel.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	inputs := map[string]bool{}
	for _, in := range m.GetGraph().GetInput() {
		inputs[in.GetName()] = true
	}
	for _, name := range s.Taken {
		if inputs[name] {
			t.Errorf("%s is still a graph input", name)
		}
	}
	checkWithONNX(t, out)

	// ONNX Runtime: converted and original give the output PyTorch computed.
	want, err := tensor.ReadNPY(f.OutputPath())
	if err != nil {
		t.Fatal(err)
	}
	for _, model := range []string{f.ModelPath(), out} {
		odir := filepath.Join(dir, strings.TrimSuffix(filepath.Base(model), ".onnx")+"_out")
		if code, _, stderr := runCLI("run", model, "-i", f.InputPath(), "-o", odir); code != 0 {
			t.Fatalf("run %s: %s", model, stderr)
		}
		got, err := tensor.ReadNPY(filepath.Join(odir, f.Meta.OutputName+".npy"))
		if err != nil {
			t.Fatal(err)
		}
		if len(got.F32) != len(want.F32) {
			t.Fatalf("%s: %d values, want %d", model, len(got.F32), len(want.F32))
		}
		for i := range want.F32 {
			if d := got.F32[i] - want.F32[i]; d > 1e-5 || d < -1e-5 {
				t.Fatalf("%s: output %d is %g, want %g", model, i, got.F32[i], want.F32[i])
			}
		}
	}

	keep, _ := convertJSONRun(t, "convert", f.ModelPath(), "-o", filepath.Join(dir, "keep.onnx"), "--keep-overridable-weights")
	if keep.Totals.Converted != 0 {
		t.Fatalf("--keep-overridable-weights converted %d", keep.Totals.Converted)
	}
	// inspect gives the same verdicts.
	for _, c := range []struct {
		args []string
		want int
	}{{nil, 3}, {[]string{"--keep-overridable-weights"}, 0}} {
		code, stdout, stderr := runCLI(append([]string{"inspect", f.ModelPath(), "--json"}, c.args...)...)
		var sum struct {
			Candidates int `json:"candidates"`
		}
		if code != 0 || json.Unmarshal([]byte(stdout), &sum) != nil || sum.Candidates != c.want {
			t.Fatalf("inspect %v: exit %d, %d candidates, want %d (%s)", c.args, code, sum.Candidates, c.want, stderr)
		}
	}
}

// TestInitializersAsInputs: MobileNetV2 re-saved with every initializer
// listed as a graph input (PyTorch's keep_initializers_as_inputs) converts
// 17 of 17; with --keep-overridable-weights none.
func TestInitializersAsInputs(t *testing.T) {
	f, err := testmodels.Load("mobilenet_v2")
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnxmodel.Load(f.ModelPath())
	if err != nil {
		t.Fatal(err)
	}
	g := m.GetGraph()
	for _, init := range g.GetInitializer() {
		dims := make([]*onnxpb.TensorShapeProto_Dimension, len(init.GetDims()))
		for i, d := range init.GetDims() {
			dims[i] = &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}}
		}
		g.Input = append(g.Input, &onnxpb.ValueInfoProto{Name: proto.String(init.GetName()), Type: &onnxpb.TypeProto{
			Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(init.GetDataType()), Shape: &onnxpb.TensorShapeProto{Dim: dims}}}}})
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "mnv2_inputs.onnx")
	if err := onnxmodel.Save(m, src, onnxmodel.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	s, stderr := convertJSONRun(t, "convert", src, "-o", filepath.Join(dir, "wt.onnx"))
	// Each conv takes its weight and its bias.
	if s.Totals.Converted != 17 || len(s.Taken) != 2*17 || !strings.Contains(stderr, "defaults a caller may override") {
		t.Fatalf("converted %d, took %d weights; stderr %q", s.Totals.Converted, len(s.Taken), stderr)
	}
	checkWithONNX(t, filepath.Join(dir, "wt.onnx"))
	keep, _ := convertJSONRun(t, "convert", src, "-o", filepath.Join(dir, "keep.onnx"), "--keep-overridable-weights")
	if keep.Totals.Converted != 0 {
		t.Fatalf("--keep-overridable-weights converted %d", keep.Totals.Converted)
	}
	dry, _ := convertJSONRun(t, "convert", src, "--dry-run")
	if !dry.DryRun || dry.Totals.Converted != 17 || dry.FormsFound["ops"] != 17 {
		t.Fatalf("dry run: %+v", dry)
	}
}

// checkWithONNX runs the reference checker (full check) on path.
func checkWithONNX(t *testing.T, path string) {
	t.Helper()
	py := os.Getenv("WTONNX_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	out, err := exec.Command(py, "../../scripts/onnx_check.py", path).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "OK") {
		t.Fatalf("the ONNX checker rejected %s: %v\n%s", path, err, out)
	}
}
