package customop_test

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/wtonnx/wtonnx/customop"
	"github.com/wtonnx/wtonnx/customop/internal/nodemodel"
	"github.com/wtonnx/wtonnx/runtime/ort"
	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/wtconv"
)

// libraries returns the ONNX Runtime and custom-op library paths, failing
// the test with the finders' messages when either is missing.
func libraries(t testing.TB) (ortLib, opLib string) {
	t.Helper()
	ortLib, err := ort.FindLibrary("")
	if err != nil {
		t.Fatal(err)
	}
	opLib, err = customop.FindLibrary("")
	if err != nil {
		t.Fatal(err)
	}
	return ortLib, opLib
}

// open creates an ONNX Runtime session with the custom-op library.
func open(t testing.TB, model []byte, threads int) (*ort.Engine, error) {
	t.Helper()
	ortLib, opLib := libraries(t)
	return ort.Open(model, ort.Options{
		LibraryPath:       ortLib,
		IntraOpThreads:    threads,
		CustomOpLibraries: []string{opLib},
	})
}

func mustOpen(t testing.TB, model []byte, threads int) *ort.Engine {
	t.Helper()
	e, err := open(t, model, threads)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func run(e *ort.Engine, x *tensor.Tensor) (*tensor.Tensor, error) {
	out, err := e.Run(context.Background(), map[string]*tensor.Tensor{"x": x}, nil)
	if err != nil {
		return nil, err
	}
	y, ok := out["y"]
	if !ok {
		return nil, fmt.Errorf("no output y")
	}
	return y, nil
}

// maxAbsDiff returns max |a-b| and max |b|.
func maxAbsDiff(a, b []float32) (diff, scale float64) {
	for i := range a {
		diff = math.Max(diff, math.Abs(float64(a[i])-float64(b[i])))
		scale = math.Max(scale, math.Abs(float64(b[i])))
	}
	return diff, scale
}

// model serializes a spec, failing the test on error.
func model(t testing.TB, s nodemodel.Spec) []byte {
	t.Helper()
	b, err := s.Model()
	if err != nil {
		t.Fatalf("marshal model: %v", err)
	}
	return b
}

// randomLayer draws a layer's weights (see nodemodel.RandomWeights).
func randomLayer(t testing.TB, l wtconv.Layer, seed uint64) *wtconv.Weights {
	t.Helper()
	wt, err := nodemodel.RandomWeights(l, seed)
	if err != nil {
		t.Fatal(err)
	}
	return wt
}
