//go:build !goexperiment.simd || !amd64

package goexec

// Portable micro-kernel: a 4 x 4 tile of C computed as two 2 x 4 halves, so
// that the eight accumulators of each half stay in registers (a full 4 x 4
// register tile exceeds the 15 float registers Go allocates on amd64).

const (
	gemmMR = 4
	gemmNR = 4
)

// microKernel computes the MR x NR tile C (+)= Ap * Bp over kc steps, Ap and
// Bp being packed panels.
func microKernel(kc int, ap, bp, c []float32, ldc int, acc bool) {
	microKernelScalar(kc, ap, bp, c, ldc, acc)
}

// gemmImpl names the micro-kernel in use (for benchmarks and logs).
func gemmImpl() string { return "scalar 4x4" }

func microKernelScalar(kc int, ap, bp, c []float32, ldc int, acc bool) {
	ap = ap[:kc*4]
	bp = bp[:kc*4]
	for half := 0; half < 4; half += 2 {
		var c00, c01, c02, c03, c10, c11, c12, c13 float32
		for p := 0; p < kc; p++ {
			a := (*[2]float32)(ap[p*4+half:])
			b := (*[4]float32)(bp[p*4:])
			a0, a1 := a[0], a[1]
			b0 := b[0]
			c00 += a0 * b0
			c10 += a1 * b0
			b1 := b[1]
			c01 += a0 * b1
			c11 += a1 * b1
			b2 := b[2]
			c02 += a0 * b2
			c12 += a1 * b2
			b3 := b[3]
			c03 += a0 * b3
			c13 += a1 * b3
		}
		r0 := (*[4]float32)(c[half*ldc:])
		r1 := (*[4]float32)(c[(half+1)*ldc:])
		if acc {
			r0[0] += c00
			r0[1] += c01
			r0[2] += c02
			r0[3] += c03
			r1[0] += c10
			r1[1] += c11
			r1[2] += c12
			r1[3] += c13
		} else {
			*r0 = [4]float32{c00, c01, c02, c03}
			*r1 = [4]float32{c10, c11, c12, c13}
		}
	}
}

func clamp(d, s []float32, lo, hi float32) { clampGo(d, s, lo, hi) }

// Depthwise micro-kernel block: dwRows output rows by dwCols columns.
const (
	dwRows = 2
	dwCols = 4
)

// dwTaps computes out [ohp, owp] = bias + sum over taps t of k[t] *
// q[offs[t] + oy*rowStep + ox]; ohp and owp are multiples of the block.
func dwTaps(out []float32, owp, ohp int, q []float32, rowStep int, offs []int, k []float32, bias float32) {
	k = k[:len(offs)]
	for oy := 0; oy < ohp; oy += dwRows {
		r0 := out[oy*owp : (oy+1)*owp]
		r1 := out[(oy+1)*owp : (oy+2)*owp]
		for ox := 0; ox+dwCols <= owp; ox += dwCols {
			base := oy*rowStep + ox
			a0, a1, a2, a3 := bias, bias, bias, bias
			b0, b1, b2, b3 := bias, bias, bias, bias
			for t, off := range offs {
				w := k[t]
				s := (*[4]float32)(q[base+off:])
				a0 += w * s[0]
				a1 += w * s[1]
				a2 += w * s[2]
				a3 += w * s[3]
				u := (*[4]float32)(q[base+off+rowStep:])
				b0 += w * u[0]
				b1 += w * u[1]
				b2 += w * u[2]
				b3 += w * u[3]
			}
			*(*[4]float32)(r0[ox:]) = [4]float32{a0, a1, a2, a3}
			*(*[4]float32)(r1[ox:]) = [4]float32{b0, b1, b2, b3}
		}
	}
}
