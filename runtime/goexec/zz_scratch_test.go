//go:build goexperiment.simd && amd64

package goexec

import (
	"fmt"
	"testing"
)

func BenchmarkZKern(b *testing.B) {
	m, n, k := 256, 512, 256
	a, bb, c := randSlice(m*k, 1), randSlice(k*n, 2), make([]float32, m*n)
	pool := newScratchPool()
	for _, v := range []bool{false, true} {
		b.Run(fmt.Sprint("avx512=", v), func(b *testing.B) {
			old := useAVX512
			useAVX512 = v
			defer func() { useAVX512 = old }()
			for b.Loop() {
				sgemm(nil, pool, &gemmArgs{m: m, n: n, k: k, a: a, rsA: k, csA: 1, b: bb, rsB: n, csB: 1, c: c, ldc: n, alpha: 1})
			}
			reportGFLOPS(b, 2*float64(m*n*k))
		})
	}
}
