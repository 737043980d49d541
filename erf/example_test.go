package erf_test

import (
	"context"
	"fmt"

	"github.com/wtonnx/wtonnx/erf"
	"github.com/wtonnx/wtonnx/wtconv"
)

// The paper's example layer: 5x5 kernels, 3 levels. At any one impulse
// position the response spans 2^3*5 = 40 pixels; over all 64 positions
// modulo 8 it spans 47.
func ExampleCompute() {
	l := wtconv.Layer{Channels: 1, Kernel: 5, Levels: 3, Stride: 1}
	base := make([]float32, 25)
	base[12] = 1 // an identity base kernel
	wt, err := wtconv.RandomWeights(l, base, nil, 1)
	if err != nil {
		panic(err)
	}
	all, err := erf.Compute(context.Background(), l, wt, 5, 5, erf.Options{})
	if err != nil {
		panic(err)
	}
	one, err := erf.Compute(context.Background(), l, wt, 5, 5, erf.Options{MaxPositions: 1})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(all.Positions), all.Extent(), one.Extent(), all.ReceptiveField)
	// Output: 64 47 40 40
}
