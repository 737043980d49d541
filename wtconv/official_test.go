package wtconv_test

import (
	"math"
	"testing"

	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/testmodels/reference"
	"github.com/wtonnx/wtonnx/wtconv"
)

// loadCase reads a reference case's layer, weights, input and output.
func loadCase(t testing.TB, c reference.Case) (wtconv.Layer, *wtconv.Weights, *tensor.Tensor, *tensor.Tensor) {
	t.Helper()
	wt, err := c.Weights()
	if err != nil {
		t.Fatal(err)
	}
	x, err := c.Input()
	if err != nil {
		t.Fatal(err)
	}
	y, err := c.Output()
	if err != nil {
		t.Fatal(err)
	}
	return c.Layer(), wt, x, y
}

func cases(t testing.TB, load func() ([]reference.Case, error)) []reference.Case {
	t.Helper()
	cs, err := load()
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func TestForwardMatchesOfficialModule(t *testing.T) { testCases(t, cases(t, reference.Official)) }

// TestForwardMatchesTorchCases covers what the official cases lack: even
// kernels, strides 2 and 3, no bias, batch 2, deep levels on tiny maps
// (computed by testdata/gen_torch_cases.py with PyTorch's own ops).
func TestForwardMatchesTorchCases(t *testing.T) { testCases(t, cases(t, reference.Torch)) }

func testCases(t *testing.T, cs []reference.Case) {
	for _, oc := range cs {
		t.Run(oc.Name, func(t *testing.T) {
			layer, wt, x, y := loadCase(t, oc)
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
