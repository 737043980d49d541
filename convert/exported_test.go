package convert_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/convert"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/testmodels"
	"github.com/wtonnx/wtonnx/testmodels/reference"
)

// TestConvertLeavesExportedLayersWhole: no conv of a PyTorch export's WTConv
// layer becomes a WTConv layer; each is skipped naming its layer, and the
// warning points to wtonnx fuse.
func TestConvertLeavesExportedLayersWhole(t *testing.T) {
	cases, err := reference.Exports()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		p := c.Name
		m, err := onnxmodel.Load(c.ModelPath())
		if err != nil {
			t.Fatal(err)
		}
		_, rep, err := convert.Convert(m, convert.Options{Levels: convert.AutoLevels, Init: convert.InitRandom})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if len(rep.Converted) != 0 || len(rep.Skipped) == 0 {
			t.Errorf("%s: converted %d, skipped %d", p, len(rep.Converted), len(rep.Skipped))
		}
		for _, s := range rep.Skipped {
			if !strings.Contains(s.Reason, "part of the WTConv layer") {
				t.Errorf("%s: %s skipped for %q", p, s.Node, s.Reason)
			}
		}
		if len(rep.Warnings) == 0 || !strings.Contains(rep.Warnings[0], "wtonnx fuse") {
			t.Errorf("%s: warnings %v", p, rep.Warnings)
		}
	}
}

// TestLevelsThatCannotBeChosenSkipOneLayer: with levels auto and no static
// size, each conv is skipped with the reason; the run does not abort.
func TestLevelsThatCannotBeChosenSkipOneLayer(t *testing.T) {
	m, err := onnxmodel.Load(filepath.Join(testmodels.Dir(), "mobilenet_v2_dynamic", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	_, rep, err := convert.Convert(m, convert.Options{Levels: convert.AutoLevels, Init: convert.InitRandom})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range rep.Skipped {
		if strings.Contains(s.Reason, "levels auto needs the conv's input size") {
			n++
		}
	}
	if n == 0 || len(rep.Converted) != 0 {
		t.Errorf("converted %d, skipped for the size %d of %d", len(rep.Converted), n, len(rep.Skipped))
	}
}
