package convert_test

import (
	"context"
	"math"
	"testing"

	"github.com/wtonnx/wtonnx/checkpoint"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/runtime"
	"github.com/wtonnx/wtonnx/runtime/ort"
	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/testmodels/reference"
)

// referenceCases lists the authors' cases and wtonnx's own PyTorch-computed
// ones (even kernels, strides, no bias, batches, deep levels on tiny maps).
func referenceCases(t *testing.T) []reference.Case {
	t.Helper()
	cases, err := reference.All()
	if err != nil {
		t.Fatal(err)
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

// caseData reads a case's checkpoint, input and reference output.
func caseData(t testing.TB, rc reference.Case) (*checkpoint.Checkpoint, *tensor.Tensor, *tensor.Tensor) {
	t.Helper()
	ck, err := checkpoint.Open(rc.WeightsPath())
	if err != nil {
		t.Fatal(err)
	}
	x, err := rc.Input()
	if err != nil {
		t.Fatal(err)
	}
	y, err := rc.Output()
	if err != nil {
		t.Fatal(err)
	}
	return ck, x, y
}

// sourceModel loads the case's source.onnx or, for wtonnx's own cases,
// builds the same one-node model: x -> depthwise Conv (kernel src_k, stride
// s, same padding; weight layer.weight, bias layer.bias) -> y.
func sourceModel(t testing.TB, rc reference.Case) *onnxpb.ModelProto {
	t.Helper()
	if p := rc.SourcePath(); p != "" {
		m, err := onnxmodel.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := depthwiseModel(rc.N, rc.C, rc.H, rc.W, rc.SrcK)
	g := m.GetGraph()
	g.Initializer[0].Name = ptr("layer.weight")
	n := g.Node[0]
	n.Input[1] = "layer.weight"
	if rc.Bias {
		g.Initializer = append(g.Initializer, onnxmodel.NewFloat32Tensor("layer.bias", []int64{int64(rc.C)}, make([]float32, rc.C)))
		n.Input = append(n.Input, "layer.bias")
	}
	n.Attribute = append(n.Attribute, &onnxpb.AttributeProto{Name: ptr("strides"), Type: ptr(onnxpb.AttributeProto_INTS), Ints: []int64{int64(rc.S), int64(rc.S)}})
	outH, outW := (rc.H+rc.S-1)/rc.S, (rc.W+rc.S-1)/rc.S
	g.Output[0].Type.GetTensorType().Shape.Dim[2].Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(outH)}
	g.Output[0].Type.GetTensorType().Shape.Dim[3].Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(outW)}
	return m
}
