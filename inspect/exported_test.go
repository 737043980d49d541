package inspect_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/wtonnx/wtonnx/inspect"
	"github.com/wtonnx/wtonnx/onnxmodel"
)

// TestInspectExports: every PyTorch export lists exactly the layers of its
// case.json, and its cost table has them as wtconv rows of form pytorch.
func TestInspectExports(t *testing.T) {
	dirs, _ := filepath.Glob("../../shared/reference/exported/*/case.json")
	if len(dirs) < 7 {
		t.Fatalf("found %d exported cases; is ../shared beside the repository?", len(dirs))
	}
	for _, p := range dirs {
		dir := filepath.Dir(p)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var c struct {
			Layers []struct {
				Module  string `json:"module"`
				C       int    `json:"C"`
				Kernel  int    `json:"kernel"`
				Levels  int    `json:"levels"`
				Stride  int    `json:"stride"`
				Bias    bool   `json:"bias"`
				Wavelet string `json:"wavelet"`
			} `json:"wtconv_layers"`
		}
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		m, err := onnxmodel.Load(filepath.Join(dir, "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		s, err := inspect.Inspect(m, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.WTConvLayers) != len(c.Layers) || len(s.NearMisses) != 0 || s.Candidates != 0 {
			t.Errorf("%s: %d layers (want %d), %d near misses, %d candidates", dir, len(s.WTConvLayers), len(c.Layers), len(s.NearMisses), s.Candidates)
			continue
		}
		for i, l := range s.WTConvLayers {
			w := c.Layers[i]
			if l.Module != w.Module || l.Form != "pytorch" || l.Channels != w.C || l.Kernel != w.Kernel || l.Levels != w.Levels ||
				l.Stride != w.Stride || l.Bias != w.Bias || l.Wavelet != w.Wavelet {
				t.Errorf("%s: layer %d is %+v, want %+v", dir, i, l, w)
			}
		}
		n := 0
		for _, r := range s.Costs.Layers {
			if r.Kind == inspect.KindWTConv && r.Form == "pytorch" {
				n++
			}
		}
		if n != len(c.Layers) || s.Costs.Totals.Depthwise != 0 {
			t.Errorf("%s: %d wtconv rows, %d depthwise", dir, n, s.Costs.Totals.Depthwise)
		}
	}
}
