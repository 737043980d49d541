package testmodels_test

import (
	"fmt"

	"github.com/wtonnx/wtonnx/testmodels"
)

func ExampleAll() {
	fixtures, err := testmodels.All()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range fixtures {
		fmt.Printf("%-20s opset %2d, %2d depthwise convs\n", f.Name, f.Meta.Opset, len(f.Meta.DepthwiseConvs))
	}
	// Output:
	// constweights         opset 15,  5 depthwise convs
	// convnext             opset 17,  5 depthwise convs
	// efficientnet_b0      opset 13,  7 depthwise convs
	// light                opset  9,  3 depthwise convs
	// mobilenet_v2         opset 11, 17 depthwise convs
	// mobilenet_v2_dynamic opset 11, 17 depthwise convs
	// mobilenet_v3_small   opset 14,  8 depthwise convs
	// regnet               opset 13,  0 depthwise convs
	// shufflenet_v2        opset  9, 10 depthwise convs
}
