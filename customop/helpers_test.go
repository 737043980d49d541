package customop_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/customop"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/runtime/ort"
	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/wtconv"
)

// Input names of the one-node test models, in operator input order.
var inputNames = [6]string{"x", "base_weight", "base_bias", "base_scale", "wavelet_weight", "wavelet_scale"}

// nodeSpec describes a one-node WTConv model. Weights are initializers; an
// input is absent when its tensor is nil.
type nodeSpec struct {
	// xDims are the graph input's dims: -1 for a symbolic dimension; nil
	// declares no shape at all.
	xDims   []int64
	weights [6]*tensor.Tensor // index 0 unused (x is the graph input)
	attrs   []*onnxpb.AttributeProto
}

func intAttr(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func floatAttr(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

func stringAttr(name, v string) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(v)}
}

func valueInfo(name string, dims []int64) *onnxpb.ValueInfoProto {
	tt := &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT))}
	if dims != nil {
		shape := &onnxpb.TensorShapeProto{}
		for i, d := range dims {
			dim := &onnxpb.TensorShapeProto_Dimension{}
			if d >= 0 {
				dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}
			} else {
				dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: fmt.Sprintf("%s_d%d", name, i)}
			}
			shape.Dim = append(shape.Dim, dim)
		}
		tt.Shape = shape
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}}}
}

// model serializes the spec as an ONNX model importing ai.wtonnx version 1.
func (s nodeSpec) model(t testing.TB) []byte {
	t.Helper()
	node := &onnxpb.NodeProto{
		Name:      proto.String("wtconv0"),
		OpType:    proto.String(customop.OpType),
		Domain:    proto.String(customop.Domain),
		Output:    []string{"y"},
		Attribute: s.attrs,
	}
	g := &onnxpb.GraphProto{
		Name:   proto.String("wtconv_test"),
		Input:  []*onnxpb.ValueInfoProto{valueInfo("x", s.xDims)},
		Output: []*onnxpb.ValueInfoProto{valueInfo("y", []int64{-1, -1, -1, -1})},
	}
	last := 0
	for i := 1; i < 6; i++ {
		if s.weights[i] != nil {
			last = i
		}
	}
	node.Input = []string{"x"}
	for i := 1; i <= last; i++ {
		name := ""
		if w := s.weights[i]; w != nil {
			name = inputNames[i]
			g.Initializer = append(g.Initializer, onnxmodel.FromTensor(name, w))
		}
		node.Input = append(node.Input, name)
	}
	g.Node = []*onnxpb.NodeProto{node}
	m := &onnxpb.ModelProto{
		IrVersion:    proto.Int64(8),
		ProducerName: proto.String("wtonnx customop test"),
		OpsetImport: []*onnxpb.OperatorSetIdProto{
			{Domain: proto.String(""), Version: proto.Int64(17)},
			{Domain: proto.String(customop.Domain), Version: proto.Int64(customop.OpsetVersion)},
		},
		Graph: g,
	}
	b, err := onnxmodel.Marshal(m)
	if err != nil {
		t.Fatalf("marshal model: %v", err)
	}
	return b
}

// layerSpec is the well-formed node for a layer and its weights.
func layerSpec(l wtconv.Layer, wt *wtconv.Weights) nodeSpec {
	c, k := l.Channels, l.Kernel
	s := nodeSpec{xDims: []int64{-1, int64(c), -1, -1}}
	s.weights[1] = tensor.NewFloat32([]int{c, 1, k, k}, wt.Base)
	if wt.Bias != nil {
		s.weights[2] = tensor.NewFloat32([]int{c}, wt.Bias)
	}
	s.weights[3] = tensor.NewFloat32([]int{c}, wt.BaseScale)
	if l.Levels > 0 {
		var ww, ws []float32
		for i := 0; i < l.Levels; i++ {
			ww = append(ww, wt.Wavelet[i]...)
			ws = append(ws, wt.WaveletScale[i]...)
		}
		s.weights[4] = tensor.NewFloat32([]int{l.Levels, 4 * c, 1, k, k}, ww)
		s.weights[5] = tensor.NewFloat32([]int{l.Levels, 4 * c}, ws)
	}
	s.attrs = []*onnxpb.AttributeProto{intAttr("levels", int64(l.Levels))}
	if l.Stride != 1 {
		s.attrs = append(s.attrs, intAttr("stride", int64(l.Stride)))
	}
	return s
}

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
