package wtconv_test

import (
	"math"
	"testing"

	"github.com/wtonnx/wtonnx/wtconv"
)

func TestCostWithBaseAgreesWithSquareForms(t *testing.T) {
	for _, l := range []wtconv.Layer{
		{Channels: 96, Kernel: 5, Levels: 5, Stride: 1, Bias: true},
		{Channels: 3, Kernel: 3, Levels: 2, Stride: 1},
		{Channels: 1, Kernel: 5, Levels: 3, Stride: 1, Bias: true},
	} {
		k := l.Kernel
		if got, want := l.ParamsWithBase(k, k), l.Params(); got != want {
			t.Errorf("%+v: ParamsWithBase(k,k) = %d, Params = %d", l, got, want)
		}
		if got, want := l.FLOPsWithBase(56, 40, k, k), l.FLOPs(56, 40); got != want {
			t.Errorf("%+v: FLOPsWithBase(k,k) = %+v, FLOPs = %+v", l, got, want)
		}
		if got, want := l.ReceptiveFieldWithBase(k), l.ReceptiveField(); got != want {
			t.Errorf("%+v: RF %d, want %d", l, got, want)
		}
	}
	// A ConvNeXt-T stage-1 layer: 96 channels, 7x7 base, 5x5 wavelet convs,
	// 5 levels on 56x56, written out by the spec's formulas.
	l := wtconv.Layer{Channels: 96, Kernel: 5, Levels: 5, Stride: 1, Bias: true}
	if got, want := l.ParamsWithBase(7, 7), int64(96*49+96+96+5*(4*96*25+4*96)); got != want {
		t.Errorf("params %d, want %d", got, want)
	}
	c := l.FLOPsWithBase(56, 56, 7, 7)
	area := int64(28*28 + 14*14 + 7*7 + 4*4 + 2*2)
	if c.Base != 96*56*56*49 || c.Wavelet != 4*96*area*25 || c.Transforms != 2*4*96*area*4 {
		t.Errorf("cost %+v", c)
	}
	// Stride 2: the base conv computes only the kept outputs.
	s2 := wtconv.Layer{Channels: 8, Kernel: 5, Levels: 2, Stride: 2}
	if got := s2.FLOPsWithBase(9, 9, 3, 3).Base; got != 8*5*5*9 {
		t.Errorf("strided base %d", got)
	}
	// The paper's worked example in the mixed form: still 15.1M + 2.8M.
	pe := wtconv.Layer{Channels: 1, Kernel: 5, Levels: 3, Stride: 1, Bias: true}.FLOPsWithBase(512, 512, 5, 5)
	if math.Abs(float64(pe.Convs)/1e6-15.1) > 0.06 || math.Abs(float64(pe.Transforms)/1e6-2.8) > 0.06 {
		t.Errorf("worked example: %+v", pe)
	}
	if (wtconv.Layer{}).FLOPsWithBase(8, 8, 3, 3).Total != 0 {
		t.Error("an invalid layer must cost 0")
	}
}

// TestImpulseSupport checks the exact extents against the reference forward:
// the response of a random layer to an impulse at every position modulo 2^L
// is non-zero exactly on ImpulseSupport.
func TestImpulseSupport(t *testing.T) {
	for _, tc := range []struct {
		l  wtconv.Layer
		kb int
	}{
		{wtconv.Layer{Channels: 1, Kernel: 5, Levels: 3, Stride: 1, Bias: false}, 5},
		{wtconv.Layer{Channels: 1, Kernel: 3, Levels: 2, Stride: 1}, 3},
		{wtconv.Layer{Channels: 1, Kernel: 4, Levels: 2, Stride: 1}, 4},
		{wtconv.Layer{Channels: 1, Kernel: 3, Levels: 1, Stride: 1}, 3},
		{wtconv.Layer{Channels: 1, Kernel: 3, Levels: 0, Stride: 1}, 3},
	} {
		l, kb := tc.l, tc.kb
		base := make([]float32, kb*kb)
		for i := range base {
			base[i] = 1 + float32(i%3) // no zero taps
		}
		wt, err := wtconv.RandomWeights(l, base, nil, 7)
		if err != nil {
			t.Fatal(err)
		}
		s := 1 << l.Levels
		n := 8 * s * (l.Kernel + 2)
		for r := 0; r < s; r++ {
			p := n/2 + r
			if (n/2)%s != 0 {
				t.Fatal("test size")
			}
			x := make([]float32, n*n)
			x[p*n+p] = 1
			y, _, _, err := wtconv.Forward(l, wt, x, 1, n, n)
			if err != nil {
				t.Fatal(err)
			}
			lo, hi := l.ImpulseSupport(r, kb)
			gotLo, gotHi := n, -n
			for yy := 0; yy < n; yy++ {
				if y[yy*n+p] != 0 { // the column through the impulse
					gotLo, gotHi = min(gotLo, yy-p), max(gotHi, yy-p)
				}
			}
			if gotLo != lo || gotHi != hi {
				t.Errorf("%+v r=%d: non-zero offsets [%d, %d], ImpulseSupport [%d, %d]", l, r, gotLo, gotHi, lo, hi)
			}
			if l.Levels > 0 && hi-lo+1 != l.ReceptiveField() {
				t.Errorf("%+v r=%d: extent %d, receptive field %d", l, r, hi-lo+1, l.ReceptiveField())
			}
		}
	}
}
