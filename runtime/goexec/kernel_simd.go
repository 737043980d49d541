//go:build goexperiment.simd && amd64

package goexec

import "simd/archsimd"

// AVX2/FMA micro-kernel (built with GOEXPERIMENT=simd): a 4 x 16 tile of C
// in eight 8-wide accumulators. CPUs without AVX2 and FMA use a portable
// loop over the same packed layout.

const (
	gemmMR = 4
	gemmNR = 16
)

var useAVX2 = archsimd.X86.AVX2() && archsimd.X86.FMA()

func gemmImpl() string {
	if useAVX2 {
		return "avx2 4x16"
	}
	return "scalar 4x16"
}

func microKernel(kc int, ap, bp, c []float32, ldc int, acc bool) {
	if !useAVX2 {
		microKernelLoop(kc, ap, bp, c, ldc, acc)
		return
	}
	ap = ap[:kc*4]
	bp = bp[:kc*16]
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
	for p := 0; p < kc; p++ {
		b := (*[16]float32)(bp[p*16:])
		a := (*[4]float32)(ap[p*4:])
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
}

// microKernelLoop is the portable fallback for the 4 x 16 layout.
func microKernelLoop(kc int, ap, bp, c []float32, ldc int, acc bool) {
	var t [gemmMR * gemmNR]float32
	for p := 0; p < kc; p++ {
		a := ap[p*gemmMR : p*gemmMR+gemmMR]
		b := bp[p*gemmNR : p*gemmNR+gemmNR]
		for i, av := range a {
			row := t[i*gemmNR : i*gemmNR+gemmNR]
			for j, bv := range b {
				row[j] += av * bv
			}
		}
	}
	for i := 0; i < gemmMR; i++ {
		row := c[i*ldc : i*ldc+gemmNR]
		if acc {
			for j := range row {
				row[j] += t[i*gemmNR+j]
			}
		} else {
			copy(row, t[i*gemmNR:i*gemmNR+gemmNR])
		}
	}
}

func axpy(d, s []float32, w float32) {
	if !useAVX2 || len(d) < 8 {
		axpyGo(d, s, w)
		return
	}
	s = s[:len(d)]
	wv := archsimd.BroadcastFloat32x8(w)
	i := 0
	for ; i+8 <= len(d); i += 8 {
		dv := archsimd.LoadFloat32x8((*[8]float32)(d[i:]))
		sv := archsimd.LoadFloat32x8((*[8]float32)(s[i:]))
		wv.MulAdd(sv, dv).Store((*[8]float32)(d[i:]))
	}
	axpyGo(d[i:], s[i:], w)
}

func taps3(d, s []float32, w0, w1, w2 float32) {
	if !useAVX2 || len(d) < 8 {
		taps3Go(d, s, w0, w1, w2)
		return
	}
	s = s[:len(d)+2]
	v0, v1, v2 := archsimd.BroadcastFloat32x8(w0), archsimd.BroadcastFloat32x8(w1), archsimd.BroadcastFloat32x8(w2)
	i := 0
	for ; i+8 <= len(d); i += 8 {
		acc := archsimd.LoadFloat32x8((*[8]float32)(d[i:]))
		acc = v0.MulAdd(archsimd.LoadFloat32x8((*[8]float32)(s[i:])), acc)
		acc = v1.MulAdd(archsimd.LoadFloat32x8((*[8]float32)(s[i+1:])), acc)
		acc = v2.MulAdd(archsimd.LoadFloat32x8((*[8]float32)(s[i+2:])), acc)
		acc.Store((*[8]float32)(d[i:]))
	}
	taps3Go(d[i:], s[i:], w0, w1, w2)
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
		v.Max(lv).Min(hv).Store((*[8]float32)(d[i:]))
	}
	clampGo(d[i:], s[i:], lo, hi)
}
