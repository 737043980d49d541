package goexec

import (
	"testing"

	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/testmodels"
)

// TestFixtures runs every testmodels fixture (real torchvision exports) and
// requires the Go engine to reproduce PyTorch's output.npy.
func TestFixtures(t *testing.T) {
	fixtures, err := testmodels.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fixtures {
		t.Run(f.Meta.Name, func(t *testing.T) {
			if err := f.Verify(); err != nil {
				t.Fatal(err)
			}
			e, err := Open(loadModel(t, f.ModelPath()), Options{})
			if err != nil {
				t.Fatal(err)
			}
			x, err := tensor.ReadNPY(f.InputPath())
			if err != nil {
				t.Fatal(err)
			}
			want, err := tensor.ReadNPY(f.OutputPath())
			if err != nil {
				t.Fatal(err)
			}
			got := run1(t, e, map[string]*tensor.Tensor{f.Meta.InputName: x})[f.Meta.OutputName]
			if !tensor.SameShape(got.Shape, want.Shape) {
				t.Fatalf("output shape %v, want %v", got.Shape, want.Shape)
			}
			d := maxAbsDiff(got.F32, want.F32)
			scale := want.MaxAbs()
			t.Logf("max |diff| %.3g, max |y| %.3g", d, scale)
			if d > 1e-4*scale {
				t.Errorf("max |diff| %g exceeds 1e-4 * max|y| = %g", d, 1e-4*scale)
			}
		})
	}
}
