package onnxmodel

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/onnxpb"
)

// TestCheckerAcceptsSavedModels saves every model of the shared conformance
// cases, the official WTConv references and testmodels/, and has the onnx
// reference checker (scripts/onnx_check.py) check what Save wrote.
func TestCheckerAcceptsSavedModels(t *testing.T) {
	pythonWithOnnx(t)
	dir := t.TempDir()
	var saved []string
	for i, p := range sharedModels(t) {
		m, err := Load(p)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, fmt.Sprintf("%03d-%s.onnx", i, filepath.Base(filepath.Dir(p))))
		if err := Save(m, out, SaveOptions{}); err != nil {
			t.Fatal(err)
		}
		saved = append(saved, out)
		// The larger ones again with external data.
		if len(m.Graph.GetInitializer()) > 10 {
			ext := filepath.Join(dir, fmt.Sprintf("%03d-ext", i), "model.onnx")
			writeFile(t, filepath.Join(filepath.Dir(ext), ".keep"), nil)
			if err := Save(m, ext, SaveOptions{ExternalDataThreshold: 4096}); err != nil {
				t.Fatal(err)
			}
			saved = append(saved, ext)
		}
	}
	lines := onnxCheck(t, saved...)
	if len(lines) != len(saved) {
		t.Fatalf("checker printed %d lines for %d models:\n%s", len(lines), len(saved), strings.Join(lines, "\n"))
	}
	ok := 0
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "OK "):
			ok++
		case strings.HasPrefix(l, "SKIP "):
			t.Logf("%s", l)
		default:
			t.Errorf("%s", l)
		}
	}
	if ok < len(saved)/2 {
		t.Fatalf("only %d of %d models were checked", ok, len(saved))
	}
	t.Logf("checker accepted %d of %d saved models", ok, len(saved))
}

// TestCheckerScriptFails shows that scripts/onnx_check.py does reject a bad
// model, and skips one newer than it understands.
func TestCheckerScriptFails(t *testing.T) {
	py := pythonWithOnnx(t)
	dir := t.TempDir()
	bad := tinyModel()
	bad.Graph.Node[1].Input[0] = "nope" // dangling: Save writes it, the checker refuses it
	newer := tinyModel()
	newer.OpsetImport[0].Version = proto.Int64(21)
	good := filepath.Join(dir, "good.onnx")
	for path, m := range map[string]*onnxpb.ModelProto{good: tinyModel(), filepath.Join(dir, "bad.onnx"): bad, filepath.Join(dir, "newer.onnx"): newer} {
		if err := Save(m, path, SaveOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(py, "../scripts/onnx_check.py", good, filepath.Join(dir, "bad.onnx"), filepath.Join(dir, "newer.onnx")).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("checker exit %v, want status 1:\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "OK") || !strings.HasPrefix(lines[1], "FAIL") ||
		!strings.Contains(lines[1], "nope") || !strings.HasPrefix(lines[2], "SKIP") || !strings.Contains(lines[2], "opset 21") {
		t.Fatalf("checker output:\n%s", out)
	}
}
