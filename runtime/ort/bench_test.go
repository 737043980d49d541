package ort

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/tensor"
)

// residentBytes reads the process's resident set size from /proc.
func residentBytes() int64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

func benchmarkRun(b *testing.B, caseName string, opts Options) {
	e := openFile(b, filepath.Join(conformanceDir, caseName, "model.onnx"), opts)
	info := e.Inputs()[0]
	shape := make([]int, len(info.Dims))
	for i, d := range info.Dims {
		shape[i] = int(d)
	}
	x := randomFloat32(rand.New(rand.NewPCG(9, 10)), shape...)
	feed := map[string]*tensor.Tensor{info.Name: x}
	ctx := context.Background()
	if _, err := e.Run(ctx, feed, nil); err != nil { // warm up
		b.Fatal(err)
	}
	before := residentBytes()
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.Run(ctx, feed, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(residentBytes()-before)/(1<<20), "rss-growth-MiB")
	b.ReportMetric(float64(e.live.Load()), "live-values")
}

// BenchmarkRunConformanceConv runs test_operator_conv (20x16x50x40 input,
// 13 output channels, 3x3 kernel) on the CPU provider.
func BenchmarkRunConformanceConv(b *testing.B) {
	benchmarkRun(b, "test_operator_conv", Options{})
}

// BenchmarkRunConformanceConvOneThread is the same with one intra-op thread.
func BenchmarkRunConformanceConvOneThread(b *testing.B) {
	benchmarkRun(b, "test_operator_conv", Options{IntraOpThreads: 1})
}

// BenchmarkRunSmallConv measures per-Run overhead on a tiny model.
func BenchmarkRunSmallConv(b *testing.B) {
	benchmarkRun(b, "test_Conv2d", Options{})
}

// BenchmarkRunParallel runs test_operator_conv from GOMAXPROCS goroutines.
func BenchmarkRunParallel(b *testing.B) {
	e := openFile(b, filepath.Join(conformanceDir, "test_operator_conv", "model.onnx"), Options{IntraOpThreads: 1})
	x := randomFloat32(rand.New(rand.NewPCG(11, 12)), 20, 16, 50, 40)
	feed := map[string]*tensor.Tensor{e.Inputs()[0].Name: x}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.Run(context.Background(), feed, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
