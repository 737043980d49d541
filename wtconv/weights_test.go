package wtconv_test

import (
	"math"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/wtconv"
)

func seq(n int, scale float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = scale * float32((i*7)%11-5)
	}
	return s
}

func TestWeightsCheck(t *testing.T) {
	l := wtconv.Layer{Channels: 2, Kernel: 3, Levels: 2, Stride: 1, Bias: true}
	good, err := wtconv.RandomWeights(l, seq(18, 0.1), seq(2, 1), 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := good.Check(l); err != nil {
		t.Fatalf("good weights rejected: %v", err)
	}
	for _, tc := range []struct {
		name   string
		modify func(*wtconv.Weights)
		want   string
	}{
		{"base", func(w *wtconv.Weights) { w.Base = w.Base[:17] }, "base has 17 values, want C*kb*kb = 18"},
		{"bias", func(w *wtconv.Weights) { w.Bias = nil }, "bias has 0 values, want C = 2"},
		{"scale", func(w *wtconv.Weights) { w.BaseScale = append(w.BaseScale, 1) }, "base_scale has 3 values"},
		{"levels", func(w *wtconv.Weights) { w.Wavelet = w.Wavelet[:1] }, "wavelet convs for 1 levels, the layer has 2"},
		{"wavelet", func(w *wtconv.Weights) { w.Wavelet[1] = w.Wavelet[1][:5] }, "wavelet[1] has 5 values, want 4*C*k*k = 72"},
		{"wscale", func(w *wtconv.Weights) { w.WaveletScale[0] = nil }, "wavelet_scale[0] has 0 values, want 4*C = 8"},
		{"nan", func(w *wtconv.Weights) { w.WaveletScale[1][3] = float32(math.NaN()) }, "wavelet_scale[1][3] is NaN"},
		{"inf", func(w *wtconv.Weights) { w.Base[0] = float32(math.Inf(1)) }, "base[0] is +Inf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := good.Clone()
			tc.modify(w)
			err := w.Check(l)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check = %v, want %q", err, tc.want)
			}
		})
	}
	nb := l
	nb.Bias = false
	if err := good.Check(nb); err == nil || !strings.Contains(err.Error(), "no bias") {
		t.Errorf("bias on a bias-less layer: %v", err)
	}
	var nilW *wtconv.Weights
	if err := nilW.Check(l); err == nil {
		t.Error("nil weights accepted")
	}
}

func TestRandomWeights(t *testing.T) {
	l := wtconv.Layer{Channels: 8, Kernel: 5, Levels: 3, Stride: 1, Bias: true}
	a, err := wtconv.RandomWeights(l, seq(200, 0.1), seq(8, 1), 42)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := wtconv.RandomWeights(l, seq(200, 0.1), seq(8, 1), 42)
	c, _ := wtconv.RandomWeights(l, seq(200, 0.1), seq(8, 1), 43)
	same, diff := true, false
	bound := 1 / math.Sqrt(25)
	var sum, sumSq float64
	n := 0
	for i := range a.Wavelet {
		for j, v := range a.Wavelet[i] {
			same = same && v == b.Wavelet[i][j]
			diff = diff || v != c.Wavelet[i][j]
			if math.Abs(float64(v)) > bound {
				t.Fatalf("wavelet[%d][%d] = %v outside +-1/sqrt(k*k) = %v", i, j, v, bound)
			}
			sum += float64(v)
			sumSq += float64(v) * float64(v)
			n++
		}
		for _, s := range a.WaveletScale[i] {
			if s != 0.1 {
				t.Fatalf("wavelet scale %v, want 0.1", s)
			}
		}
	}
	if !same || !diff {
		t.Errorf("not deterministic per seed (same seed equal: %v, other seed differs: %v)", same, diff)
	}
	// uniform(-b, b): mean 0, variance b^2/3 (n = 2400 draws).
	mean, variance := sum/float64(n), sumSq/float64(n)-(sum/float64(n))*(sum/float64(n))
	if math.Abs(mean) > 0.02 || math.Abs(variance-bound*bound/3)/(bound*bound/3) > 0.1 {
		t.Errorf("draws have mean %.4f, variance %.5f; want 0 and %.5f", mean, variance, bound*bound/3)
	}
	for i, s := range a.BaseScale {
		if s != 1 {
			t.Fatalf("base scale[%d] = %v, want 1", i, s)
		}
	}
	if _, err := wtconv.RandomWeights(l, seq(199, 1), nil, 1); err == nil || !strings.Contains(err.Error(), "base kernel has 199 values") {
		t.Errorf("short base: %v", err)
	}
	nb := l
	nb.Bias = false
	if _, err := wtconv.RandomWeights(nb, seq(200, 1), seq(8, 1), 1); err == nil {
		t.Error("bias accepted for a bias-less layer")
	}
}
