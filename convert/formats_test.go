package convert_test

import (
	"testing"

	"github.com/wtonnx/wtonnx/convert"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/runtime"
	"github.com/wtonnx/wtonnx/runtime/goexec"
	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/testmodels"
)

func openGo(t testing.TB, m *onnxpb.ModelProto) runtime.Engine {
	t.Helper()
	e, err := goexec.Open(m, goexec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

var allFormats = []convert.Format{convert.FormatOps, convert.FormatFunction, convert.FormatCustomOp}

// engines opens m on ONNX Runtime (with the custom-op library for the fused
// form) and on the Go engine.
func engines(t testing.TB, m *onnxpb.ModelProto, f convert.Format) map[string]runtime.Engine {
	var libs []string
	if f == convert.FormatCustomOp {
		libs = append(libs, customOpLibrary(t))
	}
	return map[string]runtime.Engine{"ort": openORT(t, m, libs...), "go": openGo(t, m)}
}

// TestFormatsAgreeOnFixtures converts each fixture with random wavelet
// weights in the three forms and checks that every form, on both engines,
// gives what the standard-op form gives on ONNX Runtime.
func TestFormatsAgreeOnFixtures(t *testing.T) {
	fixtures, err := testmodels.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fixtures {
		if len(f.Meta.DepthwiseConvs) == 0 {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			m, err := onnxmodel.Load(f.ModelPath())
			if err != nil {
				t.Fatal(err)
			}
			x, err := tensor.ReadNPY(f.InputPath())
			if err != nil {
				t.Fatal(err)
			}
			opts := convert.Options{Init: convert.InitRandom, Seed: 11, Levels: 2}
			if f.Meta.Opset < 10 {
				opts.Format = convert.FormatFunction
				if _, _, err := convert.Convert(m, opts); err == nil {
					t.Fatal("function form accepted at opset 9")
				}
			}
			var want *tensor.Tensor
			for _, format := range allFormats {
				if format == convert.FormatFunction && f.Meta.Opset < 10 {
					continue
				}
				opts.Format = format
				c, _, err := convert.Convert(m, opts)
				if err != nil {
					t.Fatalf("%s: %v", format, err)
				}
				for name, e := range engines(t, c, format) {
					got := runOne(t, e, x)
					if want == nil {
						want = got
						continue
					}
					if d := maxAbsDiff(t, got, want) / want.MaxAbs(); d > 1e-5 {
						t.Fatalf("%s on %s differs from ops on ort by %.3g relative", format, name, d)
					}
				}
			}
		})
	}
}

// TestFormatsReproduceOfficialOnGoEngine is the official-module check on the
// Go engine, for every form.
func TestFormatsReproduceOfficialOnGoEngine(t *testing.T) {
	for _, rc := range referenceCases(t) {
		src := sourceModel(t, rc)
		ck, x, y := caseData(t, rc)
		for _, format := range allFormats {
			m, _, err := convert.Convert(src, convert.Options{Levels: rc.L, Kernel: rc.K, Init: convert.InitImport, Weights: ck, Format: format})
			if err != nil {
				t.Fatal(err)
			}
			got := runOne(t, openGo(t, m), x)
			if d := maxAbsDiff(t, got, y); d > 1e-5*y.MaxAbs() {
				t.Fatalf("%s %s on the Go engine: max abs error %.3g", rc.Name, format, d)
			}
		}
	}
}
