package goexec

import (
	"fmt"

	"github.com/wtonnx/wtonnx/tensor"
)

// Comparisons and selection. Booleans are held as int64 0/1, like every
// integer type.

// buildCompare builds the comparisons (Equal, Less, Greater, LessOrEqual,
// GreaterOrEqual) and the logical And, Or, Xor, with numpy broadcasting.
func buildCompare(op string) kernelFunc {
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, y := in[0], in[1]
		if x.DType != y.DType {
			return nil, fmt.Errorf("operand types differ: %v and %v", x.DType, y.DType)
		}
		shape, err := broadcastShape(x.Shape, y.Shape)
		if err != nil {
			return nil, err
		}
		out := tensor.NewInt64(shape, nil)
		a, b := broadcastTo(x, shape), broadcastTo(y, shape)
		switch op {
		case "And", "Or", "Xor":
			if x.DType != tensor.Int64 {
				return nil, fmt.Errorf("%s takes boolean tensors, got %v", op, x.DType)
			}
			for i := range out.I64 {
				p, q := a.I64[i] != 0, b.I64[i] != 0
				if (op == "And" && p && q) || (op == "Or" && (p || q)) || (op == "Xor" && p != q) {
					out.I64[i] = 1
				}
			}
			return []*tensor.Tensor{out}, nil
		}
		for i := range out.I64 {
			var c int
			if x.DType == tensor.Int64 {
				c = cmpInt(a.I64[i], b.I64[i])
			} else {
				u, v := a.F32[i], b.F32[i]
				switch {
				case u != u || v != v:
					c = 2 // unordered: every comparison is false
				case u < v:
					c = -1
				case u > v:
					c = 1
				}
			}
			var r bool
			switch op {
			case "Equal":
				r = c == 0
			case "Less":
				r = c == -1
			case "Greater":
				r = c == 1
			case "LessOrEqual":
				r = c == -1 || c == 0
			case "GreaterOrEqual":
				r = c == 1 || c == 0
			}
			if r {
				out.I64[i] = 1
			}
		}
		return []*tensor.Tensor{out}, nil
	}
}

// broadcastTo materialises t broadcast to shape (which must be reachable).
func broadcastTo(t *tensor.Tensor, shape []int) *tensor.Tensor {
	if tensor.SameShape(t.Shape, shape) {
		return t
	}
	st := expandStrides(t.Shape, shape)
	if t.DType == tensor.Int64 {
		out := tensor.NewInt64(shape, nil)
		stridedCopy(out.I64, t.I64, shape, st, 0)
		return out
	}
	out := tensor.NewFloat32(shape, nil)
	stridedCopy(out.F32, t.F32, shape, st, 0)
	return out
}

// buildWhere selects from X where the condition is true, else from Y.
func buildWhere(b *buildCtx) (kernelFunc, error) {
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		cond, x, y := in[0], in[1], in[2]
		if cond.DType != tensor.Int64 {
			return nil, fmt.Errorf("condition must be boolean, got %v", cond.DType)
		}
		if x.DType != y.DType {
			return nil, fmt.Errorf("X and Y types differ: %v and %v", x.DType, y.DType)
		}
		shape, err := broadcastShape(cond.Shape, x.Shape)
		if err != nil {
			return nil, err
		}
		if shape, err = broadcastShape(shape, y.Shape); err != nil {
			return nil, err
		}
		c, a, bb := broadcastTo(cond, shape), broadcastTo(x, shape), broadcastTo(y, shape)
		if x.DType == tensor.Int64 {
			out := tensor.NewInt64(shape, nil)
			for i := range out.I64 {
				out.I64[i] = bb.I64[i]
				if c.I64[i] != 0 {
					out.I64[i] = a.I64[i]
				}
			}
			return []*tensor.Tensor{out}, nil
		}
		out := tensor.NewFloat32(shape, nil)
		for i := range out.F32 {
			out.F32[i] = bb.F32[i]
			if c.I64[i] != 0 {
				out.F32[i] = a.F32[i]
			}
		}
		return []*tensor.Tensor{out}, nil
	}, nil
}

// buildTile repeats the input repeats[i] times along every axis i.
func buildTile(b *buildCtx) (kernelFunc, error) {
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		reps, err := int64s(in[1], "repeats")
		if err != nil {
			return nil, err
		}
		if len(reps) != len(x.Shape) {
			return nil, fmt.Errorf("repeats has %d values, the input has rank %d", len(reps), len(x.Shape))
		}
		// View the output as [r0, d0, r1, d1, ...] and read x with stride 0
		// on the repeat axes.
		dims := make([]int64, len(x.Shape))
		var view, st []int
		xs := stridesOf(x.Shape)
		for i, r := range reps {
			if r < 0 {
				return nil, fmt.Errorf("repeats %v has a negative value", reps)
			}
			dims[i] = r * int64(x.Shape[i])
			view = append(view, int(r), x.Shape[i])
			st = append(st, 0, xs[i])
		}
		shape, err := checkedShape(dims)
		if err != nil {
			return nil, err
		}
		t := gatherStrided(rc, x, view, st, 0)
		return []*tensor.Tensor{alias(t, shape)}, nil
	}, nil
}

// buildImageScaler scales every element and adds a bias per channel.
func buildImageScaler(b *buildCtx) (kernelFunc, error) {
	scale, err := b.attrs.float("scale", 1)
	if err != nil {
		return nil, err
	}
	bias, err := b.attrs.floats("bias", nil)
	if err != nil {
		return nil, err
	}
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		if err := requireF32(x, "input"); err != nil {
			return nil, err
		}
		if len(x.Shape) != 4 || (bias != nil && len(bias) != x.Shape[1]) {
			return nil, fmt.Errorf("input %v and bias of %d values do not match (N x C x H x W, C values)", x.Shape, len(bias))
		}
		out := rc.newF32(x.Shape)
		plane := x.Shape[2] * x.Shape[3]
		for p := 0; p < x.Shape[0]*x.Shape[1]; p++ {
			var add float32
			if bias != nil {
				add = bias[p%x.Shape[1]]
			}
			for i, v := range x.F32[p*plane : (p+1)*plane] {
				out.F32[p*plane+i] = v*scale + add
			}
		}
		return []*tensor.Tensor{out}, nil
	}, nil
}

// buildSize gives the number of elements as an int64 scalar.
func buildSize(b *buildCtx) (kernelFunc, error) {
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		return []*tensor.Tensor{tensor.NewInt64([]int{}, []int64{int64(in[0].Len())})}, nil
	}, nil
}
