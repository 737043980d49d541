package convert_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/wtonnx/wtonnx/checkpoint"
	"github.com/wtonnx/wtonnx/convert"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/runtime"
	"github.com/wtonnx/wtonnx/runtime/ort"
	"github.com/wtonnx/wtonnx/tensor"
)

type refCase struct {
	Dir  string
	C, K int
	L, S int
}

// referenceCases lists the authors' cases in ../shared plus wtonnx's own in
// testdata/reference (same layout).
func referenceCases(t *testing.T) []refCase {
	t.Helper()
	var dirs []string
	for _, pat := range []string{"../../shared/reference/wtconv-official/*/case.json", "testdata/reference/*/case.json"} {
		m, _ := filepath.Glob(pat)
		dirs = append(dirs, m...)
	}
	if len(dirs) < 3 {
		t.Fatalf("found %d reference cases; is ../shared beside the repository?", len(dirs))
	}
	var cases []refCase
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var c struct{ C, K, L, S int }
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		cases = append(cases, refCase{Dir: filepath.Dir(p), C: c.C, K: c.K, L: c.L, S: c.S})
	}
	return cases
}

func openORT(t testing.TB, m *onnxpb.ModelProto, customOps ...string) runtime.Engine {
	t.Helper()
	return openORTLevel(t, m, "", customOps...)
}

// openORTLevel opens m on ONNX Runtime's CPU provider, one thread, at the
// given graph optimisation level ("" for its default, "all").
func openORTLevel(t testing.TB, m *onnxpb.ModelProto, level string, customOps ...string) runtime.Engine {
	t.Helper()
	lib, err := ort.FindLibrary("")
	if err != nil {
		t.Fatal(err)
	}
	data, err := onnxmodel.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	e, err := ort.Open(data, ort.Options{LibraryPath: lib, IntraOpThreads: 1, GraphOptLevel: level, CustomOpLibraries: customOps})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func runOne(t testing.TB, e runtime.Engine, x *tensor.Tensor) *tensor.Tensor {
	t.Helper()
	in := e.Inputs()[0].Name
	out, err := e.Run(context.Background(), map[string]*tensor.Tensor{in: x}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out[e.Outputs()[0].Name]
}

// maxAbsDiff fails the test on a shape mismatch.
func maxAbsDiff(t testing.TB, got, want *tensor.Tensor) float64 {
	t.Helper()
	if !tensor.SameShape(got.Shape, want.Shape) {
		t.Fatalf("shape %v, want %v", got.Shape, want.Shape)
	}
	d := 0.0
	for i := range want.F32 {
		d = math.Max(d, math.Abs(float64(got.F32[i])-float64(want.F32[i])))
	}
	return d
}

func TestImportReproducesOfficialModule(t *testing.T) {
	for _, rc := range referenceCases(t) {
		t.Run(filepath.Base(rc.Dir), func(t *testing.T) {
			src, err := onnxmodel.Load(filepath.Join(rc.Dir, "source.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			ck, err := checkpoint.Open(filepath.Join(rc.Dir, "weights.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			x, err := tensor.ReadNPY(filepath.Join(rc.Dir, "x.npy"))
			if err != nil {
				t.Fatal(err)
			}
			y, err := tensor.ReadNPY(filepath.Join(rc.Dir, "y.npy"))
			if err != nil {
				t.Fatal(err)
			}
			for _, format := range []convert.Format{convert.FormatOps, convert.FormatFunction, convert.FormatCustomOp} {
				m, rep, err := convert.Convert(src, convert.Options{
					Levels: rc.L, Kernel: rc.K, Init: convert.InitImport, Weights: ck, Format: format,
				})
				if err != nil {
					t.Fatal(err)
				}
				if len(rep.Converted) != 1 {
					t.Fatalf("%s: converted %d layers, want 1", format, len(rep.Converted))
				}
				var libs []string
				if format == convert.FormatCustomOp {
					libs = append(libs, customOpLibrary(t))
				}
				got := runOne(t, openORT(t, m, libs...), x)
				tol := 1e-5 * y.MaxAbs()
				if d := maxAbsDiff(t, got, y); d > tol {
					t.Fatalf("%s: max abs error %.3g > %.3g", format, d, tol)
				}
			}
		})
	}
}
