//go:build goexperiment.simd && amd64

package goexec

import (
	"simd/archsimd"
	"unsafe"
)

// Vector kernels (built with GOEXPERIMENT=simd) through simd/archsimd:
// AVX2/FMA, and AVX-512 where it pays; CPUs without AVX2 and FMA use the
// portable loops. The GEMM micro-kernels are gemm_amd64.s's assembly,
// shared with the plain build: an archsimd 4 x 32 AVX-512 kernel reached 85
// to 93 GFLOP/s on one core where the assembly reaches 110 to 135 (Go's
// register allocator moves the accumulators around every FMA, the 213 form
// being the only one archsimd has).

var (
	useAVX2   = archsimd.X86.AVX2() && archsimd.X86.FMA()
	useAVX512 = useAVX2 && archsimd.X86.AVX512()
)

// dot returns the dot product of a and b (len(b) >= len(a)).
func dot(a, b []float32) float32 {
	if !useAVX2 || len(a) < 32 {
		return dotGo(a, b)
	}
	b = b[:len(a)]
	n := len(a) &^ 31
	var s [8]float32
	if useAVX512 {
		var s0, s1 archsimd.Float32x16
		for i := 0; i < n; i += 32 {
			s0 = archsimd.LoadFloat32x16((*[16]float32)(a[i:])).MulAdd(archsimd.LoadFloat32x16((*[16]float32)(b[i:])), s0)
			s1 = archsimd.LoadFloat32x16((*[16]float32)(a[i+16:])).MulAdd(archsimd.LoadFloat32x16((*[16]float32)(b[i+16:])), s1)
		}
		var t [16]float32
		s0.Add(s1).Store(&t)
		archsimd.LoadFloat32x8((*[8]float32)(t[:8])).Add(archsimd.LoadFloat32x8((*[8]float32)(t[8:]))).Store(&s)
	} else {
		var s0, s1, s2, s3 archsimd.Float32x8
		for i := 0; i < n; i += 32 {
			s0 = archsimd.LoadFloat32x8((*[8]float32)(a[i:])).MulAdd(archsimd.LoadFloat32x8((*[8]float32)(b[i:])), s0)
			s1 = archsimd.LoadFloat32x8((*[8]float32)(a[i+8:])).MulAdd(archsimd.LoadFloat32x8((*[8]float32)(b[i+8:])), s1)
			s2 = archsimd.LoadFloat32x8((*[8]float32)(a[i+16:])).MulAdd(archsimd.LoadFloat32x8((*[8]float32)(b[i+16:])), s2)
			s3 = archsimd.LoadFloat32x8((*[8]float32)(a[i+24:])).MulAdd(archsimd.LoadFloat32x8((*[8]float32)(b[i+24:])), s3)
		}
		s0.Add(s1).Add(s2.Add(s3)).Store(&s)
	}
	archsimd.ClearAVXUpperBits()
	return (s[0] + s[1]) + (s[2] + s[3]) + (s[4] + s[5]) + (s[6] + s[7]) + dotGo(a[n:], b[n:])
}

func clamp(d, s []float32, lo, hi float32) {
	if !useAVX2 || len(d) < 8 {
		clampGo(d, s, lo, hi)
		return
	}
	s = s[:len(d)]
	lv, hv := archsimd.BroadcastFloat32x8(lo), archsimd.BroadcastFloat32x8(hi)
	i := 0
	for ; i+8 <= len(d); i += 8 {
		v := archsimd.LoadFloat32x8((*[8]float32)(s[i:]))
		// VMAXPS/VMINPS return the second operand when either is NaN; keep
		// NaN inputs as they are (ONNX Runtime's Relu and Clip propagate
		// NaN, as Go's min and max do in clampGo).
		v.Merge(v.Max(lv).Min(hv), v.IsNaN()).Store((*[8]float32)(d[i:]))
	}
	archsimd.ClearAVXUpperBits()
	clampGo(d[i:], s[i:], lo, hi)
}

// biasClamp computes row[j] = min(max(row[j]+b, lo), hi) in one vector
// pass, NaN staying NaN.
func biasClamp(row []float32, b, lo, hi float32) {
	if !useAVX2 || len(row) < 8 {
		biasClampGo(row, b, lo, hi)
		return
	}
	bv := archsimd.BroadcastFloat32x8(b)
	lv, hv := archsimd.BroadcastFloat32x8(lo), archsimd.BroadcastFloat32x8(hi)
	n := len(row) &^ 7
	for i := 0; i < n; i += 8 {
		v := archsimd.LoadFloat32x8((*[8]float32)(row[i:])).Add(bv)
		v.Merge(v.Max(lv).Min(hv), v.IsNaN()).Store((*[8]float32)(row[i:]))
	}
	archsimd.ClearAVXUpperBits()
	biasClampGo(row[n:], b, lo, hi)
}

// Depthwise micro-kernel block: dwRows output rows by dwCols columns.
const (
	dwRows = 4
	dwCols = 8
)

// dwTaps computes out[oy*ldo+ox] (oy < ohp, ox < owp) = bias + sum over
// taps t of k[t] * q[offs[t] + oy*rowStep + ox]; ohp and owp are multiples
// of the block.
func dwTaps(out []float32, ldo, owp, ohp int, q []float32, rowStep int, offs []int, k []float32, bias float32) {
	if !useAVX2 {
		dwTapsLoop(out, ldo, owp, ohp, q, rowStep, offs, k, bias)
		return
	}
	k = k[:len(offs)]
	if ohp == 0 || owp == 0 {
		return
	}
	// The loads below skip bounds checks (they cost more than the FMAs).
	checkDwTaps(len(out), ldo, owp, ohp, len(q), rowStep, offs)
	qp := unsafe.Pointer(unsafe.SliceData(q))
	rs := uintptr(rowStep) * 4
	bv := archsimd.BroadcastFloat32x8(bias)
	for oy := 0; oy < ohp; oy += dwRows {
		for ox := 0; ox+dwCols <= owp; ox += dwCols {
			base := unsafe.Add(qp, (oy*rowStep+ox)*4)
			a0, a1, a2, a3 := bv, bv, bv, bv
			for t, off := range offs {
				w := archsimd.BroadcastFloat32x8(k[t])
				p := unsafe.Add(base, off*4)
				a0 = w.MulAdd(archsimd.LoadFloat32x8((*[8]float32)(p)), a0)
				p = unsafe.Add(p, rs)
				a1 = w.MulAdd(archsimd.LoadFloat32x8((*[8]float32)(p)), a1)
				p = unsafe.Add(p, rs)
				a2 = w.MulAdd(archsimd.LoadFloat32x8((*[8]float32)(p)), a2)
				p = unsafe.Add(p, rs)
				a3 = w.MulAdd(archsimd.LoadFloat32x8((*[8]float32)(p)), a3)
			}
			o := oy*ldo + ox
			a0.Store((*[8]float32)(out[o:]))
			a1.Store((*[8]float32)(out[o+ldo:]))
			a2.Store((*[8]float32)(out[o+2*ldo:]))
			a3.Store((*[8]float32)(out[o+3*ldo:]))
		}
	}
}

// erf8 is erf32 on eight lanes, with the same float32 operations (no fused
// multiply-add), so that it returns exactly what erf32 returns.
func erf8(x archsimd.Float32x8) archsimd.Float32x8 {
	b := archsimd.BroadcastFloat32x8
	c := x.Max(b(-4)).Min(b(4))
	x2 := c.Mul(c)
	p := x2.Mul(b(-2.72614225801306e-10)).Add(b(2.77068142495902e-08))
	p = x2.Mul(p).Add(b(-2.10102402082508e-06))
	p = x2.Mul(p).Add(b(-5.69250639462346e-05))
	p = x2.Mul(p).Add(b(-7.34990630326855e-04))
	p = x2.Mul(p).Add(b(-2.95459980854025e-03))
	p = x2.Mul(p).Add(b(-1.60960333262415e-02))
	p = p.Mul(c)
	q := x2.Mul(b(-1.45660718464996e-05)).Add(b(-2.13374055278905e-04))
	q = x2.Mul(q).Add(b(-1.68282697438203e-03))
	q = x2.Mul(q).Add(b(-7.37332916720468e-03))
	q = x2.Mul(q).Add(b(-1.42647390514189e-02))
	// VMAXPS and VMINPS drop NaN; erf32 keeps it.
	return x.Merge(p.Div(q), x.IsNaN())
}

func erfs(d, s []float32) {
	if !useAVX2 || len(d) < 8 {
		erfsGo(d, s)
		return
	}
	s = s[:len(d)]
	i := 0
	for ; i+8 <= len(d); i += 8 {
		erf8(archsimd.LoadFloat32x8((*[8]float32)(s[i:]))).Store((*[8]float32)(d[i:]))
	}
	erfsGo(d[i:], s[i:])
}

func erfGelu(d, s []float32, c1, c2, c3 float32) {
	if !useAVX2 || len(d) < 8 {
		erfGeluGo(d, s, c1, c2, c3)
		return
	}
	s = s[:len(d)]
	// The constants are broadcast once, and no scalar float stays live
	// across the loop: Go spills and reloads scalars around the erf8 call
	// with legacy SSE moves, which merge into the upper halves of the
	// vector registers and so wait for the previous iteration's result,
	// serialising the loop (that made this pass several times slower than
	// the GEMM in front of it).
	v1, v2, v3 := archsimd.BroadcastFloat32x8(c1), archsimd.BroadcastFloat32x8(c2), archsimd.BroadcastFloat32x8(c3)
	n := len(d) &^ 7
	for i := 0; i < n; i += 8 {
		v := archsimd.LoadFloat32x8((*[8]float32)(s[i:]))
		e := erf8(v.Div(v1))
		v.Mul(e.Add(v2)).Mul(v3).Store((*[8]float32)(d[i:]))
	}
	if n < len(d) {
		// The last len(d)-n values through the same vector code (erf8
		// equals erf32 exactly, so the result is erfGeluGo's).
		var t [8]float32
		copy(t[:], s[n:])
		v := archsimd.LoadFloat32x8(&t)
		e := erf8(v.Div(v1))
		v.Mul(e.Add(v2)).Mul(v3).Store(&t)
		copy(d[n:], t[:])
	}
}
