package goexec

import (
	"fmt"

	"github.com/wtonnx/wtonnx/tensor"
)

func buildMatMul(b *buildCtx) (kernelFunc, error) {
	w, _ := b.constIn(1)
	return matmulKernel(newPackedB(w), nil, nil), nil
}

// matmulWithBias returns the builder of MatMul kernels with a fused bias
// and activation for a constant B w, all sharing w's packing.
func matmulWithBias(w *tensor.Tensor) func(bias []float32, epi *unaryOp) kernelFunc {
	pw := newPackedB(w)
	return func(bias []float32, epi *unaryOp) kernelFunc { return matmulKernel(pw, bias, epi) }
}

// matmulKernel returns the MatMul kernel; pw, when not nil, packs the
// constant input B once; bias, when not nil, is added to every row of the product
// (a fused Add of a [N] constant) and epi, when not nil, applied afterwards
// (a fused activation).
func matmulKernel(pw *packedWeight, bias []float32, epi *unaryOp) kernelFunc {
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		t, err := matmul(rc, in[0], in[1], pw.of(rc.threads, in[1]), bias, epi)
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{t}, nil
	}
}

// matmul implements numpy matmul semantics for float32, adding bias to
// each row of the result and applying epi when they are not nil; packedB,
// when not nil, is the matrix b packed by packBAll.
func matmul(rc *runCtx, a, b *tensor.Tensor, packedB, bias []float32, epi *unaryOp) (*tensor.Tensor, error) {
	if err := requireF32(a, "A"); err != nil {
		return nil, err
	}
	if err := requireF32(b, "B"); err != nil {
		return nil, err
	}
	as, bs := a.Shape, b.Shape
	if len(as) == 0 || len(bs) == 0 {
		return nil, fmt.Errorf("operands must not be scalars (shapes %v, %v)", as, bs)
	}
	aVec, bVec := len(as) == 1, len(bs) == 1
	if aVec {
		as = []int{1, as[0]}
	}
	if bVec {
		bs = []int{bs[0], 1}
	}
	m, k := as[len(as)-2], as[len(as)-1]
	k2, n := bs[len(bs)-2], bs[len(bs)-1]
	if k != k2 {
		return nil, fmt.Errorf("shapes %v and %v do not multiply (inner dimensions %d and %d)", a.Shape, b.Shape, k, k2)
	}
	batch, err := broadcastShape(as[:len(as)-2], bs[:len(bs)-2])
	if err != nil {
		return nil, err
	}
	if bias != nil && len(bias) != n {
		return nil, fmt.Errorf("fused bias has %d values for %d columns", len(bias), n)
	}
	shape := append(append([]int{}, batch...), m, n)
	out := rc.newF32(shape)
	nb := tensor.NumElements(batch)
	if len(bs) == 2 {
		// B is shared: fold A's batch into its rows, one GEMM.
		sgemm(rc.threads, rc.scratch, &gemmArgs{
			m: tensor.NumElements(as[:len(as)-1]), n: n, k: k,
			a: a.F32, rsA: k, csA: 1, b: b.F32, rsB: n, csB: 1,
			c: out.F32, ldc: n, alpha: 1,
			colBias: bias, epi: epi, packedB: packedB,
		})
	} else if nb > 0 {
		pa := planBroadcast(as[:len(as)-2], bs[:len(bs)-2], batch)
		bst := pa.sb[len(pa.sb)-1]
		ast := pa.sa[len(pa.sa)-1]
		// Fewer products than threads: each product uses the team too
		// (sections nest).
		var threads *team
		if nb < rc.threads.threads() {
			threads = rc.threads
		}
		parallelFor(rc.threads, nb, 1, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				r, c := i/pa.rowLen, i%pa.rowLen
				ao, bo := pa.rowOffsets(r)
				ao += c * ast
				bo += c * bst
				sgemm(threads, rc.scratch, &gemmArgs{
					m: m, n: n, k: k,
					a: a.F32[ao*m*k:], rsA: k, csA: 1,
					b: b.F32[bo*k*n:], rsB: n, csB: 1,
					c: out.F32[i*m*n:], ldc: n, alpha: 1,
					colBias: bias, epi: epi,
				})
			}
		})
	}
	// Drop the dimensions added for 1-D operands.
	final := shape
	switch {
	case aVec && bVec:
		final = shape[:len(shape)-2]
	case aVec:
		final = append(append([]int{}, shape[:len(shape)-2]...), n)
	case bVec:
		final = shape[:len(shape)-1]
	}
	out.Shape = append([]int{}, final...)
	return out, nil
}

func buildGemm(b *buildCtx) (kernelFunc, error) {
	alpha, err := b.attrs.float("alpha", 1)
	if err != nil {
		return nil, err
	}
	beta, err := b.attrs.float("beta", 1)
	if err != nil {
		return nil, err
	}
	ta, err := b.attrs.int("transA", 0)
	if err != nil {
		return nil, err
	}
	tb, err := b.attrs.int("transB", 0)
	if err != nil {
		return nil, err
	}
	if b.opset < 11 && !b.hasIn(2) {
		return nil, fmt.Errorf("input C is required before opset 11")
	}
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		a, bm := in[0], in[1]
		if err := requireF32(a, "A"); err != nil {
			return nil, err
		}
		if err := requireF32(bm, "B"); err != nil {
			return nil, err
		}
		if len(a.Shape) != 2 || len(bm.Shape) != 2 {
			return nil, fmt.Errorf("A %v and B %v must be matrices", a.Shape, bm.Shape)
		}
		m, k := a.Shape[0], a.Shape[1]
		rsA, csA := k, 1
		if ta != 0 {
			m, k = k, m
			rsA, csA = 1, m
		}
		k2, n := bm.Shape[0], bm.Shape[1]
		rsB, csB := n, 1
		if tb != 0 {
			k2, n = n, k2
			rsB, csB = 1, k2
		}
		if k != k2 {
			return nil, fmt.Errorf("A %v (transA=%d) and B %v (transB=%d) do not multiply", a.Shape, ta, bm.Shape, tb)
		}
		out := rc.newF32([]int{m, n})
		acc := false
		if len(in) > 2 && in[2] != nil && beta != 0 {
			c := in[2]
			if err := requireF32(c, "C"); err != nil {
				return nil, err
			}
			bs, err := broadcastShape([]int{m, n}, c.Shape)
			if err != nil || !tensor.SameShape(bs, []int{m, n}) {
				return nil, fmt.Errorf("C of shape %v does not broadcast to [%d %d]", c.Shape, m, n)
			}
			stridedCopy(out.F32, c.F32, []int{m, n}, expandStrides(c.Shape, []int{m, n}), 0)
			if beta != 1 {
				for i := range out.F32 {
					out.F32[i] *= beta
				}
			}
			acc = true
		}
		sgemm(rc.threads, rc.scratch, &gemmArgs{
			m: m, n: n, k: k,
			a: a.F32, rsA: rsA, csA: csA, b: bm.F32, rsB: rsB, csB: csB,
			c: out.F32, ldc: n, alpha: alpha, accumulate: acc,
		})
		return []*tensor.Tensor{out}, nil
	}, nil
}
