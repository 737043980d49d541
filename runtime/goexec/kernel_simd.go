//go:build goexperiment.simd && amd64

package goexec

import (
	"simd/archsimd"
	"unsafe"
)

// Micro-kernels (built with GOEXPERIMENT=simd): a 4 x 32 tile of C, in
// eight 16-wide AVX-512 accumulators where the CPU has AVX-512, or as two
// 4 x 16 halves of eight 8-wide AVX2/FMA accumulators each (the packed
// panels are the same; the halves read B with a stride). CPUs with neither
// use a portable loop over the same layout. (An 8 x 32 AVX-512 tile, with
// sixteen accumulators, spilled: Go allocates Float32x16 values to Z0-Z14
// only.)

const (
	gemmMR = 4
	gemmNR = 32
	gemmNC = 512 // multiple of gemmNR
)

var (
	useAVX2   = archsimd.X86.AVX2() && archsimd.X86.FMA()
	useAVX512 = useAVX2 && archsimd.X86.AVX512()
)

func gemmImpl() string {
	switch {
	case useAVX512:
		return "avx512 4x32"
	case useAVX2:
		return "avx2 4x16 halves of 4x32"
	}
	return "scalar 4x32"
}

// microStrip computes tiles MR x NR tiles of C stacked down a column strip
// (see kernel_generic.go), one micro-kernel call per tile.
func microStrip(kc int, ap []float32, tiles int, bp, c []float32, ldc int, acc bool) {
	for t := 0; t < tiles; t++ {
		microKernel(kc, ap[t*kc*gemmMR:], bp, c[t*gemmMR*ldc:], ldc, acc)
	}
}

func microKernel(kc int, ap, bp, c []float32, ldc int, acc bool) {
	switch {
	case useAVX512:
		microKernel512(kc, ap, bp, c, ldc, acc)
	case useAVX2:
		microKernel4x16(kc, ap, bp, c, ldc, acc)
		microKernel4x16(kc, ap, bp[16:], c[16:], ldc, acc)
	default:
		microKernelLoop(kc, ap, bp, c, ldc, acc)
	}
}

// microKernel512 computes the 4 x 32 tile with AVX-512.
func microKernel512(kc int, ap, bp, c []float32, ldc int, acc bool) {
	ap = ap[:kc*gemmMR]
	bp = bp[:kc*gemmNR]
	_ = c[3*ldc+31]
	var c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float32x16
	if acc {
		c00, c01 = archsimd.LoadFloat32x16((*[16]float32)(c[0:])), archsimd.LoadFloat32x16((*[16]float32)(c[16:]))
		c10, c11 = archsimd.LoadFloat32x16((*[16]float32)(c[ldc:])), archsimd.LoadFloat32x16((*[16]float32)(c[ldc+16:]))
		c20, c21 = archsimd.LoadFloat32x16((*[16]float32)(c[2*ldc:])), archsimd.LoadFloat32x16((*[16]float32)(c[2*ldc+16:]))
		c30, c31 = archsimd.LoadFloat32x16((*[16]float32)(c[3*ldc:])), archsimd.LoadFloat32x16((*[16]float32)(c[3*ldc+16:]))
	}
	// ap and bp hold kc steps (checked by the slicing above): address them
	// with pointer arithmetic, without a bounds check per step (and never
	// past the end of the panels, which the unsafe rules forbid).
	pa := unsafe.Pointer(unsafe.SliceData(ap))
	pb := unsafe.Pointer(unsafe.SliceData(bp))
	for p := 0; p < kc; p++ {
		b := (*[32]float32)(unsafe.Add(pb, p*128))
		a := (*[4]float32)(unsafe.Add(pa, p*16))
		b0 := archsimd.LoadFloat32x16((*[16]float32)(b[0:16]))
		b1 := archsimd.LoadFloat32x16((*[16]float32)(b[16:32]))
		a0 := archsimd.BroadcastFloat32x16(a[0])
		c00 = a0.MulAdd(b0, c00)
		c01 = a0.MulAdd(b1, c01)
		a1 := archsimd.BroadcastFloat32x16(a[1])
		c10 = a1.MulAdd(b0, c10)
		c11 = a1.MulAdd(b1, c11)
		a2 := archsimd.BroadcastFloat32x16(a[2])
		c20 = a2.MulAdd(b0, c20)
		c21 = a2.MulAdd(b1, c21)
		a3 := archsimd.BroadcastFloat32x16(a[3])
		c30 = a3.MulAdd(b0, c30)
		c31 = a3.MulAdd(b1, c31)
	}
	c00.Store((*[16]float32)(c[0:]))
	c01.Store((*[16]float32)(c[16:]))
	c10.Store((*[16]float32)(c[ldc:]))
	c11.Store((*[16]float32)(c[ldc+16:]))
	c20.Store((*[16]float32)(c[2*ldc:]))
	c21.Store((*[16]float32)(c[2*ldc+16:]))
	c30.Store((*[16]float32)(c[3*ldc:]))
	c31.Store((*[16]float32)(c[3*ldc+16:]))
	archsimd.ClearAVXUpperBits()
}

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

// microKernel4x16 computes a 4 x 16 half of the tile with AVX2: columns
// of bp with the full tile's stride gemmNR.
func microKernel4x16(kc int, ap, bp, c []float32, ldc int, acc bool) {
	ap = ap[:(kc-1)*gemmMR+4]
	bp = bp[:(kc-1)*gemmNR+16]
	_ = c[3*ldc+15]
	var c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float32x8
	if acc {
		c00 = archsimd.LoadFloat32x8((*[8]float32)(c[0:]))
		c01 = archsimd.LoadFloat32x8((*[8]float32)(c[8:]))
		c10 = archsimd.LoadFloat32x8((*[8]float32)(c[ldc:]))
		c11 = archsimd.LoadFloat32x8((*[8]float32)(c[ldc+8:]))
		c20 = archsimd.LoadFloat32x8((*[8]float32)(c[2*ldc:]))
		c21 = archsimd.LoadFloat32x8((*[8]float32)(c[2*ldc+8:]))
		c30 = archsimd.LoadFloat32x8((*[8]float32)(c[3*ldc:]))
		c31 = archsimd.LoadFloat32x8((*[8]float32)(c[3*ldc+8:]))
	}
	pa := unsafe.Pointer(unsafe.SliceData(ap))
	pb := unsafe.Pointer(unsafe.SliceData(bp))
	for p := 0; p < kc; p++ {
		b := (*[16]float32)(unsafe.Add(pb, p*gemmNR*4))
		a := (*[4]float32)(unsafe.Add(pa, p*gemmMR*4))
		b0 := archsimd.LoadFloat32x8((*[8]float32)(b[0:8]))
		b1 := archsimd.LoadFloat32x8((*[8]float32)(b[8:16]))
		a0 := archsimd.BroadcastFloat32x8(a[0])
		c00 = a0.MulAdd(b0, c00)
		c01 = a0.MulAdd(b1, c01)
		a1 := archsimd.BroadcastFloat32x8(a[1])
		c10 = a1.MulAdd(b0, c10)
		c11 = a1.MulAdd(b1, c11)
		a2 := archsimd.BroadcastFloat32x8(a[2])
		c20 = a2.MulAdd(b0, c20)
		c21 = a2.MulAdd(b1, c21)
		a3 := archsimd.BroadcastFloat32x8(a[3])
		c30 = a3.MulAdd(b0, c30)
		c31 = a3.MulAdd(b1, c31)
	}
	c00.Store((*[8]float32)(c[0:]))
	c01.Store((*[8]float32)(c[8:]))
	c10.Store((*[8]float32)(c[ldc:]))
	c11.Store((*[8]float32)(c[ldc+8:]))
	c20.Store((*[8]float32)(c[2*ldc:]))
	c21.Store((*[8]float32)(c[2*ldc+8:]))
	c30.Store((*[8]float32)(c[3*ldc:]))
	c31.Store((*[8]float32)(c[3*ldc+8:]))
	archsimd.ClearAVXUpperBits()
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
	// The loads below skip bounds checks (they cost more than the FMAs):
	// check once that the furthest one, and every offset, is inside q.
	maxOff := 0
	for _, off := range offs {
		if off < 0 {
			panic("goexec: dwTaps: negative tap offset")
		}
		maxOff = max(maxOff, off)
	}
	if (ohp-1)*rowStep+owp+maxOff > len(q) || ohp%dwRows != 0 || owp%dwCols != 0 || ldo < owp || len(out) < (ohp-1)*ldo+owp {
		panic("goexec: dwTaps: padded plane smaller than the output needs")
	}
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
