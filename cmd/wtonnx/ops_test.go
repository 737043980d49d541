package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/doctor"
)

func TestOpsCommand(t *testing.T) {
	code, stdout, stderr := runCLI("ops", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r doctor.OpsReport
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("decoding %q: %v", stdout, err)
	}
	names := map[string]bool{}
	for _, o := range r.Go.Operators {
		names[o.Name] = true
	}
	for _, op := range []string{"LRN", "Mod", "Dropout", "Pad", "WTConv"} {
		if !names[op] {
			t.Errorf("ops --json lacks %s", op)
		}
	}
	if r.ORT.Version == "" || !r.ORT.CustomOp.Loads {
		t.Errorf("ONNX Runtime %+v", r.ORT)
	}
	code, stdout, stderr = runCLI("ops")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"Go engine (go)", "MaxPool", "ceil_mode(10+)", "ONNX Runtime (ort) " + r.ORT.Version, "custom op ai.wtonnx.WTConv: loads"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("ops output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestInspectSaysWhatTheGoEngineLacks(t *testing.T) {
	code, stdout, stderr := runCLI("inspect", "../../../shared/onnx-zoo-light/light_inception_v1.onnx")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	head := strings.SplitN(stdout, "\n\n", 2)[0]
	if !strings.Contains(head, "Go engine: runs every operator") {
		t.Errorf("inspect's header does not say the Go engine runs the model:\n%s", head)
	}
	code, stdout, stderr = runCLI("inspect", "../../../shared/onnx-conformance/test_operator_add_broadcast/model.onnx", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var s struct {
		GoEngine struct {
			Runs   bool     `json:"runs"`
			Double []string `json:"double"`
		} `json:"go_engine"`
	}
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatal(err)
	}
	if s.GoEngine.Runs || len(s.GoEngine.Double) == 0 {
		t.Errorf("a DOUBLE model reported as runnable on the Go engine: %+v", s.GoEngine)
	}
}
