package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/wtonnx/wtonnx/bench"
	"github.com/wtonnx/wtonnx/runtime/ort"
	"github.com/wtonnx/wtonnx/testmodels"
	"github.com/wtonnx/wtonnx/verify"
)

// checkPlacements wants every node on the CPU provider and, when wantOp is
// set, a node of that op type among them.
func checkPlacements(t *testing.T, what string, nodes []ort.NodePlacement, wantOp string) {
	t.Helper()
	if len(nodes) == 0 {
		t.Fatalf("%s: no node_providers", what)
	}
	found := wantOp == ""
	for _, n := range nodes {
		if n.Provider != "CPUExecutionProvider" || n.Node == "" {
			t.Errorf("%s: node %+v", what, n)
		}
		found = found || n.OpType == wantOp
	}
	if !found {
		t.Errorf("%s: no %s node in %+v", what, wantOp, nodes)
	}
}

// run --json and bench --json say which provider ran each node: on the CPU
// all of them, the fused ai.wtonnx WTConv nodes included.
func TestNodeProvidersReported(t *testing.T) {
	f, err := testmodels.Load("convnext")
	if err != nil {
		t.Fatal(err)
	}
	fused := filepath.Join(t.TempDir(), "fused.onnx")
	if code, _, stderr := runCLI("convert", f.ModelPath(), "-o", fused, "--format", "customop", "--init", "random", "--seed", "1"); code != 0 {
		t.Fatalf("convert: %s", stderr)
	}
	code, stdout, stderr := runCLI("run", fused, "--json")
	if code != 0 {
		t.Fatalf("run: %s", stderr)
	}
	var x verify.Execution
	if err := json.Unmarshal([]byte(stdout), &x); err != nil {
		t.Fatal(err)
	}
	checkPlacements(t, "run", x.NodeProviders, "WTConv")

	code, stdout, stderr = runCLI("bench", f.ModelPath(), "--vs", fused, "--iters", "2", "--warmup", "0", "--json")
	if code != 0 {
		t.Fatalf("bench: %s", stderr)
	}
	var res bench.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Models) != 2 {
		t.Fatalf("bench models: %+v", res.Models)
	}
	checkPlacements(t, "bench model", res.Models[0].NodeProviders, "")
	checkPlacements(t, "bench vs", res.Models[1].NodeProviders, "WTConv")

	// The Go engine has no execution providers to report.
	code, stdout, stderr = runCLI("run", fused, "--engine", "go", "--json")
	if code != 0 {
		t.Fatalf("run go: %s", stderr)
	}
	x = verify.Execution{}
	if err := json.Unmarshal([]byte(stdout), &x); err != nil || len(x.NodeProviders) != 0 {
		t.Errorf("go engine: node_providers %+v, %v", x.NodeProviders, err)
	}
}
