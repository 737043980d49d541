package opset

import (
	"os/exec"
	"strings"
	"testing"
)

// The registry is read by graph's shape inference, which convert uses, and
// by inspect: none of them may link an engine ("convert runs nothing"); the
// engine attaches its kernels from its own side.
func TestReadersDoNotLinkAnEngine(t *testing.T) {
	pkgs := []string{"github.com/wtonnx/wtonnx/opset", "github.com/wtonnx/wtonnx/graph",
		"github.com/wtonnx/wtonnx/convert", "github.com/wtonnx/wtonnx/inspect"}
	out, err := exec.Command("go", append([]string{"list", "-deps"}, pkgs...)...).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < len(pkgs) {
		t.Fatalf("go list listed %d packages", len(deps))
	}
	for _, d := range deps {
		if strings.HasPrefix(d, "github.com/wtonnx/wtonnx/runtime") {
			t.Errorf("%s is linked by one of %v", d, pkgs)
		}
	}
}
