package doctor

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/opset"
)

func TestGoEngineOperatorsAreTheRegistry(t *testing.T) {
	ops := GoEngineOperators()
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

func TestOperatorsFindsONNXRuntimeAndTheCustomOp(t *testing.T) {
	r := Operators(Options{})
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
	r := Operators(Options{CustomOpLibrary: filepath.Join(t.TempDir(), "nope.so")})
	if r.ORT.CustomOp.Loads || r.ORT.CustomOp.Error == "" {
		t.Fatalf("a missing custom-op library reported as loading: %+v", r.ORT.CustomOp)
	}
}

func TestCustomOpNeedsANewEnoughONNXRuntime(t *testing.T) {
	r := Report{
		ONNXRuntime: []ORTSet{{Path: "/x/libonnxruntime.so.1", Version: "1.30.0", DefaultFor: []string{"cpu"}}},
		CustomOp:    CustomOp{Path: "/x/lib.so", APIMin: 17, APIMax: 29},
	}
	if o := ortOperators(r); !o.CustomOp.Loads || o.Version != "1.30.0" || !strings.Contains(o.Operators, "1.30.0") {
		t.Errorf("API 17.. with ONNX Runtime 1.30: %+v", o)
	}
	r.CustomOp.APIMin = 31
	if o := ortOperators(r); o.CustomOp.Loads || !strings.Contains(o.CustomOp.Error, "C API 31 or newer") {
		t.Errorf("API 31.. with ONNX Runtime 1.30: %+v", o.CustomOp)
	}
	r.ONNXRuntime = nil
	if o := ortOperators(r); o.Error == "" || o.CustomOp.Loads {
		t.Errorf("no ONNX Runtime: %+v", o)
	}
}
