package customop_test

import (
	"fmt"
	"testing"

	"github.com/wtonnx/wtonnx/customop/internal/nodemodel"
	"github.com/wtonnx/wtonnx/wtconv"
)

// convNeXtStages are the depthwise layers of WTConvNeXt-T: channels, map
// size and wavelet levels per stage, kernel 5.
var convNeXtStages = []struct{ c, hw, levels int }{
	{96, 56, 5},
	{192, 28, 4},
	{384, 14, 3},
	{768, 7, 2},
}

// BenchmarkWTConvNeXtLayers runs the fused operator in ONNX Runtime on the
// four WTConvNeXt-T layer shapes, batch 1 and 8, with 1 and 2 intra-op
// threads. It reports the layer's multiply-accumulates per second (the
// paper's FLOP count, wtconv.Layer.FLOPs) as GFLOP/s.
func BenchmarkWTConvNeXtLayers(b *testing.B) {
	for _, st := range convNeXtStages {
		l := wtconv.Layer{Channels: st.c, Kernel: 5, Levels: st.levels, Stride: 1, Bias: true}
		wt := randomLayer(b, l, uint64(st.c))
		onnx := model(b, nodemodel.ForLayer(l, wt))
		flops := l.FLOPs(st.hw, st.hw).Total
		for _, batch := range []int{1, 8} {
			x := nodemodel.RandomInput(batch, st.c, st.hw, st.hw, 1)
			for _, threads := range []int{1, 2} {
				name := fmt.Sprintf("C%d_%dx%d_L%d/batch%d/threads%d", st.c, st.hw, st.hw, st.levels, batch, threads)
				b.Run(name, func(b *testing.B) {
					e := mustOpen(b, onnx, threads)
					if _, err := run(e, x); err != nil { // warm-up, and fail early
						b.Fatal(err)
					}
					b.ResetTimer()
					for b.Loop() {
						if _, err := run(e, x); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(flops)*float64(batch)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

// BenchmarkConvNeXtBaseKernel compares, side by side, a WTConvNeXt-T stage-1
// layer (C96 at 56x56, 5 levels, 7x7 base, 5x5 wavelet convs) with the base
// and wavelet kernels at their own sizes (what convert now emits) against
// both embedded in 7x7 (what the fused form carried before): the same
// result, 5x5 instead of 7x7 taps at every level. Batch 1, one thread.
func BenchmarkConvNeXtBaseKernel(b *testing.B) {
	own := wtconv.Layer{Channels: 96, BaseKernel: 7, Kernel: 5, Levels: 5, Stride: 1, Bias: true}
	wt := randomLayer(b, own, 96)
	emb := own
	emb.BaseKernel, emb.Kernel = 0, 7
	ewt := wt.Clone()
	for i := range ewt.Wavelet {
		ewt.Wavelet[i] = make([]float32, 4*96*49)
		for c := 0; c < 4*96; c++ {
			for y := 0; y < 5; y++ {
				copy(ewt.Wavelet[i][c*49+(y+1)*7+1:], wt.Wavelet[i][c*25+y*5:c*25+y*5+5])
			}
		}
	}
	x := nodemodel.RandomInput(1, 96, 56, 56, 1)
	for _, tc := range []struct {
		name string
		l    wtconv.Layer
		wt   *wtconv.Weights
	}{{"own_sizes_7+5", own, wt}, {"embedded_7+7", emb, ewt}} {
		b.Run(tc.name, func(b *testing.B) {
			e := mustOpen(b, model(b, nodemodel.ForLayer(tc.l, tc.wt)), 1)
			if _, err := run(e, x); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := run(e, x); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
