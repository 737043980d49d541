package goexec

import (
	"context"
	"testing"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
)

// gb builds small test models.
type gb struct {
	g      *onnxpb.GraphProto
	opset  int64
	extra  []*onnxpb.OperatorSetIdProto
	funcs  []*onnxpb.FunctionProto
	nnodes int
}

func newGB(opset int64) *gb { return &gb{g: &onnxpb.GraphProto{Name: strp("test")}, opset: opset} }

func valueInfo32(name string, dt onnxpb.TensorProto_DataType, dims []int64) *onnxpb.ValueInfoProto {
	tt := &onnxpb.TypeProto_Tensor{ElemType: ptr(int32(dt))}
	if dims != nil {
		tt.Shape = &onnxpb.TensorShapeProto{}
		for _, d := range dims {
			dim := &onnxpb.TensorShapeProto_Dimension{}
			if d >= 0 {
				dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}
			} else {
				dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "dyn"}
			}
			tt.Shape.Dim = append(tt.Shape.Dim, dim)
		}
	}
	return &onnxpb.ValueInfoProto{Name: strp(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}}}
}

// input declares a graph input; dims nil = unknown rank, -1 = dynamic.
func (b *gb) input(name string, dt onnxpb.TensorProto_DataType, dims ...int64) *gb {
	if dims == nil {
		dims = []int64{}
	}
	b.g.Input = append(b.g.Input, valueInfo32(name, dt, dims))
	return b
}

func (b *gb) inputAnyShape(name string, dt onnxpb.TensorProto_DataType) *gb {
	b.g.Input = append(b.g.Input, valueInfo32(name, dt, nil))
	return b
}

func (b *gb) init(name string, t *tensor.Tensor) *gb {
	b.g.Initializer = append(b.g.Initializer, onnxmodel.FromTensor(name, t))
	return b
}

func (b *gb) node(op string, ins, outs []string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
	b.nnodes++
	n := &onnxpb.NodeProto{OpType: strp(op), Name: strp(op + "_" + string(rune('a'+b.nnodes-1))), Input: ins, Output: outs, Attribute: attrs}
	b.g.Node = append(b.g.Node, n)
	return n
}

func (b *gb) output(names ...string) *gb {
	for _, n := range names {
		b.g.Output = append(b.g.Output, valueInfo32(n, onnxpb.TensorProto_FLOAT, nil))
	}
	return b
}

func (b *gb) model() *onnxpb.ModelProto {
	ops := append([]*onnxpb.OperatorSetIdProto{{Domain: strp(""), Version: ptr(b.opset)}}, b.extra...)
	return &onnxpb.ModelProto{IrVersion: ptr(int64(8)), Graph: b.g, OpsetImport: ops, Functions: b.funcs}
}

func (b *gb) open(t testing.TB) *Engine {
	t.Helper()
	e, err := Open(b.model(), Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func aInt(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: strp(name), Type: onnxpb.AttributeProto_INT.Enum(), I: &v}
}
func aInts(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: strp(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}
func aFloat(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: strp(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: &v}
}
func aStr(name, v string) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: strp(name), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(v)}
}
func aTensor(name string, t *tensor.Tensor) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: strp(name), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: onnxmodel.FromTensor("", t)}
}

func f32(shape []int, v ...float32) *tensor.Tensor {
	if v == nil {
		return tensor.NewFloat32(shape, nil)
	}
	return tensor.NewFloat32(shape, v)
}
func i64(shape []int, v ...int64) *tensor.Tensor { return tensor.NewInt64(shape, v) }

// seq returns a float tensor holding 0, 1, 2, ...
func seq(shape ...int) *tensor.Tensor {
	t := tensor.NewFloat32(shape, nil)
	for i := range t.F32 {
		t.F32[i] = float32(i)
	}
	return t
}

// runOp runs a single-node model whose inputs are graph inputs x0, x1, ...
// (nil entries are empty optional inputs) and returns output y.
func runOp(t testing.TB, opset int64, op string, in []*tensor.Tensor, attrs ...*onnxpb.AttributeProto) *tensor.Tensor {
	t.Helper()
	y, err := tryOp(opset, op, in, attrs...)
	if err != nil {
		t.Fatal(err)
	}
	return y
}

func tryOp(opset int64, op string, in []*tensor.Tensor, attrs ...*onnxpb.AttributeProto) (*tensor.Tensor, error) {
	b := newGB(opset)
	feeds := map[string]*tensor.Tensor{}
	var names []string
	for i, x := range in {
		if x == nil {
			names = append(names, "")
			continue
		}
		name := "x" + string(rune('0'+i))
		dt := onnxpb.TensorProto_FLOAT
		if x.DType == tensor.Int64 {
			dt = onnxpb.TensorProto_INT64
		}
		b.inputAnyShape(name, dt)
		feeds[name] = x
		names = append(names, name)
	}
	b.node(op, names, []string{"y"}, attrs...)
	b.output("y")
	e, err := Open(b.model(), Options{Threads: 2})
	if err != nil {
		return nil, err
	}
	res, err := e.Run(context.Background(), feeds, nil)
	if err != nil {
		return nil, err
	}
	return res["y"], nil
}

func expectF32(t testing.TB, got *tensor.Tensor, shape []int, want ...float32) {
	t.Helper()
	if got.DType != tensor.Float32 || !tensor.SameShape(got.Shape, shape) {
		t.Fatalf("got %v %v, want float32 %v", got.DType, got.Shape, shape)
	}
	if len(want) != len(got.F32) {
		t.Fatalf("test bug: %d expected values for %d elements", len(want), len(got.F32))
	}
	for i := range want {
		if d := got.F32[i] - want[i]; d > 1e-5 || d < -1e-5 {
			t.Fatalf("element %d: got %v, want %v (all: %v)", i, got.F32[i], want[i], got.F32)
		}
	}
}

func expectI64(t testing.TB, got *tensor.Tensor, shape []int, want ...int64) {
	t.Helper()
	if got.DType != tensor.Int64 || !tensor.SameShape(got.Shape, shape) {
		t.Fatalf("got %v %v, want int64 %v", got.DType, got.Shape, shape)
	}
	for i := range want {
		if got.I64[i] != want[i] {
			t.Fatalf("got %v, want %v", got.I64, want)
		}
	}
}

func sameTensor(t testing.TB, a, b *tensor.Tensor) {
	t.Helper()
	if err := compare(a, b, 0, 0); err != nil {
		t.Fatal(err)
	}
}
