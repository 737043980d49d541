// Package nodemodel builds one-node ONNX models around the fused
// ai.wtonnx::WTConv operator, well-formed or deliberately broken, for the
// custom-op library's tests and its sanitizer harness.
package nodemodel

import (
	"fmt"
	"math/rand/v2"

	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/customop"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/wtconv"
)

// InputNames are the node's inputs, in operator order.
var InputNames = [6]string{"x", "base_weight", "base_bias", "base_scale", "wavelet_weight", "wavelet_scale"}

// Spec describes a one-node WTConv model: x (a graph input) -> WTConv -> y.
// Weights are initializers; an input is absent when its tensor is nil.
type Spec struct {
	// XDims are the graph input's dims: -1 for a symbolic dimension; nil
	// declares no shape at all.
	XDims   []int64
	Weights [6]*tensor.Tensor // index 0 unused (x is the graph input)
	Attrs   []*onnxpb.AttributeProto
}

// IntAttr, FloatAttr and StringAttr build node attributes.
func IntAttr(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

// FloatAttr builds a float attribute (a wrong type for every WTConv attribute).
func FloatAttr(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

// StringAttr builds a string attribute.
func StringAttr(name, v string) *onnxpb.AttributeProto {
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

// Model serializes the spec as an ONNX model importing ai.wtonnx version 1.
func (s Spec) Model() ([]byte, error) {
	node := &onnxpb.NodeProto{
		Name: proto.String("wtconv0"), OpType: proto.String(customop.OpType), Domain: proto.String(customop.Domain),
		Output: []string{"y"}, Attribute: s.Attrs, Input: []string{"x"},
	}
	g := &onnxpb.GraphProto{
		Name:   proto.String("wtconv_test"),
		Input:  []*onnxpb.ValueInfoProto{valueInfo("x", s.XDims)},
		Output: []*onnxpb.ValueInfoProto{valueInfo("y", []int64{-1, -1, -1, -1})},
	}
	last := 0
	for i := 1; i < 6; i++ {
		if s.Weights[i] != nil {
			last = i
		}
	}
	for i := 1; i <= last; i++ {
		name := ""
		if w := s.Weights[i]; w != nil {
			name = InputNames[i]
			g.Initializer = append(g.Initializer, onnxmodel.FromTensor(name, w))
		}
		node.Input = append(node.Input, name)
	}
	g.Node = []*onnxpb.NodeProto{node}
	return onnxmodel.Marshal(&onnxpb.ModelProto{
		IrVersion:    proto.Int64(8),
		ProducerName: proto.String("wtonnx customop test"),
		OpsetImport: []*onnxpb.OperatorSetIdProto{
			{Domain: proto.String(""), Version: proto.Int64(17)},
			{Domain: proto.String(customop.Domain), Version: proto.Int64(customop.OpsetVersion)},
		},
		Graph: g,
	})
}

// ForLayer is the well-formed node for a layer and its weights.
func ForLayer(l wtconv.Layer, wt *wtconv.Weights) Spec {
	c, k, kb := l.Channels, l.Kernel, l.BaseKernelSize()
	s := Spec{XDims: []int64{-1, int64(c), -1, -1}}
	s.Weights[1] = tensor.NewFloat32([]int{c, 1, kb, kb}, wt.Base)
	if wt.Bias != nil {
		s.Weights[2] = tensor.NewFloat32([]int{c}, wt.Bias)
	}
	s.Weights[3] = tensor.NewFloat32([]int{c}, wt.BaseScale)
	if l.Levels > 0 {
		var ww, ws []float32
		for i := 0; i < l.Levels; i++ {
			ww = append(ww, wt.Wavelet[i]...)
			ws = append(ws, wt.WaveletScale[i]...)
		}
		s.Weights[4] = tensor.NewFloat32([]int{l.Levels, 4 * c, 1, k, k}, ww)
		s.Weights[5] = tensor.NewFloat32([]int{l.Levels, 4 * c}, ws)
	}
	s.Attrs = []*onnxpb.AttributeProto{IntAttr("levels", int64(l.Levels))}
	if l.Stride != 1 {
		s.Attrs = append(s.Attrs, IntAttr("stride", int64(l.Stride)))
	}
	if l.WaveletName() != wtconv.DefaultWavelet {
		s.Attrs = append(s.Attrs, StringAttr("wavelet", l.WaveletName()))
	}
	return s
}

// RandomWeights draws every tensor of the layer, per-channel scales
// included (so that a wrong channel or band index cannot hide behind equal
// values), deterministically for a seed.
func RandomWeights(l wtconv.Layer, seed uint64) (*wtconv.Weights, error) {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	c, kb := l.Channels, l.BaseKernelSize()
	base := uniform(r, c*kb*kb, 1/float32(kb))
	var bias []float32
	if l.Bias {
		bias = uniform(r, c, 0.5)
	}
	wt, err := wtconv.RandomWeights(l, base, bias, seed)
	if err != nil {
		return nil, fmt.Errorf("RandomWeights(%+v): %w", l, err)
	}
	wt.BaseScale = uniform(r, c, 1.5)
	for i := range wt.WaveletScale {
		wt.WaveletScale[i] = uniform(r, 4*c, 1)
	}
	return wt, nil
}

// RandomInput draws an n x c x h x w input uniform in [-1, 1).
func RandomInput(n, c, h, w int, seed uint64) *tensor.Tensor {
	r := rand.New(rand.NewPCG(seed, 0x1234))
	return tensor.NewFloat32([]int{n, c, h, w}, uniform(r, n*c*h*w, 1))
}

func uniform(r *rand.Rand, n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = (2*r.Float32() - 1) * scale
	}
	return v
}
