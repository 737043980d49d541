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

// erfsGo computes d[i] = erf32(s[i]).
func erfsGo(d, s []float32) {
	s = s[:len(d)]
	for i, v := range s {
		d[i] = erf32(v)
	}
}

// erfGeluGo computes d[i] = s[i] * (erf32(s[i] / c1) + c2) * c3, operation
// by operation as the unfused Div, Erf, Add, Mul, Mul nodes do.
func erfGeluGo(d, s []float32, c1, c2, c3 float32) {
	s = s[:len(d)]
	for i, v := range s {
		e := erf32(v / c1)
		a := e + c2
		m := v * a
		d[i] = m * c3
	}
}
