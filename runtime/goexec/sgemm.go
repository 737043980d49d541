package goexec

import (
	"sync"
	"unsafe"

	"github.com/wtonnx/wtonnx/tensor"
)

// Blocked, packed single-precision matrix multiplication.
//
// C[m x n] (+)= alpha * A[m x k] * B[k x n], where A and B are addressed
// through row and column strides (so transposed operands need no copy) and C
// is row-major with leading dimension ldc. The operands are packed into
// MR-row panels of A and NR-column panels of B (zero-padded at the edges) so
// that the micro-kernel streams through contiguous memory; blocks of
// gemmKC x gemmNC of B and gemmMC x gemmKC of A keep the working set in cache.

const (
	gemmKC = 256
	gemmMC = 96 // multiple of gemmMR
)

type gemmArgs struct {
	m, n, k    int
	a          []float32
	rsA, csA   int
	b          []float32
	rsB, csB   int
	c          []float32
	ldc        int
	alpha      float32
	accumulate bool // C += product instead of C = product
	// rowBias (one value per row of C) and colBias (one per column) are
	// added to the result, and epi then applied to it, block by block
	// while the block is in cache.
	rowBias, colBias []float32
	epi              *unaryOp
	// packedA and packedB, when not nil, are A in packAAll's layout and B
	// in packBAll's (constant weights packed once, see packedWeight); a,
	// rsA and csA, or b, rsB and csB, are then not read.
	packedA, packedB []float32
}

// packedWeight is a constant float32 matrix packed once in the GEMM's panel
// layout, as its A operand (a convolution's weights [M, C*KH*KW]) or its B
// operand (a MatMul's [K, N]), so that runs skip packing it: for the
// 3136-row products of a ConvNeXt's first stage, packing B in every one of
// the 33 row blocks cost a tenth of the run, and a MobileNetV2 packed all
// of its convolution weights on every run. The first Run that uses it
// packs it rather than Open, so that of the plain and the fused kernel
// built for one node only the one that runs holds a copy.
type packedWeight struct {
	w          *tensor.Tensor
	rows, cols int
	asA        bool
	once       sync.Once
	packed     []float32
}

// newPackedB returns the packing of w as B when it is a float32 matrix, or
// nil.
func newPackedB(w *tensor.Tensor) *packedWeight {
	if w == nil || w.DType != tensor.Float32 || len(w.Shape) != 2 || w.Len() == 0 {
		return nil
	}
	return &packedWeight{w: w, rows: w.Shape[0], cols: w.Shape[1]}
}

// newPackedA returns the packing of w [M, ...] as an M-row A when it is a
// float32 tensor, or nil.
func newPackedA(w *tensor.Tensor) *packedWeight {
	if w == nil || w.DType != tensor.Float32 || len(w.Shape) < 2 || w.Len() == 0 {
		return nil
	}
	return &packedWeight{w: w, rows: w.Shape[0], cols: w.Len() / w.Shape[0], asA: true}
}

// of returns the packed panels when t is the constant itself (a Run can
// override an initializer that is also a graph input; its tensor then
// differs and is packed as usual), packing them on first use.
func (p *packedWeight) of(threads *team, t *tensor.Tensor) []float32 {
	if p == nil || len(t.F32) != len(p.w.F32) || unsafe.SliceData(t.F32) != unsafe.SliceData(p.w.F32) ||
		!tensor.SameShape(t.Shape, p.w.Shape) {
		return nil
	}
	p.once.Do(func() {
		r, c := p.rows, p.cols
		if p.asA {
			p.packed = make([]float32, packedALen(r, c))
			packAAll(threads, &gemmArgs{m: r, k: c, a: p.w.F32, rsA: c, csA: 1, alpha: 1}, p.packed)
			return
		}
		p.packed = make([]float32, packedBLen(r, c))
		packBAll(threads, &gemmArgs{k: r, n: c, b: p.w.F32, rsB: c, csB: 1}, p.packed)
	})
	return p.packed
}

// packedBLen is the length of packBAll's layout for a k x n B: the panels
// of gemmKC-row blocks, each block n rounded up to gemmNR columns wide.
func packedBLen(k, n int) int {
	return k * ((n + gemmNR - 1) / gemmNR * gemmNR)
}

// packBAll packs the whole of B into dst (packedBLen long): the block of
// rows p0.. holds packB's panels for all the columns, so the panel of
// columns j.. (j a multiple of gemmNR) starts at p0*npad + j*kc.
func packBAll(threads *team, g *gemmArgs, dst []float32) {
	npad := (g.n + gemmNR - 1) / gemmNR * gemmNR
	kb := (g.k + gemmKC - 1) / gemmKC
	// Work items: one block of rows by one strip of gemmNC columns.
	strips := (g.n + gemmNC - 1) / gemmNC
	parallelFor(threads, kb*strips, 1, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			p0 := (t / strips) * gemmKC
			j0 := (t % strips) * gemmNC
			kc := min(gemmKC, g.k-p0)
			packB(g, p0, kc, j0, min(gemmNC, g.n-j0), dst[p0*npad+j0*kc:])
		}
	})
}

// packedALen is the length of packAAll's layout for an m x k A.
func packedALen(m, k int) int {
	return k * ((m + gemmMR - 1) / gemmMR * gemmMR)
}

// packAAll packs the whole of A into dst (packedALen long): the block of
// columns p0.. holds packA's panels for all the rows, so the panel of rows
// i.. (i a multiple of gemmMR) starts at p0*mpad + i*kc.
func packAAll(threads *team, g *gemmArgs, dst []float32) {
	mpad := (g.m + gemmMR - 1) / gemmMR * gemmMR
	kb := (g.k + gemmKC - 1) / gemmKC
	strips := (g.m + gemmMC - 1) / gemmMC
	parallelFor(threads, kb*strips, 1, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			p0 := (t / strips) * gemmKC
			i0 := (t % strips) * gemmMC
			kc := min(gemmKC, g.k-p0)
			packA(g, i0, min(gemmMC, g.m-i0), p0, kc, dst[p0*mpad+i0*kc:])
		}
	})
}

// sgemm computes the product on team threads (nil: the caller alone).
func sgemm(threads *team, pool *scratchPool, g *gemmArgs) {
	if g.m == 0 || g.n == 0 {
		return
	}
	if g.k == 0 {
		for i := 0; i < g.m; i++ {
			row := g.c[i*g.ldc : i*g.ldc+g.n]
			if !g.accumulate {
				clear(row)
			}
			g.finishRow(i, 0, row)
		}
		return
	}
	if g.m == 1 && g.csA == 1 && g.rsB == 1 && g.packedA == nil && g.packedB == nil {
		gemvT(threads, g)
		return
	}
	mt := (g.m + gemmMC - 1) / gemmMC
	nc := gemmNC
	if nt := (g.n + nc - 1) / nc; mt*nt < 2*threads.threads() && g.n > gemmNR {
		// Split the columns finer so that every thread has work.
		want := (2*threads.threads() + mt - 1) / mt
		nc = (g.n + want - 1) / want
		nc = (nc + gemmNR - 1) / gemmNR * gemmNR
		if nc < 4*gemmNR {
			nc = 4 * gemmNR
		}
	}
	nt := (g.n + nc - 1) / nc
	packed := g.packedB
	if packed == nil && mt > 1 {
		// Several row blocks use every panel of B: pack it once for all
		// of them instead of once per block.
		packed = pool.get(packedBLen(g.k, g.n))
		packBAll(threads, g, packed)
		defer pool.put(packed)
	}
	packedA := g.packedA
	if packedA == nil && nt > 1 {
		// Likewise for A, used by every column block (a convolution's
		// weights, packed 25 times over for a 112x112 output before).
		packedA = pool.get(packedALen(g.m, g.k))
		packAAll(threads, g, packedA)
		defer pool.put(packedA)
	}
	parallelFor(threads, mt*nt, 1, func(lo, hi int) {
		var bufA, bufB []float32
		if packedA == nil {
			bufA = pool.get(gemmMC * gemmKC)
		}
		if packed == nil {
			bufB = pool.get(gemmKC * nc)
		}
		for t := lo; t < hi; t++ {
			i0 := (t / nt) * gemmMC
			j0 := (t % nt) * nc
			gemmBlock(g, i0, min(gemmMC, g.m-i0), j0, min(nc, g.n-j0), bufA, bufB, packedA, packed)
		}
		pool.put(bufA)
		pool.put(bufB)
	})
}

// gemvT computes the one-row product whose B is stored transposed (each
// column contiguous), as a classifier's Gemm with transB=1 is: one dot
// product per column. Through the packed path a single row of A filled a
// quarter of every micro-tile and all of B was packed for it.
func gemvT(threads *team, g *gemmArgs) {
	a := g.a[:g.k]
	parallelFor(threads, g.n, 64, func(lo, hi int) {
		row := g.c[lo:hi]
		for j := range row {
			off := (lo + j) * g.csB
			s := g.alpha * dot(a, g.b[off:off+g.k])
			if g.accumulate {
				s += row[j]
			}
			row[j] = s
		}
		g.finishRow(0, lo, row)
	})
}

// gemmBlock computes C[i0:i0+mc, j0:j0+nc], packing A's panels into bufA
// unless packedA holds all of A (packAAll's layout), and B's into bufB
// unless packed holds all of B (packBAll's layout).
func gemmBlock(g *gemmArgs, i0, mc, j0, nc int, bufA, bufB, packedA, packed []float32) {
	var tile [gemmMR * gemmNR]float32
	npad := (g.n + gemmNR - 1) / gemmNR * gemmNR
	mpad := (g.m + gemmMR - 1) / gemmMR * gemmMR
	for p0 := 0; p0 < g.k; p0 += gemmKC {
		kc := min(gemmKC, g.k-p0)
		if packed != nil {
			bufB = packed[p0*npad+j0*kc:]
		} else {
			packB(g, p0, kc, j0, nc, bufB)
		}
		if packedA != nil {
			bufA = packedA[p0*mpad+i0*kc:]
		} else {
			packA(g, i0, mc, p0, kc, bufA)
		}
		acc := g.accumulate || p0 > 0
		for jr := 0; jr < nc; jr += gemmNR {
			nr := min(gemmNR, nc-jr)
			bp := bufB[jr*kc : jr*kc+kc*gemmNR]
			ir0 := 0
			if nr == gemmNR {
				// The full tiles of the strip in one call.
				tiles := mc / gemmMR
				microStrip(kc, bufA, tiles, bp, g.c[i0*g.ldc+j0+jr:], g.ldc, acc)
				ir0 = tiles * gemmMR
			}
			for ir := ir0; ir < mc; ir += gemmMR {
				mr := min(gemmMR, mc-ir)
				ap := bufA[ir*kc : ir*kc+kc*gemmMR]
				off := (i0+ir)*g.ldc + j0 + jr
				if mr == gemmMR && nr == gemmNR {
					microKernel(kc, ap, bp, g.c[off:], g.ldc, acc)
					continue
				}
				// Edge tile: compute into a full temporary tile.
				if acc {
					for i := 0; i < mr; i++ {
						copy(tile[i*gemmNR:i*gemmNR+nr], g.c[off+i*g.ldc:off+i*g.ldc+nr])
					}
				}
				microKernel(kc, ap, bp, tile[:], gemmNR, acc)
				for i := 0; i < mr; i++ {
					copy(g.c[off+i*g.ldc:off+i*g.ldc+nr], tile[i*gemmNR:i*gemmNR+nr])
				}
			}
		}
	}
	if g.rowBias != nil || g.colBias != nil || g.epi != nil {
		for i := i0; i < i0+mc; i++ {
			g.finishRow(i, j0, g.c[i*g.ldc+j0:i*g.ldc+j0+nc])
		}
	}
}

// finishRow adds the biases to row, the columns j0.. of C's row i, and
// applies the epilogue.
func (g *gemmArgs) finishRow(i, j0 int, row []float32) {
	if g.rowBias != nil && g.colBias == nil && g.epi != nil {
		if lo, hi, ok := g.epi.clampBounds(); ok {
			biasClamp(row, g.rowBias[i], lo, hi)
			return
		}
	}
	if g.rowBias != nil {
		b := g.rowBias[i]
		for j := range row {
			row[j] += b
		}
	}
	if g.colBias != nil {
		for j, b := range g.colBias[j0 : j0+len(row)] {
			row[j] += b
		}
	}
	if g.epi != nil {
		g.epi.applyRange(row, row)
	}
}

// packA stores alpha*A[i0:i0+mc, p0:p0+kc] as MR-row panels: panel r holds,
// for each k, the MR values of rows r*MR..r*MR+MR-1.
func packA(g *gemmArgs, i0, mc, p0, kc int, dst []float32) {
	a, rs, cs := g.a, g.rsA, g.csA
	alpha := g.alpha
	for ir := 0; ir < mc; ir += gemmMR {
		panel := dst[ir*kc : ir*kc+kc*gemmMR]
		mr := min(gemmMR, mc-ir)
		if mr == gemmMR && cs == 1 {
			for i := 0; i < gemmMR; i++ {
				row := a[(i0+ir+i)*rs+p0 : (i0+ir+i)*rs+p0+kc]
				if alpha == 1 {
					for p, v := range row {
						panel[p*gemmMR+i] = v
					}
				} else {
					for p, v := range row {
						panel[p*gemmMR+i] = alpha * v
					}
				}
			}
			continue
		}
		for p := 0; p < kc; p++ {
			base := (p0+p)*cs + (i0+ir)*rs
			out := panel[p*gemmMR : p*gemmMR+gemmMR]
			for i := 0; i < mr; i++ {
				out[i] = alpha * a[base+i*rs]
			}
			for i := mr; i < gemmMR; i++ {
				out[i] = 0
			}
		}
	}
}

// packB stores B[p0:p0+kc, j0:j0+nc] as NR-column panels: panel c holds,
// for each k, the NR values of columns c*NR..c*NR+NR-1.
func packB(g *gemmArgs, p0, kc, j0, nc int, dst []float32) {
	b, rs, cs := g.b, g.rsB, g.csB
	for jr := 0; jr < nc; jr += gemmNR {
		panel := dst[jr*kc : jr*kc+kc*gemmNR]
		nr := min(gemmNR, nc-jr)
		if nr == gemmNR && cs == 1 {
			// Rows of NR values rs apart: check the span once, then
			// copy them without a bounds check (or memmove call) each.
			src := b[p0*rs+j0+jr : (p0+kc-1)*rs+j0+jr+gemmNR]
			sp := unsafe.Pointer(unsafe.SliceData(src))
			dp := unsafe.Pointer(unsafe.SliceData(panel[:kc*gemmNR]))
			for p := 0; p < kc; p++ {
				*(*[gemmNR]float32)(unsafe.Add(dp, p*gemmNR*4)) = *(*[gemmNR]float32)(unsafe.Add(sp, p*rs*4))
			}
			continue
		}
		if nr == gemmNR && rs == 1 {
			for j := 0; j < gemmNR; j++ {
				col := b[(j0+jr+j)*cs+p0 : (j0+jr+j)*cs+p0+kc]
				for p, v := range col {
					panel[p*gemmNR+j] = v
				}
			}
			continue
		}
		for p := 0; p < kc; p++ {
			base := (p0+p)*rs + (j0+jr)*cs
			out := panel[p*gemmNR : p*gemmNR+gemmNR]
			for j := 0; j < nr; j++ {
				out[j] = b[base+j*cs]
			}
			for j := nr; j < gemmNR; j++ {
				out[j] = 0
			}
		}
	}
}

// microKernelLoop is the loop the vector builds fall back to on CPUs
// without AVX2 and FMA (the portable build has its own micro-kernel).
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
