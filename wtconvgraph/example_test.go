package wtconvgraph_test

import (
	"fmt"

	"github.com/wtonnx/wtonnx/convert"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/testmodels"
	"github.com/wtonnx/wtonnx/wtconvgraph"
)

// Convert the ConvNeXt fixture, then find its WTConv layers again.
func ExampleFind() {
	fx, err := testmodels.Load("convnext")
	if err != nil {
		panic(err)
	}
	src, err := onnxmodel.Load(fx.ModelPath())
	if err != nil {
		panic(err)
	}
	m, _, err := convert.Convert(src, convert.Options{Levels: 3})
	if err != nil {
		panic(err)
	}
	layers, err := wtconvgraph.Find(m, nil)
	if err != nil {
		panic(err)
	}
	l := layers[0]
	fmt.Println(len(layers), l.Form, l.Layer.Channels, l.BaseKernel, l.Layer.Kernel, l.Layer.Levels, l.ReceptiveField())
	// Output: 5 ops 16 [7 7] 5 3 40
}
