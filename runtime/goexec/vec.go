package goexec

// Portable inner loops; kernel_simd.go replaces them with AVX2 versions
// when built with GOEXPERIMENT=simd on a CPU that has AVX2 and FMA.

// axpyGo computes d[i] += w * s[i].
func axpyGo(d, s []float32, w float32) {
	s = s[:len(d)]
	for i := range d {
		d[i] += w * s[i]
	}
}

// taps3Go computes d[i] += w0*s[i] + w1*s[i+1] + w2*s[i+2]; len(s) >= len(d)+2.
func taps3Go(d, s []float32, w0, w1, w2 float32) {
	s = s[:len(d)+2]
	for i := range d {
		d[i] += w0*s[i] + w1*s[i+1] + w2*s[i+2]
	}
}

// clampGo computes d[i] = min(max(s[i], lo), hi).
func clampGo(d, s []float32, lo, hi float32) {
	s = s[:len(d)]
	for i, v := range s {
		d[i] = min(max(v, lo), hi)
	}
}
