package goexec

// Portable inner loops; kernel_simd.go replaces them with AVX2 versions
// when built with GOEXPERIMENT=simd on a CPU that has AVX2 and FMA.

// clampGo computes d[i] = min(max(s[i], lo), hi).
func clampGo(d, s []float32, lo, hi float32) {
	s = s[:len(d)]
	for i, v := range s {
		d[i] = min(max(v, lo), hi)
	}
}
