package erf_test

import (
	"context"
	"math"
	"testing"

	"github.com/wtonnx/wtonnx/convert"
	"github.com/wtonnx/wtonnx/erf"
	"github.com/wtonnx/wtonnx/fuse"
	"github.com/wtonnx/wtonnx/onnxmodel"
)

// TestExportedLayer pictures a PyTorch export's layer, and the same layer
// after fuse against the export: one response, in both models.
func TestExportedLayer(t *testing.T) {
	src, err := onnxmodel.Load("../../shared/reference/exported/e01_single_c16_k5_l3/model.onnx")
	if err != nil {
		t.Fatal(err)
	}
	alone, err := erf.FromModels(context.Background(), src, nil, "wt", erf.Options{Channel: -1})
	if err != nil {
		t.Fatal(err)
	}
	if alone.Form != "pytorch" || alone.WTConv.Levels != 3 || alone.WTConv.Extent() == 0 {
		t.Fatalf("%+v", alone)
	}
	fused, _, err := fuse.Fuse(src, fuse.Options{Format: convert.FormatCustomOp})
	if err != nil {
		t.Fatal(err)
	}
	r, err := erf.FromModels(context.Background(), fused, src, "wt", erf.Options{Channel: -1})
	if err != nil {
		t.Fatal(err)
	}
	if r.Original == nil || r.Original.Extent() != r.WTConv.Extent() || r.Channel != alone.Channel {
		t.Fatalf("fused %d px, export %v, channels %d %d", r.WTConv.Extent(), r.Original, r.Channel, alone.Channel)
	}
	d := 0.0
	for i := range r.WTConv.Values {
		d = math.Max(d, math.Abs(r.WTConv.Values[i]-r.Original.Values[i]))
	}
	if d > 1e-5*r.WTConv.Max() {
		t.Errorf("responses differ by %g", d)
	}
}
