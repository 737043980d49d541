package inspect_test

import (
	"testing"

	"github.com/wtonnx/wtonnx/inspect"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/testmodels/reference"
)

// TestInspectExports: every PyTorch export lists exactly the layers of its
// case.json, and its cost table has them as wtconv rows of form pytorch.
func TestInspectExports(t *testing.T) {
	cases, err := reference.Exports()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		m, err := onnxmodel.Load(c.ModelPath())
		if err != nil {
			t.Fatal(err)
		}
		s, err := inspect.Inspect(m, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.WTConvLayers) != len(c.Layers) || len(s.NearMisses) != 0 || s.Candidates != 0 {
			t.Errorf("%s: %d layers (want %d), %d near misses, %d candidates", c.Name, len(s.WTConvLayers), len(c.Layers), len(s.NearMisses), s.Candidates)
			continue
		}
		for _, l := range s.WTConvLayers {
			w := c.Layer(l.Module)
			if w == nil || l.Form != "pytorch" || l.Channels != w.C || l.Kernel != w.Kernel || l.Levels != w.Levels ||
				l.Stride != w.Stride || l.Bias != w.Bias || l.Wavelet != w.Wavelet {
				t.Errorf("%s: layer %+v, want %+v", c.Name, l, w)
			}
		}
		n := 0
		for _, r := range s.Costs.Layers {
			if r.Kind == inspect.KindWTConv && r.Form == "pytorch" {
				n++
			}
		}
		if n != len(c.Layers) || s.Costs.Totals.Depthwise != 0 {
			t.Errorf("%s: %d wtconv rows, %d depthwise", c.Name, n, s.Costs.Totals.Depthwise)
		}
	}
}
