package goexec

import (
	"fmt"
	"math"
	"testing"
)

// TestSgemm compares the packed GEMM with a naive triple loop on awkward
// sizes, transposed operands (through strides), alpha and accumulation.
func TestSgemm(t *testing.T) {
	sizes := [][3]int{{1, 1, 1}, {3, 5, 7}, {4, 16, 1}, {17, 33, 300}, {97, 130, 257}, {200, 9, 600}, {1, 1000, 64}}
	for _, sz := range sizes {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, threads := range []int{1, 3} {
					m, n, k := sz[0], sz[1], sz[2]
					name := fmt.Sprintf("%dx%dx%d/ta=%v/tb=%v/t%d", m, n, k, ta, tb, threads)
					a, b := randSlice(m*k, uint32(m+k)), randSlice(k*n, uint32(n*k+1))
					rsA, csA, rsB, csB := k, 1, n, 1
					if ta {
						rsA, csA = 1, m
					}
					if tb {
						rsB, csB = 1, k
					}
					c0 := randSlice(m*n, 9)
					c := append([]float32(nil), c0...)
					alpha := float32(0.5)
					sgemm(threads, newScratchPool(), &gemmArgs{m: m, n: n, k: k, a: a, rsA: rsA, csA: csA, b: b, rsB: rsB, csB: csB, c: c, ldc: n, alpha: alpha, accumulate: true})
					for i := 0; i < m; i++ {
						for j := 0; j < n; j++ {
							var s float64
							for p := 0; p < k; p++ {
								s += float64(a[i*rsA+p*csA]) * float64(b[p*rsB+j*csB])
							}
							want := float64(c0[i*n+j]) + float64(alpha)*s
							if d := math.Abs(float64(c[i*n+j]) - want); d > 1e-4*(1+math.Abs(want)) {
								t.Fatalf("%s: C[%d,%d] = %g, want %g", name, i, j, c[i*n+j], want)
							}
						}
					}
				}
			}
		}
	}
}
