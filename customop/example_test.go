package customop_test

import (
	"context"
	"fmt"
	"log"

	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/customop"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/runtime/ort"
	"github.com/wtonnx/wtonnx/tensor"
)

// A one-node model with the fused operator, run on ONNX Runtime with the
// custom-op library registered. The layer has one channel, a 1x1 base kernel
// of weight 1, bias 0.5, base scale 2 and one wavelet level whose 1x1 kernels
// are 1 with scales 0.1, so that the output is easy to check by hand:
// 2*(x+0.5) + 0.1*x = 2.1*x + 1.
func Example() {
	opLib, err := customop.FindLibrary("")
	if err != nil {
		log.Fatal(err) // run `make customop`
	}
	init := func(name string, dims []int64, v ...float32) *onnxpb.TensorProto {
		return onnxmodel.NewFloat32Tensor(name, dims, v)
	}
	tensorType := &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
		ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
	}}}
	model := &onnxpb.ModelProto{
		IrVersion: proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{
			{Domain: proto.String(""), Version: proto.Int64(17)},
			{Domain: proto.String(customop.Domain), Version: proto.Int64(customop.OpsetVersion)},
		},
		Graph: &onnxpb.GraphProto{
			Name: proto.String("example"),
			Node: []*onnxpb.NodeProto{{
				OpType: proto.String(customop.OpType),
				Domain: proto.String(customop.Domain),
				Input:  []string{"x", "w", "b", "s", "ww", "ws"},
				Output: []string{"y"},
				Attribute: []*onnxpb.AttributeProto{{
					Name: proto.String("levels"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(1),
				}},
			}},
			Initializer: []*onnxpb.TensorProto{
				init("w", []int64{1, 1, 1, 1}, 1),
				init("b", []int64{1}, 0.5),
				init("s", []int64{1}, 2),
				init("ww", []int64{1, 4, 1, 1, 1}, 1, 1, 1, 1),
				init("ws", []int64{1, 4}, 0.1, 0.1, 0.1, 0.1),
			},
			Input:  []*onnxpb.ValueInfoProto{{Name: proto.String("x"), Type: tensorType}},
			Output: []*onnxpb.ValueInfoProto{{Name: proto.String("y"), Type: tensorType}},
		},
	}
	data, err := onnxmodel.Marshal(model)
	if err != nil {
		log.Fatal(err)
	}
	e, err := ort.Open(data, ort.Options{CustomOpLibraries: []string{opLib}})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	x := tensor.NewFloat32([]int{1, 1, 2, 3}, []float32{0, 1, 2, 3, 4, 5})
	out, err := e.Run(context.Background(), map[string]*tensor.Tensor{"x": x}, nil)
	if err != nil {
		log.Fatal(err)
	}
	y := out["y"]
	fmt.Println(y.Shape)
	for _, v := range y.F32 {
		fmt.Printf("%.2f ", v)
	}
	fmt.Println()
	// Output:
	// [1 1 2 3]
	// 1.00 3.10 5.20 7.30 9.40 11.50
}
