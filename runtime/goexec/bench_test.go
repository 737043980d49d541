package goexec

import (
	"context"
	"fmt"
	"testing"

	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/testmodels"
)

func randSlice(n int, seed uint32) []float32 {
	out := make([]float32, n)
	s := seed*2654435761 + 1
	for i := range out {
		s ^= s << 13
		s ^= s >> 17
		s ^= s << 5
		out[i] = float32(s%2001)/1000 - 1
	}
	return out
}

func reportGFLOPS(b *testing.B, flops float64) {
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkGEMM(b *testing.B) {
	for _, sz := range [][3]int{{64, 3136, 576}, {256, 256, 256}, {512, 512, 512}} {
		for _, threads := range []int{1, 2} {
			m, n, k := sz[0], sz[1], sz[2]
			b.Run(fmt.Sprintf("%dx%dx%d/t%d", m, n, k, threads), func(b *testing.B) {
				a, bb, c := randSlice(m*k, 1), randSlice(k*n, 2), make([]float32, m*n)
				pool := newScratchPool()
				tm := newTeam(threads)
				defer tm.close()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					sgemm(tm, pool, &gemmArgs{m: m, n: n, k: k, a: a, rsA: k, csA: 1, b: bb, rsB: n, csB: 1, c: c, ldc: n, alpha: 1})
				}
				reportGFLOPS(b, 2*float64(m*n*k))
			})
		}
	}
}

// convBench runs one Conv node [1, c, h, w] -> m channels.
func convBench(b *testing.B, c, m, h, w, k, stride, group, threads int) {
	pad := int64(k / 2)
	attrs := map[string][]int64{"kernel_shape": {int64(k), int64(k)}, "pads": {pad, pad, pad, pad},
		"strides": {int64(stride), int64(stride)}, "group": {int64(group)}}
	wt := tensor.NewFloat32([]int{m, c / group, k, k}, randSlice(m*c/group*k*k, 3))
	e := oneNode(b, "Conv", attrs, []*tensor.Tensor{nil, wt, tensor.NewFloat32([]int{m}, randSlice(m, 4))}, 13, threads)
	x := tensor.NewFloat32([]int{1, c, h, w}, randSlice(c*h*w, 5))
	oh, ow := (h+stride-1)/stride, (w+stride-1)/stride
	flops := 2 * float64(m*oh*ow*(c/group)*k*k)
	in := map[string]*tensor.Tensor{"x": x}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.Run(context.Background(), in, nil); err != nil {
			b.Fatal(err)
		}
	}
	reportGFLOPS(b, flops)
}

func BenchmarkConv3x3(b *testing.B) {
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("64x56x56/t%d", threads), func(b *testing.B) { convBench(b, 64, 64, 56, 56, 3, 1, 1, threads) })
	}
}

func BenchmarkConv1x1(b *testing.B) {
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("96to24x56x56/t%d", threads), func(b *testing.B) { convBench(b, 96, 24, 56, 56, 1, 1, 1, threads) })
	}
}

func BenchmarkDepthwise(b *testing.B) {
	for _, k := range []int{3, 7} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("k%d_96x112x112/t%d", k, threads), func(b *testing.B) { convBench(b, 96, 96, 112, 112, k, 1, 96, threads) })
		}
	}
	// MobileNetV2's small maps, where the cost per plane matters.
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("k3_384x14x14/t%d", threads), func(b *testing.B) { convBench(b, 384, 384, 14, 14, 3, 1, 384, threads) })
		b.Run(fmt.Sprintf("k3_960x7x7/t%d", threads), func(b *testing.B) { convBench(b, 960, 960, 7, 7, 3, 1, 960, threads) })
	}
}

// BenchmarkModel runs the testmodels fixtures at 224x224.
func BenchmarkModel(b *testing.B) {
	for _, name := range []string{"mobilenet_v2", "convnext", "efficientnet_b0", "mobilenet_v3_small", "regnet", "shufflenet_v2"} {
		f, err := testmodels.Load(name)
		if err != nil {
			b.Fatal(err)
		}
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/t%d", name, threads), func(b *testing.B) {
				e, err := Open(loadModel(b, f.ModelPath()), Options{Threads: threads})
				if err != nil {
					b.Fatal(err)
				}
				x, err := tensor.ReadNPY(f.InputPath())
				if err != nil {
					b.Fatal(err)
				}
				in := map[string]*tensor.Tensor{f.Meta.InputName: x}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := e.Run(context.Background(), in, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkErfGelu times the fused erf GELU on a ConvNeXt-T MLP row block.
func BenchmarkErfGelu(b *testing.B) {
	s := randSlice(1<<16, 7)
	d := make([]float32, len(s))
	for i := range s {
		s[i] *= 3
	}
	b.SetBytes(int64(4 * len(s)))
	for b.Loop() {
		erfGelu(d, s, 1.4142135, 1, 0.5)
	}
}
