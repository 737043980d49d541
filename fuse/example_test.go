package fuse_test

import (
	"fmt"

	"github.com/wtonnx/wtonnx/convert"
	"github.com/wtonnx/wtonnx/fuse"
	"github.com/wtonnx/wtonnx/onnxmodel"
)

// Give a PyTorch export the fused operator: its ~100-node WTConv layer
// becomes one ai.wtonnx WTConv node.
func ExampleFuse() {
	m, err := onnxmodel.Load("../testmodels/exported/t01_opset11_static_odd/model.onnx")
	if err != nil {
		panic(err)
	}
	out, rep, err := fuse.Fuse(m, fuse.Options{Format: convert.FormatCustomOp})
	if err != nil {
		panic(err)
	}
	l := rep.Fused[0]
	fmt.Println(l.Name, l.From, l.Channels, l.Kernel, l.Levels, l.InputHW, l.CheckMaxDiff < 1e-5*l.CheckMaxAbs)
	for _, n := range out.GetGraph().GetNode() {
		fmt.Print(n.GetOpType(), " ")
	}
	fmt.Println()
	// Output:
	// wt pytorch 6 3 2 [13 11] true
	// Conv WTConv Relu Conv
}
