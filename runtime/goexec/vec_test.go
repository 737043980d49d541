package goexec

import (
	"math"
	"testing"
)

// TestClampGo checks the portable clamp against Go's min and max, NaN
// staying NaN, for bounds that take the integer path (0 <= lo <= hi) and
// for those that do not.
func TestClampGo(t *testing.T) {
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	negNaN := math.Float32frombits(0xffc00001)
	x := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 5.5, 6, 6.5, 1e-40, -1e-40, inf, -inf, nan, negNaN,
		math.MaxFloat32, -math.MaxFloat32, 0.25, -0.25, 3}
	for _, b := range [][2]float32{{0, 6}, {0, inf}, {0.5, 2}, {-1, 2}, {-inf, 0}, {float32(math.Copysign(0, -1)), 1}, {2, 2}} {
		lo, hi := b[0], b[1]
		d := make([]float32, len(x))
		clampGo(d, x, lo, hi)
		for i, v := range x {
			if v != v {
				if d[i] == d[i] {
					t.Errorf("clamp(%v, %v, %v) = %v, want NaN", v, lo, hi, d[i])
				}
				continue
			}
			if w := min(max(v, lo), hi); d[i] != w {
				t.Errorf("clamp(%v, %v, %v) = %v, want %v", v, lo, hi, d[i], w)
			}
		}
	}
}
