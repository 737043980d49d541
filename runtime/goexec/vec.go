package goexec

import (
	"math"
	"unsafe"
)

// Portable inner loops; kernel_simd.go replaces them with AVX2 versions
// when built with GOEXPERIMENT=simd on a CPU that has AVX2 and FMA.

// clampGo computes d[i] = min(max(s[i], lo), hi), NaN staying NaN.
func clampGo(d, s []float32, lo, hi float32) {
	s = s[:len(d)]
	lb, hb := int32(math.Float32bits(lo)), int32(math.Float32bits(hi))
	if lb < 0 || hb < lb || lo != lo || hi != hi {
		for i, v := range s {
			d[i] = min(max(v, lo), hi)
		}
		return
	}
	// 0 <= lo <= hi (Relu, ReLU6): on the bit patterns read as int32,
	// non-negative floats order as the floats do and every negative one
	// (sign bit set) is below lo's, so integer min and max (conditional
	// moves, where float min and max take NaN and signed-zero fix-ups)
	// clamp them; a NaN, whose magnitude bits exceed those of +Inf, is
	// kept as it is.
	si := unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
	di := unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(d))), len(d))
	for i, u := range si {
		r := min(max(u, lb), hb)
		if u&0x7fffffff > 0x7f800000 {
			r = u
		}
		di[i] = r
	}
}

// biasClampGo computes row[j] = min(max(row[j]+b, lo), hi), NaN staying
// NaN, in one pass.
func biasClampGo(row []float32, b, lo, hi float32) {
	lb, hb := int32(math.Float32bits(lo)), int32(math.Float32bits(hi))
	if lb < 0 || hb < lb || lo != lo || hi != hi {
		for j, v := range row {
			row[j] = min(max(v+b, lo), hi)
		}
		return
	}
	// See clampGo.
	for j, v := range row {
		u := int32(math.Float32bits(v + b))
		r := min(max(u, lb), hb)
		if u&0x7fffffff > 0x7f800000 {
			r = u
		}
		row[j] = math.Float32frombits(uint32(r))
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

// dotGo returns the dot product of a and b (len(b) >= len(a)) with four
// partial sums, which the compiler keeps in registers.
func dotGo(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}
