package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/bench"
	"github.com/wtonnx/wtonnx/convert"
	"github.com/wtonnx/wtonnx/testmodels"
)

func TestBenchVs(t *testing.T) {
	f, err := testmodels.Load("constweights")
	if err != nil {
		t.Fatal(err)
	}
	_, conv := convertSaved(t, f, convert.Options{Init: convert.InitRandom, Seed: 4})
	for _, engine := range []string{"ort", "go"} {
		t.Run(engine, func(t *testing.T) {
			code, stdout, stderr := runCLI("bench", conv, "--vs", f.ModelPath(), "--engine", engine, "--threads", "1", "--warmup", "1", "--iters", "4", "--json")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if stderr != "" {
				t.Errorf("stderr %q (no progress bar off a terminal)", stderr)
			}
			var res bench.Result
			if err := json.Unmarshal([]byte(stdout), &res); err != nil {
				t.Fatalf("decoding %q: %v", stdout, err)
			}
			if res.Iters != 4 || res.Warmup != 1 || res.Threads != 1 || len(res.Models) != 2 || res.MedianRatio <= 0 || res.NoSpin {
				t.Fatalf("result %+v", res)
			}
			if res.Models[0].Path != conv || res.Models[1].Path != f.ModelPath() || res.Models[1].Latency.Median <= 0 {
				t.Errorf("models %+v", res.Models)
			}

			code, stdout, stderr = runCLI("bench", conv, "--vs", f.ModelPath(), "--engine", engine, "--iters", "2", "--warmup", "0")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for _, s := range []string{"MEDIAN ms", "THROUGHPUT/s", "constweights-wtconv.onnx", "model.onnx", "median constweights-wtconv.onnx / model.onnx = ", "peak RSS"} {
				if !strings.Contains(stdout, s) {
					t.Errorf("report lacks %q:\n%s", s, stdout)
				}
			}

			code, stdout, stderr = runCLI("bench", conv, "--engine", engine, "--threads", "2", "--no-spin", "--iters", "1", "--warmup", "0")
			if code != 0 {
				t.Fatalf("--no-spin: exit %d: %s", code, stderr)
			}
			if got := strings.Contains(stdout, "not spinning"); got != (engine == "ort") {
				t.Errorf("--no-spin on %s: report says %v that ONNX Runtime's threads do not spin:\n%s", engine, got, stdout)
			}
		})
	}
}

func TestBenchErrors(t *testing.T) {
	f, err := testmodels.Load("constweights")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"zero iterations", []string{"bench", f.ModelPath(), "--iters", "0"}, "--iters 0: want 1 or more"},
		{"missing vs", []string{"bench", f.ModelPath(), "--vs", "/nonexistent/vs.onnx"}, "/nonexistent/vs.onnx"},
		{"cuda missing", []string{"bench", f.ModelPath(), "--ep", "cuda"}, "libonnxruntime_providers_cuda.so"},
		{"unknown engine", []string{"bench", f.ModelPath(), "--engine", "tvm"}, `"tvm"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if (strings.HasPrefix(c.name, "cuda") || strings.HasPrefix(c.name, "tensorrt")) && gpuProvidersInstalled(t) {
				t.Skip("GPU provider libraries are installed beside ONNX Runtime; this case checks the error without them")
			}
			code, stdout, stderr := runCLI(c.args...)
			if code != 2 || stdout != "" {
				t.Fatalf("exit %d, want 2; stdout %q", code, stdout)
			}
			if !strings.Contains(stderr, c.want) {
				t.Errorf("stderr %q does not mention %q", stderr, c.want)
			}
		})
	}
}
