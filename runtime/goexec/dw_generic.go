//go:build (!goexperiment.simd || !amd64) && (!amd64 || purego)

package goexec

import "unsafe"

// Depthwise micro-kernel block: dwRows output rows by dwCols columns.
const (
	dwRows = 2
	dwCols = 4
)

// dwTaps computes out[oy*ldo+ox] (oy < ohp, ox < owp) = bias + sum over
// taps t of k[t] * q[offs[t] + oy*rowStep + ox]; ohp and owp are multiples
// of the block.
func dwTaps(out []float32, ldo, owp, ohp int, q []float32, rowStep int, offs []int, k []float32, bias float32) {
	k = k[:len(offs)]
	if ohp == 0 || owp == 0 {
		return
	}
	// The loads below skip bounds checks (they cost more than the
	// arithmetic).
	checkDwTaps(len(out), ldo, owp, ohp, len(q), rowStep, offs)
	qp := unsafe.Pointer(unsafe.SliceData(q))
	rs := uintptr(rowStep) * 4
	for oy := 0; oy < ohp; oy += dwRows {
		r0 := out[oy*ldo : oy*ldo+owp]
		r1 := out[(oy+1)*ldo : (oy+1)*ldo+owp]
		for ox := 0; ox+dwCols <= owp; ox += dwCols {
			base := unsafe.Add(qp, (oy*rowStep+ox)*4)
			a0, a1, a2, a3 := bias, bias, bias, bias
			b0, b1, b2, b3 := bias, bias, bias, bias
			for t, off := range offs {
				w := k[t]
				s := (*[4]float32)(unsafe.Add(base, off*4))
				a0 += w * s[0]
				a1 += w * s[1]
				a2 += w * s[2]
				a3 += w * s[3]
				s = (*[4]float32)(unsafe.Add(unsafe.Pointer(s), rs))
				b0 += w * s[0]
				b1 += w * s[1]
				b2 += w * s[2]
				b3 += w * s[3]
			}
			*(*[4]float32)(r0[ox:]) = [4]float32{a0, a1, a2, a3}
			*(*[4]float32)(r1[ox:]) = [4]float32{b0, b1, b2, b3}
		}
	}
}
