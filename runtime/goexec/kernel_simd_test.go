//go:build goexperiment.simd && amd64

package goexec

import (
	"math"
	"testing"
)

// TestBiasClampMatchesGo checks the vector bias-and-clamp epilogue against
// the portable one, NaN and infinities included, in the body and the tail.
func TestBiasClampMatchesGo(t *testing.T) {
	src := randSlice(203, 41)
	for i := range src {
		src[i] *= 8
	}
	src[5], src[200] = float32(math.NaN()), float32(math.Inf(-1))
	src[17] = float32(math.Inf(1))
	for _, c := range [][3]float32{{0.5, 0, 6}, {-1, 0, float32(math.Inf(1))}, {0.25, -1, 1}} {
		got := append([]float32(nil), src...)
		want := append([]float32(nil), src...)
		biasClamp(got, c[0], c[1], c[2])
		biasClampGo(want, c[0], c[1], c[2])
		for i := range got {
			if got[i] != want[i] && !(got[i] != got[i] && want[i] != want[i]) {
				t.Errorf("bias %g clamp [%g, %g]: [%d] %g -> %g, portable %g", c[0], c[1], c[2], i, src[i], got[i], want[i])
			}
		}
	}
}
