package goexec

import (
	"fmt"
	"math"

	"github.com/wtonnx/wtonnx/tensor"
)

func requireF32(t *tensor.Tensor, what string) error {
	if t.DType != tensor.Float32 {
		return fmt.Errorf("%s must be float32, got %v", what, t.DType)
	}
	return nil
}

func buildBatchNorm(b *buildCtx) (kernelFunc, error) {
	eps, err := b.attrs.float("epsilon", 1e-5)
	if err != nil {
		return nil, err
	}
	if b.opset < 9 {
		spatial, err := b.attrs.int("spatial", 1)
		if err != nil {
			return nil, err
		}
		if spatial != 1 {
			return nil, fmt.Errorf("spatial=%d is not supported", spatial)
		}
	}
	if b.opset >= 14 {
		tm, err := b.attrs.int("training_mode", 0)
		if err != nil {
			return nil, err
		}
		if tm != 0 {
			return nil, fmt.Errorf("training_mode=1 is not supported (inference only)")
		}
	}
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		if err := requireF32(x, "X"); err != nil {
			return nil, err
		}
		if len(x.Shape) < 2 {
			return nil, fmt.Errorf("X has shape %v, needs rank >= 2", x.Shape)
		}
		c := x.Shape[1]
		names := []string{"scale", "B", "mean", "var"}
		for i, t := range in[1:5] {
			if err := requireF32(t, names[i]); err != nil {
				return nil, err
			}
			if t.Len() != c {
				return nil, fmt.Errorf("%s has shape %v, needs %d values (channels)", names[i], t.Shape, c)
			}
		}
		mul := make([]float32, c)
		add := make([]float32, c)
		for i := 0; i < c; i++ {
			inv := 1 / math.Sqrt(float64(in[4].F32[i])+float64(eps))
			m := float64(in[1].F32[i]) * inv
			mul[i] = float32(m)
			add[i] = float32(float64(in[2].F32[i]) - float64(in[3].F32[i])*m)
		}
		out := rc.newF32(x.Shape)
		plane := tensor.NumElements(x.Shape[2:])
		n := x.Shape[0]
		parallelFor(rc.threads, n*c, max(1, 16384/max(plane, 1)), func(lo, hi int) {
			for p := lo; p < hi; p++ {
				ch := p % c
				m, a := mul[ch], add[ch]
				src := x.F32[p*plane : p*plane+plane]
				dst := out.F32[p*plane : p*plane+plane]
				for i, v := range src {
					dst[i] = v*m + a
				}
			}
		})
		return []*tensor.Tensor{out}, nil
	}, nil
}

func buildLayerNorm(b *buildCtx) (kernelFunc, error) {
	axis, err := b.attrs.int("axis", -1)
	if err != nil {
		return nil, err
	}
	eps, err := b.attrs.float("epsilon", 1e-5)
	if err != nil {
		return nil, err
	}
	if _, err := b.attrs.int("stash_type", 1); err != nil {
		return nil, err
	}
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, scale := in[0], in[1]
		var bias *tensor.Tensor
		if len(in) > 2 {
			bias = in[2]
		}
		if err := requireF32(x, "X"); err != nil {
			return nil, err
		}
		ax, err := normAxis(axis, len(x.Shape))
		if err != nil {
			return nil, err
		}
		rows := tensor.NumElements(x.Shape[:ax])
		norm := tensor.NumElements(x.Shape[ax:])
		// Scale and B broadcast unidirectionally to the normalised shape.
		expand := func(t *tensor.Tensor, what string) ([]float32, error) {
			if t == nil {
				return nil, nil
			}
			if err := requireF32(t, what); err != nil {
				return nil, err
			}
			if t.Len() == norm {
				return t.F32, nil
			}
			bs, err := broadcastShape(x.Shape[ax:], t.Shape)
			if err != nil || !tensor.SameShape(bs, x.Shape[ax:]) {
				return nil, fmt.Errorf("%s of shape %v does not broadcast to %v", what, t.Shape, x.Shape[ax:])
			}
			full := make([]float32, norm)
			stridedCopy(full, t.F32, x.Shape[ax:], expandStrides(t.Shape, x.Shape[ax:]), 0)
			return full, nil
		}
		sc, err := expand(scale, "Scale")
		if err != nil {
			return nil, err
		}
		bi, err := expand(bias, "B")
		if err != nil {
			return nil, err
		}
		out := rc.newF32(x.Shape)
		statShape := append([]int(nil), x.Shape...)
		for i := ax; i < len(statShape); i++ {
			statShape[i] = 1
		}
		mean := tensor.NewFloat32(statShape, nil)
		istd := tensor.NewFloat32(statShape, nil)
		parallelFor(rc.threads, rows, max(1, 4096/max(norm, 1)), func(lo, hi int) {
			for r := lo; r < hi; r++ {
				src := x.F32[r*norm : r*norm+norm]
				dst := out.F32[r*norm : r*norm+norm]
				var s float64
				for _, v := range src {
					s += float64(v)
				}
				mu := s / float64(norm)
				var q float64
				for _, v := range src {
					d := float64(v) - mu
					q += d * d
				}
				inv := 1 / math.Sqrt(q/float64(norm)+float64(eps))
				mean.F32[r] = float32(mu)
				istd.F32[r] = float32(inv)
				for i, v := range src {
					y := (float64(v) - mu) * inv * float64(sc[i])
					if bi != nil {
						y += float64(bi[i])
					}
					dst[i] = float32(y)
				}
			}
		})
		return []*tensor.Tensor{out, mean, istd}, nil
	}, nil
}

// expandStrides gives the strides of a (right-aligned) broadcast of shape
// from to shape to.
func expandStrides(from, to []int) []int {
	st := make([]int, len(to))
	fs := stridesOf(from)
	for i := range to {
		j := i - (len(to) - len(from))
		if j >= 0 && from[j] != 1 {
			st[i] = fs[j]
		}
	}
	return st
}

// buildSoftmax builds Softmax and LogSoftmax.
func buildSoftmax(b *buildCtx) (kernelFunc, error) {
	logSoftmax := b.node.GetOpType() == "LogSoftmax"
	def := int64(1)
	if b.opset >= 13 {
		def = -1
	}
	axis, err := b.attrs.int("axis", def)
	if err != nil {
		return nil, err
	}
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		if err := requireF32(x, "input"); err != nil {
			return nil, err
		}
		r := len(x.Shape)
		if r == 0 {
			return nil, fmt.Errorf("input is a scalar")
		}
		ax, err := normAxis(axis, r)
		if err != nil {
			return nil, err
		}
		var outer, n, inner int
		if b.opset < 13 {
			// Flatten to [prod(:axis), prod(axis:)] and normalise rows.
			outer, n, inner = tensor.NumElements(x.Shape[:ax]), tensor.NumElements(x.Shape[ax:]), 1
		} else {
			outer, n, inner = tensor.NumElements(x.Shape[:ax]), x.Shape[ax], tensor.NumElements(x.Shape[ax+1:])
		}
		out := rc.newF32(x.Shape)
		parallelFor(rc.threads, outer*inner, max(1, 4096/max(n, 1)), func(lo, hi int) {
			for t := lo; t < hi; t++ {
				o, i := t/inner, t%inner
				base := o*n*inner + i
				m := float32(math.Inf(-1))
				for k := 0; k < n; k++ {
					m = max(m, x.F32[base+k*inner])
				}
				var s float64
				for k := 0; k < n; k++ {
					e := math.Exp(float64(x.F32[base+k*inner] - m))
					out.F32[base+k*inner] = float32(e)
					s += e
				}
				if logSoftmax {
					ls := math.Log(s)
					for k := 0; k < n; k++ {
						out.F32[base+k*inner] = float32(float64(x.F32[base+k*inner]-m) - ls)
					}
					continue
				}
				inv := 1 / s
				for k := 0; k < n; k++ {
					out.F32[base+k*inner] = float32(float64(out.F32[base+k*inner]) * inv)
				}
			}
		})
		return []*tensor.Tensor{out}, nil
	}, nil
}

// buildReduce builds ReduceMean, ReduceSum, ReduceMax and ReduceMin. axes
// is an input from opset 13 on for ReduceSum and 18 on for the others.
func buildReduce(op string) func(b *buildCtx) (kernelFunc, error) {
	return func(b *buildCtx) (kernelFunc, error) {
		inputFrom := int64(18)
		if op == "ReduceSum" {
			inputFrom = 13
		}
		keep, err := b.attrs.int("keepdims", 1)
		if err != nil {
			return nil, err
		}
		noop, err := b.attrs.int("noop_with_empty_axes", 0)
		if err != nil {
			return nil, err
		}
		attrAxes, fromInput, err := axesSource(b, inputFrom)
		if err != nil {
			return nil, err
		}
		return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			x := in[0]
			if err := requireF32(x, "data"); err != nil {
				return nil, err
			}
			axes := attrAxes
			if fromInput {
				if axes, err = int64s(in[1], "axes"); err != nil {
					return nil, err
				}
			}
			if len(axes) == 0 && noop != 0 {
				return []*tensor.Tensor{alias(x, x.Shape)}, nil
			}
			out, err := reduce(op, x, axes, keep != 0)
			if err != nil {
				return nil, err
			}
			return []*tensor.Tensor{out}, nil
		}, nil
	}
}

// reduce computes op over axes (all when empty), accumulating in float64.
func reduce(op string, x *tensor.Tensor, axes []int64, keep bool) (*tensor.Tensor, error) {
	r := len(x.Shape)
	if r == 0 {
		return x.Clone(), nil
	}
	red := make([]bool, r)
	if len(axes) == 0 {
		for i := range red {
			red[i] = true
		}
	}
	for _, a := range axes {
		ax, err := normAxis(a, r)
		if err != nil {
			return nil, err
		}
		red[ax] = true
	}
	var shape, kept []int
	for i, d := range x.Shape {
		if red[i] {
			if keep {
				shape = append(shape, 1)
			}
			kept = append(kept, 1)
		} else {
			shape = append(shape, d)
			kept = append(kept, d)
		}
	}
	if shape == nil {
		shape = []int{}
	}
	acc := make([]float64, tensor.NumElements(kept))
	combine := func(a, v float64) float64 { return a + v }
	switch op {
	case "ReduceMax":
		combine = func(a, v float64) float64 {
			if v != v || v > a {
				return v
			}
			return a
		}
		for i := range acc {
			acc[i] = math.Inf(-1)
		}
	case "ReduceMin":
		combine = func(a, v float64) float64 {
			if v != v || v < a {
				return v
			}
			return a
		}
		for i := range acc {
			acc[i] = math.Inf(1)
		}
	}
	// Strides into acc for every input axis (0 on reduced axes).
	ks := stridesOf(kept)
	for i := range ks {
		if red[i] {
			ks[i] = 0
		}
	}
	count := 1
	for i, d := range x.Shape {
		if red[i] {
			count *= d
		}
	}
	if len(x.F32) > 0 {
		inner := x.Shape[r-1]
		is := ks[r-1]
		pos := make([]int, r)
		off := 0
		for o := 0; o < len(x.F32); o += inner {
			row := x.F32[o : o+inner]
			if is == 0 {
				a := acc[off]
				for _, v := range row {
					a = combine(a, float64(v))
				}
				acc[off] = a
			} else {
				for i, v := range row {
					acc[off+i] = combine(acc[off+i], float64(v))
				}
			}
			for k := r - 2; k >= 0; k-- {
				pos[k]++
				off += ks[k]
				if pos[k] < x.Shape[k] {
					break
				}
				off -= ks[k] * x.Shape[k]
				pos[k] = 0
			}
		}
	}
	out := tensor.NewFloat32(shape, nil)
	for i, s := range acc {
		if op == "ReduceMean" {
			s /= float64(count) // 0/0 is NaN, as for an empty mean
		}
		out.F32[i] = float32(s)
	}
	return out, nil
}

// buildLRN is local response normalisation across channels:
// y = x / (bias + alpha/size * sum of x^2 over the size channels around c)^beta.
func buildLRN(b *buildCtx) (kernelFunc, error) {
	alpha, err := b.attrs.float("alpha", 1e-4)
	if err != nil {
		return nil, err
	}
	beta, err := b.attrs.float("beta", 0.75)
	if err != nil {
		return nil, err
	}
	bias, err := b.attrs.float("bias", 1)
	if err != nil {
		return nil, err
	}
	size, err := b.attrs.int("size", 0)
	if err != nil {
		return nil, err
	}
	if size < 1 || size > 1<<16 {
		return nil, fmt.Errorf("size %d must be between 1 and 65536", size)
	}
	// The window spans channels c-lo .. c+hi: floor and ceil of (size-1)/2.
	lo, hi := int((size-1)/2), int(size/2)
	a := float64(alpha) / float64(size)
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		if err := requireF32(x, "X"); err != nil {
			return nil, err
		}
		if len(x.Shape) < 3 {
			return nil, fmt.Errorf("X has shape %v, needs rank >= 3 (N x C x D1 ...)", x.Shape)
		}
		n, c := x.Shape[0], x.Shape[1]
		plane := tensor.NumElements(x.Shape[2:])
		out := rc.newF32(x.Shape)
		parallelFor(rc.threads, n*c, max(1, 4096/max(plane, 1)), func(p0, p1 int) {
			for p := p0; p < p1; p++ {
				img, ch := p/c, p%c
				dst := out.F32[p*plane : (p+1)*plane]
				src := x.F32[p*plane : (p+1)*plane]
				for i := range dst {
					var sq float64
					for k := max(0, ch-lo); k <= min(c-1, ch+hi); k++ {
						v := float64(x.F32[(img*c+k)*plane+i])
						sq += v * v
					}
					dst[i] = float32(float64(src[i]) / math.Pow(float64(bias)+a*sq, float64(beta)))
				}
			}
		})
		return []*tensor.Tensor{out}, nil
	}, nil
}

// buildInstanceNorm normalises every (image, channel) plane by its own mean
// and variance, then scales and shifts per channel.
func buildInstanceNorm(b *buildCtx) (kernelFunc, error) {
	eps, err := b.attrs.float("epsilon", 1e-5)
	if err != nil {
		return nil, err
	}
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, scale, bias := in[0], in[1], in[2]
		for i, t := range in[:3] {
			if err := requireF32(t, []string{"input", "scale", "B"}[i]); err != nil {
				return nil, err
			}
		}
		if len(x.Shape) < 3 {
			return nil, fmt.Errorf("input has shape %v, needs rank >= 3", x.Shape)
		}
		n, c := x.Shape[0], x.Shape[1]
		if scale.Len() != c || bias.Len() != c {
			return nil, fmt.Errorf("scale %v and B %v must hold %d values (channels)", scale.Shape, bias.Shape, c)
		}
		plane := tensor.NumElements(x.Shape[2:])
		out := rc.newF32(x.Shape)
		parallelFor(rc.threads, n*c, 1, func(p0, p1 int) {
			for p := p0; p < p1; p++ {
				ch := p % c
				src := x.F32[p*plane : (p+1)*plane]
				dst := out.F32[p*plane : (p+1)*plane]
				var sum, sq float64
				for _, v := range src {
					sum += float64(v)
				}
				mean := sum / float64(plane)
				for _, v := range src {
					d := float64(v) - mean
					sq += d * d
				}
				inv := 1 / math.Sqrt(sq/float64(plane)+float64(eps))
				m := float64(scale.F32[ch]) * inv
				for i, v := range src {
					dst[i] = float32((float64(v)-mean)*m + float64(bias.F32[ch]))
				}
			}
		})
		return []*tensor.Tensor{out}, nil
	}, nil
}
