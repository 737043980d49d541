package goexec

import "unsafe"

// Direct depthwise convolution of one plane.
//
// The input plane is first copied, zero-padded, into a scratch buffer laid
// out as sw "phase" planes (phase p holds the padded columns p, p+sw,
// p+2*sw, ...), so that for every kernel tap the inputs of consecutive
// output columns are consecutive in memory whatever the stride. The padding
// also rounds the output up to whole blocks of the micro-kernel
// (dwRows x dwCols), so the inner loop over the taps has no border cases:
// dwTaps computes the padded output, and the valid part is copied out.

// dwBuf is one worker's reusable scratch for dwConv2d.
type dwBuf struct {
	q, out []float32
	offs   []int
	// zeroFor is the geometry whose padding q holds as zeros: every plane
	// of one geometry writes the same positions of q, so the rest stays
	// zero from the first plane on and needs no clearing.
	zeroFor geom2d
	zeroed  bool
}

func growF32(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// dwConv2d computes one output plane of a depthwise convolution: dst
// [oh, ow] = bias + sum over the kernel of k * src [h, w].
func dwConv2d(dst, src, k []float32, geo *geom2d, bias float32, buf *dwBuf) {
	oh, ow := geo.oh, geo.ow
	if oh == 0 || ow == 0 {
		return
	}
	sh, sw := geo.sh, geo.sw
	owp := (ow + dwCols - 1) / dwCols * dwCols
	ohp := (oh + dwRows - 1) / dwRows * dwRows
	ph := (ohp-1)*sh + (geo.kh-1)*geo.dh + 1
	qw := owp + (geo.kw-1)*geo.dw/sw
	phase := ph * qw
	if n := sw * phase; len(buf.q) != n || !buf.zeroed || buf.zeroFor != *geo {
		buf.q = growF32(buf.q, n)
		clear(buf.q)
		buf.zeroFor, buf.zeroed = *geo, true
	}
	q := buf.q
	// Fill the phase planes: q[p][y][i] = src[y-pt][i*sw+p-pl], or 0 (the
	// zeros are already there).
	if sw == 2 {
		fillPhases2(q, src, geo, ph, qw)
	}
	for p := 0; p < sw && sw != 2; p++ {
		lo, hi := validRange(p-geo.pl, sw, geo.w, qw)
		for y := 0; y < ph; y++ {
			row := q[p*phase+y*qw : p*phase+(y+1)*qw]
			iy := y - geo.pt
			if iy < 0 || iy >= geo.h || lo >= hi {
				continue
			}
			srow := src[iy*geo.w : (iy+1)*geo.w]
			off := p - geo.pl
			if sw == 1 {
				copy(row[lo:hi], srow[lo+off:hi+off])
			} else {
				for i := lo; i < hi; i++ {
					row[i] = srow[i*sw+off]
				}
			}
		}
	}
	kk := geo.kh * geo.kw
	if cap(buf.offs) < kk {
		buf.offs = make([]int, kk)
	}
	offs := buf.offs[:kk]
	for ky := 0; ky < geo.kh; ky++ {
		for kx := 0; kx < geo.kw; kx++ {
			d := kx * geo.dw
			offs[ky*geo.kw+kx] = (d%sw)*phase + ky*geo.dh*qw + d/sw
		}
	}
	// The whole blocks of the output go straight into dst; the right-hand
	// columns and bottom rows that do not fill a block are computed as
	// whole blocks into a scratch tile (the padded q has room for them)
	// and their valid part copied out. (Computing the whole padded output
	// in scratch and copying it all cost as much as the taps themselves on
	// 28x28, 14x14 and 7x7 maps.)
	rowStep := sh * qw
	owf, ohf := ow/dwCols*dwCols, oh/dwRows*dwRows
	if owf > 0 && ohf > 0 {
		dwTaps(dst, ow, owf, ohf, q, rowStep, offs, k[:kk], bias)
	}
	if owf < ow && ohf > 0 {
		buf.out = growF32(buf.out, ohf*dwCols)
		dwTaps(buf.out, dwCols, dwCols, ohf, q[owf:], rowStep, offs, k[:kk], bias)
		// Fewer than dwCols values a row: a loop beats a memmove call.
		n := ow - owf
		for oy := 0; oy < ohf; oy++ {
			d, s := dst[oy*ow+owf:oy*ow+owf+n], buf.out[oy*dwCols:oy*dwCols+n]
			for i := range d {
				d[i] = s[i]
			}
		}
	}
	if ohf < oh {
		buf.out = growF32(buf.out, dwRows*owp)
		dwTaps(buf.out, owp, owp, dwRows, q[ohf*rowStep:], rowStep, offs, k[:kk], bias)
		for oy := ohf; oy < oh; oy++ {
			copy(dst[oy*ow:(oy+1)*ow], buf.out[(oy-ohf)*owp:])
		}
	}
}

// fillPhases2 fills the two phase planes of stride 2 in one pass over each
// input row, writing only the input's positions (q's padding is zero).
func fillPhases2(q, src []float32, geo *geom2d, ph, qw int) {
	phase := ph * qw
	pl := geo.pl
	for y := 0; y < ph; y++ {
		r0 := q[y*qw : (y+1)*qw]
		r1 := q[phase+y*qw : phase+(y+1)*qw]
		iy := y - geo.pt
		if iy < 0 || iy >= geo.h {
			continue
		}
		srow := src[iy*geo.w : (iy+1)*geo.w]
		// Input column ix lands in padded column ix+pl: phase (ix+pl)&1,
		// index (ix+pl)>>1, which must stay below qw.
		end := min(len(srow), 2*qw-pl)
		ix := 0
		if pl&1 == 1 && end > 0 {
			r1[pl>>1] = srow[0]
			ix = 1
		}
		// Pairs ix, ix+1 (ix+pl even) go to r0[j], r1[j] with j = (ix+pl)/2
		// < qw: check the last pair once and copy without bounds checks.
		if n := (end - ix) / 2; n > 0 {
			j0 := (ix + pl) >> 1
			_, _ = srow[ix+2*n-1], r0[j0+n-1]
			_ = r1[j0+n-1]
			sp := unsafe.Pointer(&srow[ix])
			p0, p1 := unsafe.Pointer(&r0[j0]), unsafe.Pointer(&r1[j0])
			for i := 0; i < n; i++ {
				v := (*[2]float32)(unsafe.Add(sp, i*8))
				*(*float32)(unsafe.Add(p0, i*4)) = v[0]
				*(*float32)(unsafe.Add(p1, i*4)) = v[1]
			}
			ix += 2 * n
		}
		if ix < end {
			r0[(ix+pl)>>1] = srow[ix]
		}
	}
}

// checkDwTaps panics unless every load and store of a dwTaps call with
// these arguments (and the block sizes of this build) is inside its
// slice: the vector kernels check once here instead of at every access.
func checkDwTaps(lenOut, ldo, owp, ohp, lenQ, rowStep int, offs []int) {
	maxOff := 0
	for _, off := range offs {
		if off < 0 {
			panic("goexec: dwTaps: negative tap offset")
		}
		maxOff = max(maxOff, off)
	}
	if (ohp-1)*rowStep+owp+maxOff > lenQ || ohp%dwRows != 0 || owp%dwCols != 0 || ldo < owp || lenOut < (ohp-1)*ldo+owp {
		panic("goexec: dwTaps: padded plane smaller than the output needs")
	}
}

// dwTapsLoop is the loop the vector builds fall back to on CPUs without
// AVX2 and FMA (the portable build has its own dwTaps).
func dwTapsLoop(out []float32, ldo, owp, ohp int, q []float32, rowStep int, offs []int, k []float32, bias float32) {
	for oy := 0; oy < ohp; oy++ {
		row := out[oy*ldo : oy*ldo+owp]
		for ox := range row {
			acc := bias
			base := oy*rowStep + ox
			for t, off := range offs {
				acc += k[t] * q[base+off]
			}
			row[ox] = acc
		}
	}
}
