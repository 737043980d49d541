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
