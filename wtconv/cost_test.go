package wtconv_test

import (
	"math"
	"testing"

	"github.com/wtonnx/wtonnx/wtconv"
)

// TestFLOPsPaperExample checks the worked example of the paper (one channel,
// 512 x 512, 3 levels, k = 5): 6.6M base + 8.6M wavelet-domain = 15.1M for
// the convs, 2.8M for the transforms, 17.9M in all; 252M for a 31 x 31
// depthwise conv and 12.8M for a 7 x 7 one. The paper prints millions
// rounded (15.1 for 15.155), so the published numbers are checked within
// 0.06M (0.5M for the integer 252M) and the exact counts against the formulas written out by hand.
func TestFLOPsPaperExample(t *testing.T) {
	l := wtconv.Layer{Channels: 1, Kernel: 5, Levels: 3, Stride: 1, Bias: true}
	c := l.FLOPs(512, 512)
	exact := map[string][2]int64{
		"base":       {c.Base, 512 * 512 * 25},
		"wavelet":    {c.Wavelet, 4 * 25 * (256*256 + 128*128 + 64*64)},
		"analysis":   {c.Analysis, 4 * 4 * (256*256 + 128*128 + 64*64)},
		"synthesis":  {c.Synthesis, 4 * 4 * (256*256 + 128*128 + 64*64)},
		"convs":      {c.Convs, c.Base + c.Wavelet},
		"transforms": {c.Transforms, c.Analysis + c.Synthesis},
		"total":      {c.Total, c.Convs + c.Transforms},
	}
	for name, v := range exact {
		if v[0] != v[1] {
			t.Errorf("%s = %d, want %d", name, v[0], v[1])
		}
	}
	paper := []struct {
		name   string
		got    int64
		millio float64
		tol    float64 // the paper's last printed digit, plus its loose rounding
	}{
		{"base", c.Base, 6.6, 0.06}, {"wavelet", c.Wavelet, 8.6, 0.06}, {"convs", c.Convs, 15.1, 0.06},
		{"transforms", c.Transforms, 2.8, 0.06}, {"total", c.Total, 17.9, 0.06},
		{"31x31 depthwise", wtconv.DepthwiseFLOPs(1, 512, 512, 31, 31, 1, 1), 252, 0.5},
		{"7x7 depthwise", wtconv.DepthwiseFLOPs(1, 512, 512, 7, 7, 1, 1), 12.8, 0.06},
	}
	for _, p := range paper {
		if m := float64(p.got) / 1e6; math.Abs(m-p.millio) > p.tol {
			t.Errorf("%s: %.3fM, the paper says %.1fM", p.name, m, p.millio)
		}
	}
}

func TestFLOPsScaling(t *testing.T) {
	l := wtconv.Layer{Channels: 96, Kernel: 5, Levels: 2, Stride: 2, Bias: true}
	c := l.FLOPs(56, 56)
	one := wtconv.Layer{Channels: 1, Kernel: 5, Levels: 2, Stride: 2, Bias: true}.FLOPs(56, 56)
	if c.Total != 96*one.Total {
		t.Errorf("cost is not linear in channels: %d vs 96*%d", c.Total, one.Total)
	}
	// L = 0 is a plain depthwise conv.
	l0 := wtconv.Layer{Channels: 96, Kernel: 7, Levels: 0, Stride: 1}
	if got, want := l0.FLOPs(56, 56).Total, wtconv.DepthwiseFLOPs(96, 56, 56, 7, 7, 1, 1); got != want {
		t.Errorf("L=0 cost %d, depthwise %d", got, want)
	}
	// Odd sizes use the real level sizes ceil(H/2^l).
	odd := wtconv.Layer{Channels: 1, Kernel: 3, Levels: 2, Stride: 1}.FLOPs(7, 5)
	if want := int64(4 * 9 * (4*3 + 2*2)); odd.Wavelet != want {
		t.Errorf("7x5 wavelet cost %d, want %d", odd.Wavelet, want)
	}
	if got := wtconv.DepthwiseFLOPs(8, 9, 9, 3, 3, 2, 2); got != 8*5*5*9 {
		t.Errorf("strided depthwise cost %d, want %d", got, 8*5*5*9)
	}
	if (wtconv.Layer{}).FLOPs(8, 8).Total != 0 || wtconv.DepthwiseFLOPs(0, 1, 1, 1, 1, 1, 1) != 0 {
		t.Error("invalid arguments must cost 0")
	}
}
