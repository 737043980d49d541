package wtconv_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/wtonnx/wtonnx/checkpoint"
	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/wtconv"
)

// officialDir holds the cases produced by the authors' PyTorch module; CI
// clones the repository with shared/ beside it.
const officialDir = "../../shared/reference/wtconv-official"

type officialCase struct {
	Name   string `json:"name"`
	C      int    `json:"C"`
	K      int    `json:"k"`
	L      int    `json:"L"`
	S      int    `json:"s"`
	Bias   bool   `json:"bias"`
	N      int    `json:"N"`
	H      int    `json:"H"`
	W      int    `json:"W"`
	YShape []int  `json:"y_shape"`
}

// torchDir holds cases written by testdata/gen_torch_cases.py, which
// re-states the official forward with PyTorch ops: even kernels, strides 2
// and 3, no bias, batch 2 (the official cases have none of these).
const torchDir = "testdata/torch"

func caseDirs(t testing.TB, root string) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(root, "*", "case.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatalf("no cases under %s (shared/ must sit beside the repository)", root)
	}
	for i, d := range dirs {
		dirs[i] = filepath.Dir(d)
	}
	return dirs
}

func loadOfficial(t testing.TB, dir string) (officialCase, wtconv.Layer, *wtconv.Weights, *tensor.Tensor, *tensor.Tensor) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "case.json"))
	if err != nil {
		t.Fatal(err)
	}
	var oc officialCase
	if err := json.Unmarshal(b, &oc); err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	layer := wtconv.Layer{Channels: oc.C, Kernel: oc.K, Levels: oc.L, Stride: oc.S, Bias: oc.Bias}
	ck, err := checkpoint.Open(filepath.Join(dir, "weights.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	wt, err := ck.LayerWeights("layer.", layer)
	if err != nil {
		t.Fatal(err)
	}
	x, err := tensor.ReadNPY(filepath.Join(dir, "x.npy"))
	if err != nil {
		t.Fatal(err)
	}
	y, err := tensor.ReadNPY(filepath.Join(dir, "y.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if !tensor.SameShape(x.Shape, []int{oc.N, oc.C, oc.H, oc.W}) {
		t.Fatalf("%s: x.npy has shape %v, case.json says %dx%dx%dx%d", dir, x.Shape, oc.N, oc.C, oc.H, oc.W)
	}
	return oc, layer, wt, x, y
}

func TestForwardMatchesOfficialModule(t *testing.T) { testCases(t, caseDirs(t, officialDir)) }

func TestForwardMatchesTorchCases(t *testing.T) { testCases(t, caseDirs(t, torchDir)) }

func testCases(t *testing.T, dirs []string) {
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			oc, layer, wt, x, y := loadOfficial(t, dir)
			out, oh, ow, err := wtconv.Forward(layer, wt, x.F32, oc.N, oc.H, oc.W)
			if err != nil {
				t.Fatal(err)
			}
			if got := []int{oc.N, oc.C, oh, ow}; !tensor.SameShape(got, y.Shape) {
				t.Fatalf("output shape %v, official %v", got, y.Shape)
			}
			maxErr := 0.0
			for i, v := range out {
				maxErr = math.Max(maxErr, math.Abs(float64(v)-float64(y.F32[i])))
			}
			tol := 1e-5 * y.MaxAbs()
			t.Logf("%s: max |y| = %.4g, max abs error = %.3g (tolerance %.3g)", oc.Name, y.MaxAbs(), maxErr, tol)
			if !(maxErr <= tol) {
				t.Errorf("max abs error %.3g exceeds %.3g", maxErr, tol)
			}
			// The wavelet branch must matter in these cases, or the
			// comparison would not test it: dropping it must break the match.
			noWav := wt.Clone()
			for i := range noWav.WaveletScale {
				for j := range noWav.WaveletScale[i] {
					noWav.WaveletScale[i][j] = 0
				}
			}
			base, _, _, err := wtconv.Forward(layer, noWav, x.F32, oc.N, oc.H, oc.W)
			if err != nil {
				t.Fatal(err)
			}
			d := 0.0
			for i, v := range base {
				d = math.Max(d, math.Abs(float64(v)-float64(y.F32[i])))
			}
			if d <= 100*tol {
				t.Errorf("without the wavelet branch the error is only %.3g: the case does not exercise it", d)
			}
		})
	}
}
