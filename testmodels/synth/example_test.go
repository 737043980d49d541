package synth_test

import (
	"fmt"

	"github.com/wtonnx/wtonnx/testmodels/synth"
)

func ExampleConvNeXtTiny() {
	m := synth.ConvNeXtTiny(1)
	fmt.Printf("%.1fM parameters, opset %d\n", float64(synth.ParamCount(m))/1e6, m.GetOpsetImport()[0].GetVersion())
	// Output: 28.6M parameters, opset 17
}

func ExampleConvNeXt() {
	// A tiny model of the same layout, for tests.
	m, err := synth.ConvNeXt(synth.Config{Depths: []int{1, 1}, Dims: []int{8, 16}, Classes: 10, Image: 32, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(m.GetGraph().GetNode()), "nodes,", synth.ParamCount(m), "parameters")
	// Output: 38 nodes, 5109 parameters
}
