package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/doctor"
)

func TestDoctor(t *testing.T) {
	code, stdout, stderr := runCLI("doctor", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r doctor.Report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if len(r.ONNXRuntime) == 0 || r.ONNXRuntime[0].Version == "" {
		t.Errorf("no ONNX Runtime set in %s", stdout)
	}
	if r.CustomOp.APIMin != 17 || r.GoEngine.Build == "" {
		t.Errorf("custom op %+v, go engine %+v", r.CustomOp, r.GoEngine)
	}
	code, stdout, stderr = runCLI("doctor")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, w := range []string{"ONNX Runtime", r.ONNXRuntime[0].Path, "compiled in:", "cuda:", "tensorrt:", "accepts ONNX Runtime C API 17..", "Go engine"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("text report does not mention %q:\n%s", w, stdout)
		}
	}
	if code, _, stderr := runCLI("doctor", "extra"); code != 2 || !strings.Contains(stderr, "extra") {
		t.Errorf("doctor with an argument: exit %d, stderr %q", code, stderr)
	}
}
