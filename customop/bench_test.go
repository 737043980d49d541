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
