package wtconv_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/wtconv"
)

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

// randomLayerWeights draws every tensor at random (scales included), so that
// each branch contributes.
func randomLayerWeights(t testing.TB, l wtconv.Layer, seed uint64) *wtconv.Weights {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 99))
	c, k := l.Channels, l.Kernel
	var bias []float32
	if l.Bias {
		bias = randSlice(rng, c)
	}
	wt, err := wtconv.RandomWeights(l, randSlice(rng, c*k*k), bias, seed)
	if err != nil {
		t.Fatal(err)
	}
	wt.BaseScale = randSlice(rng, c)
	for i := range wt.WaveletScale {
		wt.WaveletScale[i] = randSlice(rng, 4*c)
	}
	return wt
}

// depthwiseSame is an independent plain depthwise conv ("same" padding,
// (k-1)/2 before), written directly on the NCHW slice.
func depthwiseSame(x, ker, bias []float32, n, c, h, w, k int) []float64 {
	out := make([]float64, n*c*h*w)
	p := (k - 1) / 2
	for b := 0; b < n; b++ {
		for ch := 0; ch < c; ch++ {
			for y := 0; y < h; y++ {
				for xx := 0; xx < w; xx++ {
					s := 0.0
					if bias != nil {
						s = float64(bias[ch])
					}
					for i := 0; i < k; i++ {
						for j := 0; j < k; j++ {
							yy, xj := y+i-p, xx+j-p
							if yy >= 0 && yy < h && xj >= 0 && xj < w {
								s += float64(ker[(ch*k+i)*k+j]) * float64(x[((b*c+ch)*h+yy)*w+xj])
							}
						}
					}
					out[((b*c+ch)*h+y)*w+xx] = s
				}
			}
		}
	}
	return out
}

func maxDiff(a []float32, b []float64) float64 {
	m := 0.0
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i])-b[i]))
	}
	return m
}

func TestForwardLevelsZeroIsDepthwiseConv(t *testing.T) {
	for _, k := range []int{1, 2, 3, 4, 7} {
		l := wtconv.Layer{Channels: 3, Kernel: k, Levels: 0, Stride: 1, Bias: true}
		wt := randomLayerWeights(t, l, uint64(k))
		for i := range wt.BaseScale {
			wt.BaseScale[i] = 1
		}
		rng := rand.New(rand.NewPCG(5, 5))
		x := randSlice(rng, 2*3*9*10)
		got, _, _, err := wtconv.Forward(l, wt, x, 2, 9, 10)
		if err != nil {
			t.Fatal(err)
		}
		if d := maxDiff(got, depthwiseSame(x, wt.Base, wt.Bias, 2, 3, 9, 10, k)); d > 1e-5 {
			t.Errorf("k=%d: differs from a plain depthwise conv by %g", k, d)
		}
	}
}

// TestPreserveWeightsKeepsTheConv: converted with PreserveWeights, the layer
// computes exactly the original depthwise conv at any depth.
func TestPreserveWeightsKeepsTheConv(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for _, L := range []int{1, 2, 3} {
		l := wtconv.Layer{Channels: 4, Kernel: 5, Levels: L, Stride: 1, Bias: true}
		base, bias := randSlice(rng, 4*25), randSlice(rng, 4)
		wt, err := wtconv.PreserveWeights(l, base, bias)
		if err != nil {
			t.Fatal(err)
		}
		x := randSlice(rng, 4*13*16)
		got, _, _, err := wtconv.Forward(l, wt, x, 1, 13, 16)
		if err != nil {
			t.Fatal(err)
		}
		want := depthwiseSame(x, base, bias, 1, 4, 13, 16, 5)
		for i := range got {
			if got[i] != float32(want[i]) {
				t.Fatalf("L=%d: element %d is %v, the conv gives %v", L, i, got[i], float32(want[i]))
			}
		}
	}
	// Without a bias on the source conv, a layer with bias gets zeros.
	l := wtconv.Layer{Channels: 2, Kernel: 3, Levels: 1, Stride: 1, Bias: true}
	wt, err := wtconv.PreserveWeights(l, seq(18, 1), nil)
	if err != nil || len(wt.Bias) != 2 || wt.Bias[0] != 0 || wt.Bias[1] != 0 {
		t.Fatalf("nil bias: %v %v", wt, err)
	}
}

func TestForwardStrideIsSubsampling(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, tc := range []struct{ h, w, k, levels int }{{16, 16, 3, 2}, {13, 11, 4, 2}, {10, 17, 5, 3}} {
		l := wtconv.Layer{Channels: 2, Kernel: tc.k, Levels: tc.levels, Stride: 1, Bias: true}
		wt := randomLayerWeights(t, l, 11)
		x := randSlice(rng, 2*2*tc.h*tc.w)
		full, _, _, err := wtconv.Forward(l, wt, x, 2, tc.h, tc.w)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []int{2, 3} {
			ls := l
			ls.Stride = s
			got, oh, ow, err := wtconv.Forward(ls, wt, x, 2, tc.h, tc.w)
			if err != nil {
				t.Fatal(err)
			}
			if oh != (tc.h+s-1)/s || ow != (tc.w+s-1)/s {
				t.Fatalf("stride %d on %dx%d: output %dx%d", s, tc.h, tc.w, oh, ow)
			}
			for p := 0; p < 2*2; p++ {
				for y := 0; y < oh; y++ {
					for xx := 0; xx < ow; xx++ {
						if a, b := got[(p*oh+y)*ow+xx], full[(p*tc.h+y*s)*tc.w+xx*s]; a != b {
							t.Fatalf("stride %d: out[%d,%d,%d] = %v, stride-1 output at (%d,%d) = %v", s, p, y, xx, a, y*s, xx*s, b)
						}
					}
				}
			}
		}
	}
}

// TestForwardLinearity: without bias the layer is linear in its input, and
// the wavelet branch is linear in the wavelet scales.
func TestForwardLinearity(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	l := wtconv.Layer{Channels: 3, Kernel: 3, Levels: 3, Stride: 1, Bias: false}
	wt := randomLayerWeights(t, l, 21)
	n, h, w := 2, 15, 12
	a, b := randSlice(rng, n*3*h*w), randSlice(rng, n*3*h*w)
	const alpha, beta = 0.7, -1.3
	mix := make([]float32, len(a))
	for i := range a {
		mix[i] = alpha*a[i] + beta*b[i]
	}
	ya, _, _, _ := wtconv.Forward(l, wt, a, n, h, w)
	yb, _, _, _ := wtconv.Forward(l, wt, b, n, h, w)
	ym, _, _, err := wtconv.Forward(l, wt, mix, n, h, w)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ym {
		want := alpha*float64(ya[i]) + beta*float64(yb[i])
		if math.Abs(float64(ym[i])-want) > 1e-4*(1+math.Abs(want)) {
			t.Fatalf("element %d: f(a*x+b*y) = %v, a*f(x)+b*f(y) = %v", i, ym[i], want)
		}
	}
	// The wavelet branch contributes: zero scales change the output, and
	// doubling every wavelet scale doubles the contribution.
	zero, double := wt.Clone(), wt.Clone()
	for i := range zero.WaveletScale {
		for j := range zero.WaveletScale[i] {
			zero.WaveletScale[i][j] = 0
			double.WaveletScale[i][j] *= 2
		}
	}
	y0, _, _, _ := wtconv.Forward(l, zero, a, n, h, w)
	y2, _, _, _ := wtconv.Forward(l, double, a, n, h, w)
	moved := 0.0
	for i := range y0 {
		contrib := float64(ya[i]) - float64(y0[i])
		moved = math.Max(moved, math.Abs(contrib))
		if d := float64(y2[i]) - float64(y0[i]); math.Abs(d-2*contrib) > 1e-4*(1+math.Abs(contrib)) {
			t.Fatalf("element %d: doubled scales give %v, want %v", i, d, 2*contrib)
		}
	}
	if moved < 1e-2 {
		t.Fatalf("the wavelet branch changes the output by at most %g", moved)
	}
}

// TestForwardImpulseSupport: an impulse reaches a 2^L*k-wide
// neighbourhoods only through the deepest level, so removing that level must
// shrink the support of the impulse response.
func TestForwardImpulseSupport(t *testing.T) {
	l := wtconv.Layer{Channels: 1, Kernel: 3, Levels: 3, Stride: 1}
	wt := randomLayerWeights(t, l, 5)
	const size = 48
	x := make([]float32, size*size)
	x[24*size+24] = 1
	y, _, _, err := wtconv.Forward(l, wt, x, 1, size, size)
	if err != nil {
		t.Fatal(err)
	}
	span := func(v []float32) int {
		lo, hi := size, -1
		for i, f := range v {
			if f != 0 {
				lo, hi = min(lo, i%size), max(hi, i%size)
			}
		}
		return hi - lo + 1
	}
	l2 := l
	l2.Levels = 2
	w2 := wt.Clone()
	w2.Wavelet, w2.WaveletScale = w2.Wavelet[:2], w2.WaveletScale[:2]
	y2, _, _, _ := wtconv.Forward(l2, w2, x, 1, size, size)
	if s3, s2 := span(y), span(y2); s3 != 24 || s2 != 12 {
		t.Errorf("impulse response width %d with 3 levels, %d with 2; want 24 and 12", s3, s2)
	}
}

func TestForwardErrors(t *testing.T) {
	l := wtconv.Layer{Channels: 2, Kernel: 3, Levels: 2, Stride: 1, Bias: true}
	wt := randomLayerWeights(t, l, 1)
	for _, tc := range []struct {
		name       string
		x          []float32
		n, h, w    int
		wt         *wtconv.Weights
		layer      wtconv.Layer
		wantSubstr string
	}{
		{"short input", make([]float32, 10), 1, 4, 4, wt, l, "input has 10 values, want N*C*H*W"},
		{"batch", nil, 0, 4, 4, wt, l, "batch size"},
		{"empty", nil, 1, 0, 4, wt, l, "empty"},
		{"weights", make([]float32, 2*16), 1, 4, 4, &wtconv.Weights{}, l, "base has 0 values"},
		{"layer", make([]float32, 2*16), 1, 4, 4, wt, wtconv.Layer{Channels: 2, Kernel: 3, Levels: 2}, "stride must be >= 1"},
	} {
		_, _, _, err := wtconv.Forward(tc.layer, tc.wt, tc.x, tc.n, tc.h, tc.w)
		if err == nil || !strings.Contains(err.Error(), tc.wantSubstr) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.wantSubstr)
		}
	}
}

func BenchmarkForward(b *testing.B) {
	// One ConvNeXt-T stage-2-like layer: 192 channels, 28x28, k=5, 4 levels.
	l := wtconv.Layer{Channels: 192, Kernel: 5, Levels: 4, Stride: 1, Bias: true}
	wt := randomLayerWeights(b, l, 1)
	x := randSlice(rand.New(rand.NewPCG(1, 1)), 192*28*28)
	b.SetBytes(int64(4 * len(x)))
	for b.Loop() {
		if _, _, _, err := wtconv.Forward(l, wt, x, 1, 28, 28); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(l.FLOPs(28, 28).Total)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
