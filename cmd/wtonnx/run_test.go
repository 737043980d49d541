package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/runtime/ort"
	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/testmodels"
	"github.com/wtonnx/wtonnx/verify"
)

func fixtures(t *testing.T) []testmodels.Fixture {
	t.Helper()
	all, err := testmodels.All()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 8 {
		t.Fatalf("only %d fixtures", len(all))
	}
	return all
}

// Both engines reproduce every fixture's PyTorch output from its input,
// through `wtonnx run -i input.npy -o DIR`.
func TestRunReproducesFixtures(t *testing.T) {
	for _, f := range fixtures(t) {
		want, err := tensor.ReadNPY(f.OutputPath())
		if err != nil {
			t.Fatal(err)
		}
		for _, engine := range []string{"ort", "go"} {
			t.Run(f.Name+"/"+engine, func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), "out")
				code, stdout, stderr := runCLI("run", f.ModelPath(), "--engine", engine, "-i", f.Meta.InputName+"="+f.InputPath(), "-o", dir)
				if code != 0 {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				if !strings.Contains(stdout, f.Meta.OutputName) || !strings.Contains(stdout, shapeString(f.Meta.OutputShape)) {
					t.Errorf("output table lacks %s %v:\n%s", f.Meta.OutputName, f.Meta.OutputShape, stdout)
				}
				got, err := tensor.ReadNPY(filepath.Join(dir, sanitizeName(f.Meta.OutputName)+".npy"))
				if err != nil {
					t.Fatal(err)
				}
				s := verify.CompareTensors(f.Meta.OutputName, got, want, verify.DefaultTolerance)
				if !s.Pass {
					t.Errorf("differs from PyTorch's output: %+v", s)
				}
			})
		}
	}
}

func TestRunJSON(t *testing.T) {
	f, err := testmodels.Load("mobilenet_v2_dynamic")
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI("run", f.ModelPath(), "--engine", "go", "--seed", "5", "--input-shape", "input=3x3x64x80", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var x verify.Execution
	if err := json.Unmarshal([]byte(stdout), &x); err != nil {
		t.Fatalf("decoding %q: %v", stdout, err)
	}
	if x.Engine != "go" || len(x.Inputs) != 1 || shapeString(x.Inputs[0].Shape) != "3x3x64x80" || x.Inputs[0].Source != "random:uniform:seed=5" {
		t.Errorf("execution %+v", x)
	}
	if len(x.Outputs) != 1 || shapeString(x.Outputs[0].Shape) != "3x10" || x.Outputs[0].File != "" {
		t.Errorf("outputs %+v", x.Outputs)
	}
	if o := x.Outputs[0]; !(o.Min < o.Mean && o.Mean < o.Max) || x.RunSeconds <= 0 {
		t.Errorf("summary %+v, run %v s", o, x.RunSeconds)
	}
}

func TestRunErrors(t *testing.T) {
	f, err := testmodels.Load("mobilenet_v2")
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := testmodels.Load("mobilenet_v2_dynamic")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"missing model", []string{"run", filepath.Join(dir, "nope.onnx")}, []string{"nope.onnx"}},
		{"unknown engine", []string{"run", f.ModelPath(), "--engine", "tvm"}, []string{`"tvm"`}},
		{"unknown input", []string{"run", f.ModelPath(), "-i", "x=" + f.InputPath()}, []string{`"x"`, "not an input"}},
		{"dynamic without shape", []string{"run", dyn.ModelPath()}, []string{`"batch"`, "dynamic", "--input-shape"}},
		{"bad input shape", []string{"run", dyn.ModelPath(), "--input-shape", "input=1xAx3"}, []string{"--input-shape"}},
		{"go on cuda", []string{"run", f.ModelPath(), "--engine", "go", "--ep", "cuda"}, []string{"go engine", "CPU only"}},
		{"cuda missing", []string{"run", f.ModelPath(), "--ep", "cuda"}, []string{"CUDA execution provider is not available", "libonnxruntime_providers_cuda.so", "wtonnx doctor"}},
		{"tensorrt missing", []string{"run", f.ModelPath(), "--ep", "tensorrt"}, []string{"TensorRT execution provider is not available", "libonnxruntime_providers_tensorrt.so", "wtonnx doctor"}},
		{"bad ort library", []string{"run", f.ModelPath(), "--ort-lib", filepath.Join(dir, "libnothing.so")}, []string{"libnothing.so"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if (strings.HasPrefix(c.name, "cuda") || strings.HasPrefix(c.name, "tensorrt")) && gpuProvidersInstalled(t) {
				t.Skip("GPU provider libraries are installed beside ONNX Runtime; this case checks the error without them")
			}
			out := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_"))
			code, stdout, stderr := runCLI(append(c.args, "-o", out)...)
			if code != 2 {
				t.Fatalf("exit %d, want 2 (stderr %q)", code, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not mention %q", stderr, w)
				}
			}
			if stdout != "" {
				t.Errorf("stdout %q on error", stdout)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("output folder created")
			}
		})
	}
}

// --ep auto finds no GPU provider here: it runs on the CPU and says so in
// one line on stderr.
func TestRunAutoEP(t *testing.T) {
	if gpuProvidersInstalled(t) {
		t.Skip("GPU provider libraries are installed beside ONNX Runtime; --ep auto may use them")
	}
	f, err := testmodels.Load("constweights")
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI("run", f.ModelPath(), "--ep", "auto", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var x verify.Execution
	if err := json.Unmarshal([]byte(stdout), &x); err != nil {
		t.Fatal(err)
	}
	if x.Engine != "ort/cpu" {
		t.Errorf("ran on %s", x.Engine)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "running on the CPU") || !strings.Contains(lines[0], "CUDA") {
		t.Errorf("stderr %q, want one note saying it runs on the CPU", stderr)
	}
}

func TestSanitizeName(t *testing.T) {
	for in, want := range map[string]string{
		"logits":                             "logits",
		"/features/features.0/Conv_output_0": "features_features.0_Conv_output_0",
		"../../etc/passwd":                   "etc_passwd",
		"onnx::Conv_539":                     "onnx__Conv_539",
		"":                                   "output",
		"...":                                "output",
		"a b\tc":                             "a_b_c",
		"x-y.z_1":                            "x-y.z_1",
	} {
		if got := sanitizeName(in); got != want {
			t.Errorf("sanitizeName(%q) = %q, want %q", in, got, want)
		}
	}
}

// Outputs whose names sanitize alike get distinct files.
func TestWriteOutputsCollisions(t *testing.T) {
	x := &verify.Execution{Tensors: map[string]*tensor.Tensor{
		"a/b": tensor.NewFloat32([]int{1}, []float32{1}),
		"a:b": tensor.NewFloat32([]int{1}, []float32{2}),
	}}
	x.Outputs = []verify.TensorSummary{{Name: "a/b"}, {Name: "a:b"}}
	dir := t.TempDir()
	if err := writeOutputs(dir, x); err != nil {
		t.Fatal(err)
	}
	for i, file := range []string{"a_b.npy", "a_b_2.npy"} {
		if x.Outputs[i].File != filepath.Join(dir, file) {
			t.Errorf("output %d written to %s", i, x.Outputs[i].File)
		}
		got, err := tensor.ReadNPY(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if got.F32[0] != float32(i+1) {
			t.Errorf("%s holds %v", file, got.F32)
		}
	}
}

// gpuProvidersInstalled reports whether ONNX Runtime's CUDA provider library
// sits beside the core library: the cases that check the error for a missing
// provider (this project's CPU-only machines) do not apply there.
func gpuProvidersInstalled(t *testing.T) bool {
	t.Helper()
	// --ep cuda loads the GPU set of `make setup-gpu` when it is cached.
	lib, err := ort.FindLibraryFor("", ort.EPCUDA)
	if err != nil {
		t.Fatalf("ONNX Runtime is needed: %v", err)
	}
	return ort.DiagnoseProvider(filepath.Dir(lib), ort.EPCUDA).Loads
}

// sanitizeName is the file name (without .npy) run -o gives one output.
func sanitizeName(name string) string {
	return strings.TrimSuffix(verify.OutputFileNames([]string{name})[0], ".npy")
}
