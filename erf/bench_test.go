package erf_test

import (
	"context"
	"testing"

	"github.com/wtonnx/wtonnx/erf"
	"github.com/wtonnx/wtonnx/wtconv"
)

// BenchmarkComputeConvNeXtStage1 is one channel of a ConvNeXt-T stage-1
// layer (7x7 base embedded, 5 levels): DefaultMaxPositions impulses on
// the smallest unclipped input.
func BenchmarkComputeConvNeXtStage1(b *testing.B) {
	l := wtconv.Layer{Channels: 1, Kernel: 7, Levels: 5, Stride: 1}
	base := make([]float32, 49)
	base[24] = 1
	wt, err := wtconv.RandomWeights(l, base, nil, 1)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := erf.Compute(context.Background(), l, wt, 7, 7, erf.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
