package onnxmodel_test

import (
	"fmt"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
)

// A model with one initializer, saved with its data in an external file and
// loaded back.
func ExampleSave() {
	dir, err := os.MkdirTemp("", "onnxmodel-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	w := onnxmodel.NewFloat32Tensor("W", []int64{2, 2}, []float32{1, 2, 3, 4})
	m := &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Version: proto.Int64(17)}},
		Graph: &onnxpb.GraphProto{
			Name:        proto.String("example"),
			Initializer: []*onnxpb.TensorProto{w},
			Node: []*onnxpb.NodeProto{{
				OpType: proto.String("MatMul"), Input: []string{"x", "W"}, Output: []string{"y"},
			}},
			Input:  []*onnxpb.ValueInfoProto{{Name: proto.String("x")}},
			Output: []*onnxpb.ValueInfoProto{{Name: proto.String("y")}},
		},
	}
	path := filepath.Join(dir, "model.onnx")
	if err := onnxmodel.Save(m, path, onnxmodel.SaveOptions{ExternalDataThreshold: 16}); err != nil {
		panic(err)
	}
	// Saving again without Overwrite is refused.
	fmt.Println(onnxmodel.Save(m, path, onnxmodel.SaveOptions{}) != nil)

	back, err := onnxmodel.Load(path)
	if err != nil {
		panic(err)
	}
	v, err := onnxmodel.Float32s(back.GetGraph().GetInitializer()[0])
	if err != nil {
		panic(err)
	}
	data, _ := os.Stat(path + ".data")
	fmt.Println(v, data.Size(), proto.Equal(m, back))
	// Output:
	// true
	// [1 2 3 4] 16 true
}

// Load names the problem, and the tensor or node it concerns.
func ExampleLoad() {
	dir, err := os.MkdirTemp("", "onnxmodel-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	m := &onnxpb.ModelProto{
		IrVersion: proto.Int64(8),
		Graph: &onnxpb.GraphProto{
			Node:   []*onnxpb.NodeProto{{Name: proto.String("act"), OpType: proto.String("Relu"), Input: []string{"h"}, Output: []string{"y"}}},
			Output: []*onnxpb.ValueInfoProto{{Name: proto.String("y")}},
		},
	}
	path := filepath.Join(dir, "broken.onnx")
	if err := onnxmodel.Save(m, path, onnxmodel.SaveOptions{}); err != nil {
		panic(err)
	}
	_, err = onnxmodel.Load(path)
	fmt.Println(err != nil)
	b, _ := os.ReadFile(path)
	_, err = onnxmodel.Parse(b)
	fmt.Println(err)
	// Output:
	// true
	// node "act" (Relu) reads tensor "h", which no node, initializer or graph input defines
}
