//go:build amd64 && !purego

package goexec

// Assembly GEMM micro-kernels on amd64, in the plain and the
// GOEXPERIMENT=simd build alike: a 4 x 32 tile of C in eight AVX-512
// accumulators, or as two 4 x 16 halves of eight AVX2/FMA accumulators each
// (the packed panels are the same; the halves read B with a stride).
// Without them a plain build multiplied with scalar float32 code at a tenth
// of the speed. CPUs with neither use microKernelLoop; the purego build tag
// (and other architectures) select the pure-Go kernel of gemm_generic.go.

const (
	gemmMR = 4
	gemmNR = 32
	gemmNC = 512 // multiple of gemmNR
)

// gemm4x32AVX512 computes the 4 x 32 tile C (+)= Ap * Bp over kc >= 1
// steps; ldc is C's row stride in elements.
//
//go:noescape
func gemm4x32AVX512(kc int, ap, bp, c *float32, ldc int, acc bool)

// gemm4x16AVX2 computes a 4 x 16 half of the tile: B's rows are gemmNR
// (32) values apart.
//
//go:noescape
func gemm4x16AVX2(kc int, ap, bp, c *float32, ldc int, acc bool)

func gemmImpl() string {
	switch {
	case useAVX512:
		return "avx512 4x32 (assembly)"
	case useAVX2:
		return "avx2 4x16 halves of 4x32 (assembly)"
	}
	return "scalar 4x32"
}

// microStrip computes tiles MR x NR tiles of C stacked down a column strip
// (see gemm_generic.go), one micro-kernel call per tile.
func microStrip(kc int, ap []float32, tiles int, bp, c []float32, ldc int, acc bool) {
	for t := 0; t < tiles; t++ {
		microKernel(kc, ap[t*kc*gemmMR:], bp, c[t*gemmMR*ldc:], ldc, acc)
	}
}

func microKernel(kc int, ap, bp, c []float32, ldc int, acc bool) {
	if kc <= 0 {
		panic("goexec: microKernel: no steps")
	}
	// The assembly reads kc steps of both panels and writes four rows of
	// 32: check the furthest element of each once.
	_, _, _ = ap[kc*gemmMR-1], bp[kc*gemmNR-1], c[3*ldc+gemmNR-1]
	switch {
	case useAVX512:
		gemm4x32AVX512(kc, &ap[0], &bp[0], &c[0], ldc, acc)
	case useAVX2:
		gemm4x16AVX2(kc, &ap[0], &bp[0], &c[0], ldc, acc)
		gemm4x16AVX2(kc, &ap[0], &bp[16], &c[16], ldc, acc)
	default:
		microKernelLoop(kc, ap, bp, c, ldc, acc)
	}
}
