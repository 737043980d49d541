package goexec

import (
	"context"
	"fmt"
	"math"
	"os"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
)

// sharedDir is the shared/ folder beside the repository.
const sharedDir = "../../../shared"

func loadModel(t testing.TB, path string) *onnxpb.ModelProto {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := &onnxpb.ModelProto{}
	if err := proto.Unmarshal(b, m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

func loadTensorPB(t testing.TB, path string) *tensor.Tensor {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tp := &onnxpb.TensorProto{}
	if err := proto.Unmarshal(b, tp); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	x, err := onnxmodel.ToTensor(tp)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return x
}

// compare reports the first element outside |got-want| <= abs + rel*|want|.
func compare(got, want *tensor.Tensor, rel, abs float64) error {
	if got.DType != want.DType {
		return fmt.Errorf("dtype %v, want %v", got.DType, want.DType)
	}
	if !tensor.SameShape(got.Shape, want.Shape) {
		return fmt.Errorf("shape %v, want %v", got.Shape, want.Shape)
	}
	g, w := got.Float64s(), want.Float64s()
	for i := range g {
		if (math.IsNaN(w[i]) && math.IsNaN(g[i])) || g[i] == w[i] {
			continue
		}
		if d := math.Abs(g[i] - w[i]); !(d <= abs+rel*math.Abs(w[i])) {
			return fmt.Errorf("element %d: got %g, want %g (diff %g)", i, g[i], w[i], d)
		}
	}
	return nil
}

// maxAbsDiff is max |a-b| over all elements.
func maxAbsDiff(a, b []float32) float64 {
	m := 0.0
	for i := range a {
		d := math.Abs(float64(a[i]) - float64(b[i]))
		if d > m || math.IsNaN(d) {
			m = d
		}
	}
	return m
}

func run1(t testing.TB, e *Engine, inputs map[string]*tensor.Tensor, outputs ...string) map[string]*tensor.Tensor {
	t.Helper()
	var names []string
	if len(outputs) > 0 {
		names = outputs
	}
	res, err := e.Run(context.Background(), inputs, names)
	if err != nil {
		t.Fatal(err)
	}
	return res
}
