//go:build !amd64 || purego

package goexec

import "unsafe"

// Portable micro-kernel: a 2 x 3 tile of C. The compiler keeps the phi of
// every accumulator and the product added to it live together at the end of
// the loop body, so six accumulators (twelve of the 15 float registers Go
// allocates on amd64) is the most that runs without spilling.

const (
	gemmMR = 2
	gemmNR = 3
	gemmNC = 510 // multiple of gemmNR
)

// microKernel computes the MR x NR tile C (+)= Ap * Bp over kc steps, Ap and
// Bp being packed panels.
func microKernel(kc int, ap, bp, c []float32, ldc int, acc bool) {
	ap = ap[:kc*gemmMR]
	bp = bp[:kc*gemmNR]
	var c00, c01, c02, c10, c11, c12 float32
	// Two k steps at a time, addressing the panels with pointer arithmetic
	// (kc checked by the slicing above) to skip a bounds check per step,
	// never pointing past their end (which the unsafe rules forbid).
	pa := unsafe.Pointer(unsafe.SliceData(ap))
	pb := unsafe.Pointer(unsafe.SliceData(bp))
	for p := 0; p+2 <= kc; p += 2 {
		a := (*[4]float32)(unsafe.Add(pa, p*8))
		b := (*[6]float32)(unsafe.Add(pb, p*12))
		a0, a1 := a[0], a[1]
		b0, b1, b2 := b[0], b[1], b[2]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		a0, a1 = a[2], a[3]
		b0, b1, b2 = b[3], b[4], b[5]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
	}
	if kc%2 == 1 {
		a0, a1 := ap[len(ap)-2], ap[len(ap)-1]
		b0, b1, b2 := bp[len(bp)-3], bp[len(bp)-2], bp[len(bp)-1]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
	}
	r0 := (*[3]float32)(c[:3])
	r1 := (*[3]float32)(c[ldc : ldc+3])
	if acc {
		r0[0] += c00
		r0[1] += c01
		r0[2] += c02
		r1[0] += c10
		r1[1] += c11
		r1[2] += c12
		return
	}
	*r0 = [3]float32{c00, c01, c02}
	*r1 = [3]float32{c10, c11, c12}
}

// microStrip computes tiles MR x NR tiles of C stacked down a column strip:
// tile t is C[t*MR : t*MR+MR, 0:NR] (+)= Ap[t] * Bp, Ap holding the tiles'
// kc-step A panels one after another. It is the micro-kernel with the loop
// over the tiles around it, so that the small-k GEMMs of pointwise
// convolutions do not pay a call and the slicing of three panels per tile.
func microStrip(kc int, ap []float32, tiles int, bp, c []float32, ldc int, acc bool) {
	if tiles <= 0 || kc <= 0 {
		return
	}
	ap = ap[:tiles*kc*gemmMR]
	bp = bp[:kc*gemmNR]
	// The stores below skip bounds checks: check the last one once.
	if ldc < gemmNR || (tiles*gemmMR-1)*ldc+gemmNR > len(c) {
		panic("goexec: microStrip: C is smaller than the strip")
	}
	pb := unsafe.Pointer(unsafe.SliceData(bp))
	pc := unsafe.Pointer(unsafe.SliceData(c))
	for t := 0; t < tiles; t++ {
		pa := unsafe.Pointer(&ap[t*kc*gemmMR])
		var c00, c01, c02, c10, c11, c12 float32
		for p := 0; p+2 <= kc; p += 2 {
			a := (*[4]float32)(unsafe.Add(pa, p*8))
			b := (*[6]float32)(unsafe.Add(pb, p*12))
			a0, a1 := a[0], a[1]
			b0, b1, b2 := b[0], b[1], b[2]
			c00 += a0 * b0
			c01 += a0 * b1
			c02 += a0 * b2
			c10 += a1 * b0
			c11 += a1 * b1
			c12 += a1 * b2
			a0, a1 = a[2], a[3]
			b0, b1, b2 = b[3], b[4], b[5]
			c00 += a0 * b0
			c01 += a0 * b1
			c02 += a0 * b2
			c10 += a1 * b0
			c11 += a1 * b1
			c12 += a1 * b2
		}
		if kc%2 == 1 {
			a := (*[2]float32)(unsafe.Add(pa, (kc-1)*8))
			b := (*[3]float32)(unsafe.Add(pb, (kc-1)*12))
			a0, a1 := a[0], a[1]
			b0, b1, b2 := b[0], b[1], b[2]
			c00 += a0 * b0
			c01 += a0 * b1
			c02 += a0 * b2
			c10 += a1 * b0
			c11 += a1 * b1
			c12 += a1 * b2
		}
		r0 := (*[3]float32)(unsafe.Add(pc, t*gemmMR*ldc*4))
		r1 := (*[3]float32)(unsafe.Add(pc, (t*gemmMR+1)*ldc*4))
		if acc {
			r0[0] += c00
			r0[1] += c01
			r0[2] += c02
			r1[0] += c10
			r1[1] += c11
			r1[2] += c12
			continue
		}
		*r0 = [3]float32{c00, c01, c02}
		*r1 = [3]float32{c10, c11, c12}
	}
}

// gemmImpl names the micro-kernel in use (for benchmarks and logs).
func gemmImpl() string { return "scalar 2x3" }
