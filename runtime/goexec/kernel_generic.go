//go:build !goexperiment.simd

package goexec

// Portable micro-kernel: a 4 x 4 tile of C kept in 16 scalar accumulators.

const (
	gemmMR = 4
	gemmNR = 4
)

// microKernel computes the MR x NR tile C (+)= Ap * Bp over kc steps, Ap and
// Bp being packed panels.
func microKernel(kc int, ap, bp, c []float32, ldc int, acc bool) {
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	var c20, c21, c22, c23 float32
	var c30, c31, c32, c33 float32
	ap = ap[:kc*4]
	bp = bp[:kc*4]
	for p := 0; p < kc; p++ {
		a := (*[4]float32)(ap[p*4:])
		b := (*[4]float32)(bp[p*4:])
		a0, a1, a2, a3 := a[0], a[1], a[2], a[3]
		b0, b1, b2, b3 := b[0], b[1], b[2], b[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	r0 := (*[4]float32)(c[0:])
	r1 := (*[4]float32)(c[ldc:])
	r2 := (*[4]float32)(c[2*ldc:])
	r3 := (*[4]float32)(c[3*ldc:])
	if acc {
		r0[0] += c00
		r0[1] += c01
		r0[2] += c02
		r0[3] += c03
		r1[0] += c10
		r1[1] += c11
		r1[2] += c12
		r1[3] += c13
		r2[0] += c20
		r2[1] += c21
		r2[2] += c22
		r2[3] += c23
		r3[0] += c30
		r3[1] += c31
		r3[2] += c32
		r3[3] += c33
		return
	}
	*r0 = [4]float32{c00, c01, c02, c03}
	*r1 = [4]float32{c10, c11, c12, c13}
	*r2 = [4]float32{c20, c21, c22, c23}
	*r3 = [4]float32{c30, c31, c32, c33}
}
