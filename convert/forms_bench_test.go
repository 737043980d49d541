package convert_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/wtonnx/wtonnx/convert"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/runtime/ort"
	"github.com/wtonnx/wtonnx/tensor"
)

// depthwiseModel is a one-node model: x (n x c x h x w) -> depthwise k x k
// Conv, same padding, random weights -> y.
func depthwiseModel(n, c, h, w, k int) *onnxpb.ModelProto {
	rng := rand.New(rand.NewPCG(uint64(c), uint64(k)))
	wt := make([]float32, c*k*k)
	for i := range wt {
		wt[i] = float32(rng.NormFloat64()) / float32(k)
	}
	p0, p1 := int64((k-1)/2), int64(k-1-(k-1)/2)
	dims := func(d ...int64) *onnxpb.TypeProto {
		shape := &onnxpb.TensorShapeProto{}
		for _, v := range d {
			shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: v}})
		}
		return &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: ptr(int32(1)), Shape: shape}}}
	}
	at := func(name string, v ...int64) *onnxpb.AttributeProto {
		return &onnxpb.AttributeProto{Name: ptr(name), Type: ptr(onnxpb.AttributeProto_INTS), Ints: v}
	}
	return &onnxpb.ModelProto{
		IrVersion:   ptr(int64(8)),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: ptr(""), Version: ptr(int64(17))}},
		Graph: &onnxpb.GraphProto{
			Name:        ptr("dw"),
			Initializer: []*onnxpb.TensorProto{onnxmodel.NewFloat32Tensor("dw.weight", []int64{int64(c), 1, int64(k), int64(k)}, wt)},
			Node: []*onnxpb.NodeProto{{
				OpType: ptr("Conv"), Name: ptr("dw"), Input: []string{"x", "dw.weight"}, Output: []string{"y"},
				Attribute: []*onnxpb.AttributeProto{at("kernel_shape", int64(k), int64(k)), at("pads", p0, p0, p1, p1),
					{Name: ptr("group"), Type: ptr(onnxpb.AttributeProto_INT), I: ptr(int64(c))}},
			}},
			Input:  []*onnxpb.ValueInfoProto{{Name: ptr("x"), Type: dims(int64(n), int64(c), int64(h), int64(w))}},
			Output: []*onnxpb.ValueInfoProto{{Name: ptr("y"), Type: dims(int64(n), int64(c), int64(h), int64(w))}},
		},
	}
}

func ptr[T any](v T) *T { return &v }

// BenchmarkWTConvNeXtForms runs, side by side on ONNX Runtime's CPU provider,
// the four WTConvNeXt-T layer shapes (224x224 input; k = 5) as the fused
// custom operator, the function form and the standard-op form, against a
// plain 5x5 depthwise conv and a dense 31x31 depthwise conv of the same
// shape, at batch 1 and 8 with 1 and 2 intra-op threads.
//
//	go test -run '^$' -bench WTConvNeXtForms -benchtime 20x ./convert
func BenchmarkWTConvNeXtForms(b *testing.B) {
	lib, err := ort.FindLibrary("")
	if err != nil {
		b.Fatal(err)
	}
	custom := customOpLibrary(b)
	for _, s := range []struct{ c, hw, levels int }{{96, 56, 5}, {192, 28, 4}, {384, 14, 3}, {768, 7, 2}} {
		for _, batch := range []int{1, 8} {
			models := map[string]*onnxpb.ModelProto{
				"dw5x5":   depthwiseModel(batch, s.c, s.hw, s.hw, 5),
				"dw31x31": depthwiseModel(batch, s.c, s.hw, s.hw, 31),
			}
			for _, f := range allFormats {
				m, _, err := convert.Convert(models["dw5x5"], convert.Options{Init: convert.InitRandom, Seed: 1, Levels: s.levels, Format: f})
				if err != nil {
					b.Fatal(err)
				}
				models[string(f)] = m
			}
			x := tensor.NewFloat32([]int{batch, s.c, s.hw, s.hw}, nil)
			for i := range x.F32 {
				x.F32[i] = float32(i%97)/48 - 1
			}
			for _, threads := range []int{1, 2} {
				for _, name := range []string{"customop", "function", "ops", "dw5x5", "dw31x31"} {
					data, err := onnxmodel.Marshal(models[name])
					if err != nil {
						b.Fatal(err)
					}
					e, err := ort.Open(data, ort.Options{LibraryPath: lib, IntraOpThreads: threads, CustomOpLibraries: []string{custom}})
					if err != nil {
						b.Fatal(err)
					}
					b.Run(fmt.Sprintf("C%d_%dx%d_L%d/b%d/t%d/%s", s.c, s.hw, s.hw, s.levels, batch, threads, name), func(b *testing.B) {
						in := map[string]*tensor.Tensor{"x": x}
						for i := 0; i < b.N; i++ {
							if _, err := e.Run(context.Background(), in, nil); err != nil {
								b.Fatal(err)
							}
						}
					})
					e.Close()
				}
			}
		}
	}
}
