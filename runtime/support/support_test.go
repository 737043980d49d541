package support

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/opset"
)

func TestGoOperatorsAreTheRegistry(t *testing.T) {
	ops := GoOperators()
	if len(ops) != len(opset.All()) {
		t.Fatalf("%d operators listed, the registry holds %d", len(ops), len(opset.All()))
	}
	seen := map[string]Operator{}
	for _, o := range ops {
		seen[o.Domain+"/"+o.Name] = o
	}
	// The operators real models need, at the opsets they are exported at.
	for _, want := range []struct {
		key   string
		since int64
	}{{"/LRN", 1}, {"/Mod", 10}, {"/Dropout", 7}, {"/Conv", 1}, {"/Softmax", 1}, {"ai.wtonnx/WTConv", 1}} {
		o, ok := seen[want.key]
		if !ok {
			t.Errorf("%s missing", want.key)
			continue
		}
		if o.Since != want.since || o.Until < o.Since {
			t.Errorf("%s: versions %d-%d, want from %d", want.key, o.Since, o.Until, want.since)
		}
	}
	found := false
	for _, a := range seen["/MaxPool"].Attributes {
		if a.Name == "ceil_mode" {
			found = a.Since == 10 && a.String() == "ceil_mode(10+)"
		}
	}
	if !found {
		t.Errorf("MaxPool attributes %v lack ceil_mode from opset 10", seen["/MaxPool"].Attributes)
	}
}

func TestEnginesFindsONNXRuntimeAndTheCustomOp(t *testing.T) {
	r := Engines(Options{})
	if r.ORT.Error != "" || r.ORT.Version == "" {
		t.Fatalf("ONNX Runtime not found or not loaded: %+v", r.ORT)
	}
	if !strings.Contains(r.ORT.Operators, r.ORT.Version) {
		t.Errorf("operator statement %q does not name the version %s", r.ORT.Operators, r.ORT.Version)
	}
	if !r.ORT.CustomOp.Loads {
		t.Fatalf("custom-op library did not load: %+v", r.ORT.CustomOp)
	}
}

func TestCustomOpThatIsNotALibrary(t *testing.T) {
	r := Engines(Options{CustomOpLibrary: filepath.Join(t.TempDir(), "nope.so")})
	if r.ORT.CustomOp.Loads || r.ORT.CustomOp.Error == "" {
		t.Fatalf("a missing custom-op library reported as loading: %+v", r.ORT.CustomOp)
	}
}
