package graph

import (
	"path/filepath"
	"testing"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/tensor"
)

// PyTorch's exports of WTConv layers pad odd sizes by amounts computed with
// Shape, Gather, Mod, Concat, Cast and ConstantOfShape; with the input's
// shape fixed, every tensor's shape is known statically through them.
func TestInferShapesThroughPyTorchShapeArithmetic(t *testing.T) {
	dirs, err := filepath.Glob("../../shared/reference/exported/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no exports: %v", err)
	}
	for _, dir := range dirs {
		m, err := onnxmodel.Load(filepath.Join(dir, "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		x, err := tensor.ReadNPY(filepath.Join(dir, "x.npy"))
		if err != nil {
			t.Fatal(err)
		}
		dims := make([]int64, len(x.Shape))
		for i, d := range x.Shape {
			dims[i] = int64(d)
		}
		s, err := InferShapes(m, map[string][]int64{m.GetGraph().GetInput()[0].GetName(): dims})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range m.GetGraph().GetNode() {
			for _, o := range n.GetOutput() {
				if o != "" && !s.Of(o).Known() {
					t.Errorf("%s: %s output %q has shape %v", filepath.Base(dir), n.GetOpType(), o, s.Of(o))
				}
			}
		}
		y, err := tensor.ReadNPY(filepath.Join(dir, "y.npy"))
		if err != nil {
			t.Fatal(err)
		}
		got := s.Of(m.GetGraph().GetOutput()[0].GetName())
		if len(got) != len(y.Shape) {
			t.Fatalf("%s: output shape %v, y.npy is %v", filepath.Base(dir), got, y.Shape)
		}
		for i := range got {
			if got[i] != int64(y.Shape[i]) {
				t.Errorf("%s: output shape %v, y.npy is %v", filepath.Base(dir), got, y.Shape)
				break
			}
		}
	}
}
