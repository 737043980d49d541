package goexec

import (
	"math"
	"testing"
)

func TestErf32(t *testing.T) {
	worst := 0.0
	for i := -600000; i <= 600000; i++ {
		x := float32(i) / 100000
		d := math.Abs(float64(erf32(x)) - math.Erf(float64(x)))
		worst = max(worst, d)
		if e := math.Erf(float64(x)); x != 0 && d/math.Abs(e) > 2e-6 {
			t.Fatalf("erf32(%g) = %g, erf = %g: relative error %g", x, erf32(x), e, d/math.Abs(e))
		}
	}
	if worst > 5e-7 {
		t.Fatalf("max |erf32 - erf| = %g on [-6, 6]", worst)
	}
	t.Logf("max abs error %.3g", worst)
}

// TestErfsMatchesErf32 checks the slice form (AVX2 under GOEXPERIMENT=simd)
// against erf32 bit for bit, special values included, in the vector body
// and the tail.
func TestErfsMatchesErf32(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	special := []float32{0, float32(math.Copysign(0, -1)), nan, inf, -inf, 4, -4, 3.99, 1e-30, -1e-30, 1e30, -1e30}
	x := append([]float32{}, special...)
	for i := -3000; i <= 3000; i++ {
		x = append(x, float32(i)/500)
	}
	x = append(x, special...)
	checks := []struct {
		name string
		run  func(d, s []float32)
		want func(v float32) float32
	}{
		{"erfs", erfs, erf32},
		{"erfGelu", func(d, s []float32) { erfGelu(d, s, math.Sqrt2, 1, 0.5) }, func(v float32) float32 {
			e := erf32(v / math.Sqrt2)
			a := e + 1
			m := v * a
			return m * 0.5
		}},
	}
	for _, c := range checks {
		got := make([]float32, len(x))
		c.run(got, x)
		for i, v := range x {
			w := c.want(v)
			if math.Float32bits(got[i]) != math.Float32bits(w) && !(w != w && got[i] != got[i]) {
				t.Errorf("%s(%g) = %g (%#x), scalar %g (%#x)", c.name, v, got[i], math.Float32bits(got[i]), w, math.Float32bits(w))
			}
		}
	}
}
