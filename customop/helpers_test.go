package customop_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
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

// randomLayer draws every tensor of the layer, including per-channel scales
// (so that a wrong channel or band index cannot hide behind equal values).
func randomLayer(t testing.TB, l wtconv.Layer, seed uint64) *wtconv.Weights {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	c, k := l.Channels, l.Kernel
	base := uniform(r, c*k*k, 1/float32(k))
	var bias []float32
	if l.Bias {
		bias = uniform(r, c, 0.5)
	}
	wt, err := wtconv.RandomWeights(l, base, bias, seed)
	if err != nil {
		t.Fatalf("RandomWeights(%+v): %v", l, err)
	}
	wt.BaseScale = uniform(r, c, 1.5)
	for i := range wt.WaveletScale {
		wt.WaveletScale[i] = uniform(r, 4*c, 1)
	}
	return wt
}

func uniform(r *rand.Rand, n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = (2*r.Float32() - 1) * scale
	}
	return v
}

func randomInput(n, c, h, w int, seed uint64) *tensor.Tensor {
	r := rand.New(rand.NewPCG(seed, 0x1234))
	return tensor.NewFloat32([]int{n, c, h, w}, uniform(r, n*c*h*w, 1))
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
