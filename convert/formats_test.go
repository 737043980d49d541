package convert_test

import (
	"path/filepath"
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

// TestFormatsAgreeOnDynamicOddSizes converts the dynamic MobileNetV2
// (stride-2 depthwise convs included) with random wavelet weights and runs
// every form, on both engines, at odd and even sizes: the standard-op form
// crops with run-time Slices there, the fused kernels compute sizes
// themselves, so agreement checks the dynamic path.
func TestFormatsAgreeOnDynamicOddSizes(t *testing.T) {
	m, err := onnxmodel.Load(filepath.Join(testmodels.Dir(), "mobilenet_v2_dynamic", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	var es []runtime.Engine
	var names []string
	for _, f := range allFormats {
		c, _, err := convert.Convert(m, convert.Options{Init: convert.InitRandom, Seed: 9, Levels: 2, Format: f})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for name, e := range engines(t, c, f) {
			es = append(es, e)
			names = append(names, string(f)+"/"+name)
		}
	}
	for _, hw := range [][2]int{{67, 69}, {97, 96}, {130, 128}} {
		x := tensor.NewFloat32([]int{2, 3, hw[0], hw[1]}, nil)
		for i := range x.F32 {
			x.F32[i] = float32((i*7919)%200)/100 - 1
		}
		want := runOne(t, es[0], x)
		for i, e := range es[1:] {
			if d := maxAbsDiff(t, runOne(t, e, x), want) / want.MaxAbs(); d > 1e-5 {
				t.Fatalf("%v: %s differs from %s by %.3g relative", hw, names[i+1], names[0], d)
			}
		}
	}
}
