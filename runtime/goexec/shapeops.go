package goexec

import (
	"fmt"
	"math"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
)

func normAxis(axis int64, rank int) (int, error) {
	a := axis
	if a < 0 {
		a += int64(rank)
	}
	if a < 0 || a >= int64(rank) {
		return 0, fmt.Errorf("axis %d is out of range for rank %d", axis, rank)
	}
	return int(a), nil
}

func stridesOf(shape []int) []int {
	st := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = acc
		acc *= shape[i]
	}
	return st
}

// int64s reads an integer tensor's values (shape-like inputs).
func int64s(t *tensor.Tensor, what string) ([]int64, error) {
	if t.DType != tensor.Int64 {
		return nil, fmt.Errorf("%s must be an integer tensor, got %v", what, t.DType)
	}
	return t.I64, nil
}

// stridedCopy fills dst (contiguous, of the given shape) with
// src[base + sum_k idx_k*st_k].
func stridedCopy[T any](dst, src []T, shape, st []int, base int) {
	r := len(shape)
	if len(dst) == 0 {
		return
	}
	if r == 0 {
		dst[0] = src[base]
		return
	}
	inner := shape[r-1]
	is := st[r-1]
	idx := make([]int, r)
	off := base
	for o := 0; o < len(dst); o += inner {
		row := dst[o : o+inner]
		if is == 1 {
			copy(row, src[off:off+inner])
		} else {
			p := off
			for i := range row {
				row[i] = src[p]
				p += is
			}
		}
		for k := r - 2; k >= 0; k-- {
			idx[k]++
			off += st[k]
			if idx[k] < shape[k] {
				break
			}
			off -= st[k] * shape[k]
			idx[k] = 0
		}
	}
}

// gatherStrided builds a new tensor of shape from t with the given strides.
func gatherStrided(rc *runCtx, t *tensor.Tensor, shape, st []int, base int) *tensor.Tensor {
	if t.DType == tensor.Int64 {
		out := tensor.NewInt64(shape, nil)
		stridedCopy(out.I64, t.I64, shape, st, base)
		return out
	}
	out := rc.newF32(shape)
	stridedCopy(out.F32, t.F32, shape, st, base)
	return out
}

func castTensor(t *tensor.Tensor, to tensor.DType) *tensor.Tensor {
	if t.DType == to {
		return t.Clone()
	}
	if to == tensor.Float32 {
		out := tensor.NewFloat32(t.Shape, nil)
		for i, v := range t.I64 {
			out.F32[i] = float32(v)
		}
		return out
	}
	out := tensor.NewInt64(t.Shape, nil)
	for i, v := range t.F32 {
		out.I64[i] = f32ToI64(v)
	}
	return out
}

// f32ToI64 truncates toward zero; NaN gives 0 and out-of-range values
// saturate (the result is undefined in ONNX; this is deterministic).
func f32ToI64(v float32) int64 {
	switch {
	case v != v:
		return 0
	case v >= 9.2233720368547758e18:
		return math.MaxInt64
	case v <= -9.2233720368547758e18:
		return math.MinInt64
	}
	return int64(v)
}

func buildConstant(b *buildCtx) (kernelFunc, error) {
	if len(b.attrs) != 1 {
		return nil, fmt.Errorf("needs exactly one value attribute, has %d", len(b.attrs))
	}
	var t *tensor.Tensor
	switch {
	case b.attrs.has("value"):
		p, err := b.attrs.check("value", onnxpb.AttributeProto_TENSOR)
		if err != nil {
			return nil, err
		}
		if t, err = onnxmodel.ToTensor(p.GetT()); err != nil {
			return nil, fmt.Errorf("value: %w", err)
		}
	case b.attrs.has("value_float"):
		f, err := b.attrs.float("value_float", 0)
		if err != nil {
			return nil, err
		}
		t = tensor.NewFloat32([]int{}, []float32{f})
	case b.attrs.has("value_floats"):
		f, err := b.attrs.floats("value_floats", nil)
		if err != nil {
			return nil, err
		}
		t = tensor.NewFloat32([]int{len(f)}, f)
	case b.attrs.has("value_int"):
		v, err := b.attrs.int("value_int", 0)
		if err != nil {
			return nil, err
		}
		t = tensor.NewInt64([]int{}, []int64{v})
	case b.attrs.has("value_ints"):
		v, err := b.attrs.ints("value_ints", nil)
		if err != nil {
			return nil, err
		}
		t = tensor.NewInt64([]int{len(v)}, v)
	}
	if t == nil {
		return nil, fmt.Errorf("has no value attribute")
	}
	b.constOut = t
	return nil, nil
}

func buildConstantOfShape(b *buildCtx) (kernelFunc, error) {
	fill := tensor.NewFloat32([]int{1}, []float32{0})
	if b.attrs.has("value") {
		p, err := b.attrs.check("value", onnxpb.AttributeProto_TENSOR)
		if err != nil {
			return nil, err
		}
		if fill, err = onnxmodel.ToTensor(p.GetT()); err != nil {
			return nil, fmt.Errorf("value: %w", err)
		}
		if fill.Len() != 1 {
			return nil, fmt.Errorf("value must hold one element, has %d", fill.Len())
		}
	}
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		dims, err := int64s(in[0], "shape")
		if err != nil {
			return nil, err
		}
		shape, err := checkedShape(dims)
		if err != nil {
			return nil, err
		}
		if fill.DType == tensor.Int64 {
			out := tensor.NewInt64(shape, nil)
			for i := range out.I64 {
				out.I64[i] = fill.I64[0]
			}
			return []*tensor.Tensor{out}, nil
		}
		out := tensor.NewFloat32(shape, nil)
		for i := range out.F32 {
			out.F32[i] = fill.F32[0]
		}
		return []*tensor.Tensor{out}, nil
	}, nil
}

// maxRunElements bounds tensors created from data-dependent shapes.
const maxRunElements = 1 << 32

func checkedShape(dims []int64) ([]int, error) {
	shape := make([]int, len(dims))
	n := int64(1)
	for i, d := range dims {
		if d < 0 {
			return nil, fmt.Errorf("shape %v has a negative dimension", dims)
		}
		shape[i] = int(d)
		if d > 0 {
			if n > maxRunElements/d {
				return nil, fmt.Errorf("shape %v is too large", dims)
			}
			n *= d
		}
	}
	return shape, nil
}

func buildShape(b *buildCtx) (kernelFunc, error) {
	start, err := b.attrs.int("start", 0)
	if err != nil {
		return nil, err
	}
	end, err := b.attrs.int("end", math.MaxInt64)
	if err != nil {
		return nil, err
	}
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		r := int64(len(in[0].Shape))
		s, e := start, end
		if s < 0 {
			s += r
		}
		if e < 0 {
			e += r
		}
		s = min(max(s, 0), r)
		e = min(max(e, 0), r)
		var dims []int64
		for i := s; i < e; i++ {
			dims = append(dims, int64(in[0].Shape[i]))
		}
		return []*tensor.Tensor{tensor.NewInt64([]int{len(dims)}, dims)}, nil
	}, nil
}

func buildReshape(b *buildCtx) (kernelFunc, error) {
	allowZero, err := b.attrs.int("allowzero", 0)
	if err != nil {
		return nil, err
	}
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		dims, err := int64s(in[1], "shape")
		if err != nil {
			return nil, err
		}
		shape, err := reshapeDims(in[0].Shape, dims, allowZero != 0)
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{alias(in[0], shape)}, nil
	}, nil
}

func reshapeDims(from []int, dims []int64, allowZero bool) ([]int, error) {
	total := tensor.NumElements(from)
	shape := make([]int, len(dims))
	infer := -1
	known := 1
	for i, d := range dims {
		switch {
		case d == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("shape %v has more than one -1", dims)
			}
			infer = i
			continue
		case d == 0 && !allowZero:
			if i >= len(from) {
				return nil, fmt.Errorf("shape %v copies dimension %d (0) but the input %v has rank %d", dims, i, from, len(from))
			}
			shape[i] = from[i]
		case d < 0:
			return nil, fmt.Errorf("shape %v has an invalid dimension %d", dims, d)
		default:
			if d > maxRunElements {
				return nil, fmt.Errorf("shape %v is too large", dims)
			}
			shape[i] = int(d)
		}
		known *= shape[i]
	}
	if infer >= 0 {
		if known == 0 || total%known != 0 {
			return nil, fmt.Errorf("cannot reshape %v (%d elements) to %v", from, total, dims)
		}
		shape[infer] = total / known
		known *= shape[infer]
	}
	if known != total {
		return nil, fmt.Errorf("cannot reshape %v (%d elements) to %v (%d elements)", from, total, dims, known)
	}
	return shape, nil
}

func buildFlatten(b *buildCtx) (kernelFunc, error) {
	axis, err := b.attrs.int("axis", 1)
	if err != nil {
		return nil, err
	}
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		r := len(x.Shape)
		a := axis
		if a < 0 {
			a += int64(r)
		}
		if a < 0 || a > int64(r) {
			return nil, fmt.Errorf("axis %d is out of range for rank %d", axis, r)
		}
		outer := tensor.NumElements(x.Shape[:a])
		inner := tensor.NumElements(x.Shape[a:])
		return []*tensor.Tensor{alias(x, []int{outer, inner})}, nil
	}, nil
}

// axesSource gives the axes of Squeeze/Unsqueeze/ReduceMean: an attribute
// before the opset where they became an input.
func axesSource(b *buildCtx, inputFrom int64) (attr []int64, fromInput bool, err error) {
	if b.opset < inputFrom {
		if b.numIn() > 1 {
			return nil, false, fmt.Errorf("axes is an attribute before opset %d, not an input", inputFrom)
		}
		attr, err = b.attrs.ints("axes", nil)
		return attr, false, err
	}
	if b.attrs.has("axes") {
		return nil, false, fmt.Errorf("axes is an input from opset %d on, not an attribute", inputFrom)
	}
	return nil, b.hasIn(1), nil
}

func buildSqueeze(b *buildCtx) (kernelFunc, error) {
	attrAxes, fromInput, err := axesSource(b, 13)
	if err != nil {
		return nil, err
	}
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		axes := attrAxes
		if fromInput {
			if axes, err = int64s(in[1], "axes"); err != nil {
				return nil, err
			}
		}
		drop := make([]bool, len(x.Shape))
		if len(axes) == 0 {
			for i, d := range x.Shape {
				drop[i] = d == 1
			}
		}
		for _, a := range axes {
			ax, err := normAxis(a, len(x.Shape))
			if err != nil {
				return nil, err
			}
			if x.Shape[ax] != 1 {
				return nil, fmt.Errorf("cannot squeeze axis %d of shape %v (size %d)", a, x.Shape, x.Shape[ax])
			}
			drop[ax] = true
		}
		shape := []int{}
		for i, d := range x.Shape {
			if !drop[i] {
				shape = append(shape, d)
			}
		}
		return []*tensor.Tensor{alias(x, shape)}, nil
	}, nil
}

func buildUnsqueeze(b *buildCtx) (kernelFunc, error) {
	attrAxes, fromInput, err := axesSource(b, 13)
	if err != nil {
		return nil, err
	}
	if b.opset >= 13 && !fromInput {
		return nil, fmt.Errorf("axes input is required")
	}
	if b.opset < 13 && attrAxes == nil {
		return nil, fmt.Errorf("axes attribute is required")
	}
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		axes := attrAxes
		if fromInput {
			if axes, err = int64s(in[1], "axes"); err != nil {
				return nil, err
			}
		}
		r := len(x.Shape) + len(axes)
		ins := make([]bool, r)
		for _, a := range axes {
			ax, err := normAxis(a, r)
			if err != nil {
				return nil, err
			}
			if ins[ax] {
				return nil, fmt.Errorf("axis %d is repeated", a)
			}
			ins[ax] = true
		}
		shape := make([]int, r)
		j := 0
		for i := range shape {
			if ins[i] {
				shape[i] = 1
			} else {
				shape[i] = x.Shape[j]
				j++
			}
		}
		return []*tensor.Tensor{alias(x, shape)}, nil
	}, nil
}

func buildTranspose(b *buildCtx) (kernelFunc, error) {
	perm, err := b.attrs.ints("perm", nil)
	if err != nil {
		return nil, err
	}
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		r := len(x.Shape)
		p := make([]int, r)
		if perm == nil {
			for i := range p {
				p[i] = r - 1 - i
			}
		} else {
			if len(perm) != r {
				return nil, fmt.Errorf("perm %v does not match rank %d", perm, r)
			}
			seen := make([]bool, r)
			for i, v := range perm {
				if v < 0 || v >= int64(r) || seen[v] {
					return nil, fmt.Errorf("perm %v is not a permutation of 0..%d", perm, r-1)
				}
				seen[v] = true
				p[i] = int(v)
			}
		}
		return []*tensor.Tensor{transpose(rc, x, p)}, nil
	}, nil
}

func transpose(rc *runCtx, x *tensor.Tensor, p []int) *tensor.Tensor {
	st := stridesOf(x.Shape)
	shape := make([]int, len(p))
	ost := make([]int, len(p))
	for i, v := range p {
		shape[i] = x.Shape[v]
		ost[i] = st[v]
	}
	return gatherStrided(rc, x, shape, ost, 0)
}

func buildConcat(b *buildCtx) (kernelFunc, error) {
	if !b.attrs.has("axis") {
		return nil, fmt.Errorf("axis attribute is required")
	}
	axis, err := b.attrs.int("axis", 0)
	if err != nil {
		return nil, err
	}
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		first := in[0]
		ax, err := normAxis(axis, len(first.Shape))
		if err != nil {
			return nil, err
		}
		shape := append([]int(nil), first.Shape...)
		shape[ax] = 0
		for i, t := range in {
			if t == nil {
				return nil, fmt.Errorf("input %d is empty", i)
			}
			if t.DType != first.DType || len(t.Shape) != len(first.Shape) {
				return nil, fmt.Errorf("input %d (%v %v) does not match input 0 (%v %v)", i, t.DType, t.Shape, first.DType, first.Shape)
			}
			for d := range t.Shape {
				if d != ax && t.Shape[d] != first.Shape[d] {
					return nil, fmt.Errorf("input %d has shape %v, input 0 has %v: only axis %d may differ", i, t.Shape, first.Shape, ax)
				}
			}
			shape[ax] += t.Shape[ax]
		}
		outer := tensor.NumElements(shape[:ax])
		var out *tensor.Tensor
		if first.DType == tensor.Int64 {
			out = tensor.NewInt64(shape, nil)
		} else {
			out = tensor.NewFloat32(shape, nil)
		}
		rowOut := tensor.NumElements(shape[ax:])
		off := 0
		for _, t := range in {
			blk := tensor.NumElements(t.Shape[ax:])
			for o := 0; o < outer; o++ {
				if out.DType == tensor.Int64 {
					copy(out.I64[o*rowOut+off:o*rowOut+off+blk], t.I64[o*blk:o*blk+blk])
				} else {
					copy(out.F32[o*rowOut+off:o*rowOut+off+blk], t.F32[o*blk:o*blk+blk])
				}
			}
			off += blk
		}
		return []*tensor.Tensor{out}, nil
	}, nil
}

func buildSlice(b *buildCtx) (kernelFunc, error) {
	var aStarts, aEnds, aAxes []int64
	if b.opset < 10 {
		if b.numIn() > 1 {
			return nil, fmt.Errorf("starts/ends are attributes before opset 10, not inputs")
		}
		var err error
		if aStarts, err = b.attrs.ints("starts", nil); err != nil {
			return nil, err
		}
		if aEnds, err = b.attrs.ints("ends", nil); err != nil {
			return nil, err
		}
		if aAxes, err = b.attrs.ints("axes", nil); err != nil {
			return nil, err
		}
		if aStarts == nil || aEnds == nil {
			return nil, fmt.Errorf("starts and ends attributes are required")
		}
	} else {
		if len(b.attrs) > 0 {
			return nil, fmt.Errorf("starts/ends/axes are inputs from opset 10 on, not attributes")
		}
		if b.numIn() < 3 {
			return nil, fmt.Errorf("needs inputs data, starts and ends")
		}
	}
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		starts, ends, axes := aStarts, aEnds, aAxes
		var steps []int64
		var err error
		if b.opset >= 10 {
			if starts, err = int64s(in[1], "starts"); err != nil {
				return nil, err
			}
			if ends, err = int64s(in[2], "ends"); err != nil {
				return nil, err
			}
			if len(in) > 3 && in[3] != nil {
				if axes, err = int64s(in[3], "axes"); err != nil {
					return nil, err
				}
			}
			if len(in) > 4 && in[4] != nil {
				if steps, err = int64s(in[4], "steps"); err != nil {
					return nil, err
				}
			}
		}
		return sliceTensor(rc, x, starts, ends, axes, steps)
	}, nil
}

func sliceTensor(rc *runCtx, x *tensor.Tensor, starts, ends, axes, steps []int64) ([]*tensor.Tensor, error) {
	r := len(x.Shape)
	if len(starts) != len(ends) {
		return nil, fmt.Errorf("starts %v and ends %v differ in length", starts, ends)
	}
	if axes != nil && len(axes) != len(starts) {
		return nil, fmt.Errorf("axes %v and starts %v differ in length", axes, starts)
	}
	if steps != nil && len(steps) != len(starts) {
		return nil, fmt.Errorf("steps %v and starts %v differ in length", steps, starts)
	}
	st := stridesOf(x.Shape)
	shape := append([]int(nil), x.Shape...)
	ost := append([]int(nil), st...)
	base := 0
	seen := make([]bool, r)
	for i := range starts {
		ax := i
		if axes != nil {
			a, err := normAxis(axes[i], r)
			if err != nil {
				return nil, err
			}
			ax = a
		}
		if ax >= r {
			return nil, fmt.Errorf("slice has more entries (%d) than the input has dimensions (%d)", len(starts), r)
		}
		if seen[ax] {
			return nil, fmt.Errorf("axis %d is sliced twice", ax)
		}
		seen[ax] = true
		step := int64(1)
		if steps != nil {
			step = steps[i]
		}
		if step == 0 {
			return nil, fmt.Errorf("step 0 on axis %d", ax)
		}
		d := int64(x.Shape[ax])
		s, e := starts[i], ends[i]
		if s < 0 {
			s += d
		}
		if e < 0 {
			e += d
		}
		var n int64
		if step > 0 {
			s = min(max(s, 0), d)
			e = min(max(e, 0), d)
			if e > s {
				n = (e - s + step - 1) / step
			}
		} else {
			s = min(max(s, 0), d-1)
			e = min(max(e, -1), d-1)
			if s > e {
				n = (s - e + (-step) - 1) / (-step)
			}
		}
		shape[ax] = int(n)
		if n > 0 {
			base += int(s) * st[ax]
		}
		ost[ax] = int(step) * st[ax]
	}
	return []*tensor.Tensor{gatherStrided(rc, x, shape, ost, base)}, nil
}

func buildGather(b *buildCtx) (kernelFunc, error) {
	axis, err := b.attrs.int("axis", 0)
	if err != nil {
		return nil, err
	}
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, ind := in[0], in[1]
		ax, err := normAxis(axis, len(x.Shape))
		if err != nil {
			return nil, err
		}
		idx, err := int64s(ind, "indices")
		if err != nil {
			return nil, err
		}
		d := x.Shape[ax]
		shape := append(append(append([]int{}, x.Shape[:ax]...), ind.Shape...), x.Shape[ax+1:]...)
		outer := tensor.NumElements(x.Shape[:ax])
		inner := tensor.NumElements(x.Shape[ax+1:])
		fixed := make([]int, len(idx))
		for i, v := range idx {
			if v < 0 {
				v += int64(d)
			}
			if v < 0 || v >= int64(d) {
				return nil, fmt.Errorf("index %d is out of range for axis %d of size %d", idx[i], ax, d)
			}
			fixed[i] = int(v)
		}
		var out *tensor.Tensor
		if x.DType == tensor.Int64 {
			out = tensor.NewInt64(shape, nil)
		} else {
			out = tensor.NewFloat32(shape, nil)
		}
		k := len(fixed)
		for o := 0; o < outer; o++ {
			for j, v := range fixed {
				src := (o*d + v) * inner
				dst := (o*k + j) * inner
				if x.DType == tensor.Int64 {
					copy(out.I64[dst:dst+inner], x.I64[src:src+inner])
				} else {
					copy(out.F32[dst:dst+inner], x.F32[src:src+inner])
				}
			}
		}
		return []*tensor.Tensor{out}, nil
	}, nil
}

func buildExpand(b *buildCtx) (kernelFunc, error) {
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		dims, err := int64s(in[1], "shape")
		if err != nil {
			return nil, err
		}
		want, err := checkedShape(dims)
		if err != nil {
			return nil, err
		}
		shape, err := broadcastShape(x.Shape, want)
		if err != nil {
			return nil, err
		}
		r := len(shape)
		st := make([]int, r)
		xs := stridesOf(x.Shape)
		for i := 0; i < r; i++ {
			j := i - (r - len(x.Shape))
			if j >= 0 && x.Shape[j] != 1 {
				st[i] = xs[j]
			}
		}
		return []*tensor.Tensor{gatherStrided(rc, x, shape, st, 0)}, nil
	}, nil
}

func buildCast(b *buildCtx) (kernelFunc, error) {
	to, err := b.attrs.int("to", -1)
	if err != nil {
		return nil, err
	}
	var dt tensor.DType
	isBool := false
	switch onnxpb.TensorProto_DataType(to) {
	case onnxpb.TensorProto_FLOAT, onnxpb.TensorProto_DOUBLE:
		dt = tensor.Float32
	case onnxpb.TensorProto_INT64, onnxpb.TensorProto_INT32:
		dt = tensor.Int64
	case onnxpb.TensorProto_BOOL:
		dt, isBool = tensor.Int64, true
	default:
		return nil, fmt.Errorf("cast to %v is not supported (float, double, int64, int32, bool are)", onnxpb.TensorProto_DataType(to))
	}
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		out := castTensor(in[0], dt)
		if isBool {
			if in[0].DType == tensor.Float32 {
				for i, v := range in[0].F32 {
					out.I64[i] = 0
					if v != 0 {
						out.I64[i] = 1
					}
				}
			} else {
				for i, v := range out.I64 {
					if v != 0 {
						out.I64[i] = 1
					}
				}
			}
		}
		return []*tensor.Tensor{out}, nil
	}, nil
}

func buildPad(b *buildCtx) (kernelFunc, error) {
	mode, err := b.attrs.str("mode", "constant")
	if err != nil {
		return nil, err
	}
	switch mode {
	case "constant", "reflect", "edge":
	default:
		return nil, fmt.Errorf("mode %q is not supported (constant, reflect, edge)", mode)
	}
	var aPads []int64
	var aValue float32
	if b.opset < 11 {
		if aPads, err = b.attrs.ints("pads", nil); err != nil {
			return nil, err
		}
		if aPads == nil {
			return nil, fmt.Errorf("pads attribute is required")
		}
		if aValue, err = b.attrs.float("value", 0); err != nil {
			return nil, err
		}
		if b.numIn() > 1 {
			return nil, fmt.Errorf("pads is an attribute before opset 11, not an input")
		}
	} else {
		if b.attrs.has("pads") || b.attrs.has("value") {
			return nil, fmt.Errorf("pads/value are inputs from opset 11 on, not attributes")
		}
		if b.numIn() < 2 {
			return nil, fmt.Errorf("pads input is required")
		}
		if b.opset < 18 && b.numIn() > 3 {
			return nil, fmt.Errorf("axes input exists from opset 18 on")
		}
	}
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		r := len(x.Shape)
		pads := aPads
		var cval float64 = float64(aValue)
		if b.opset >= 11 {
			p, err := int64s(in[1], "pads")
			if err != nil {
				return nil, err
			}
			if len(in) > 2 && in[2] != nil {
				c := in[2]
				if c.Len() != 1 || c.DType != x.DType {
					return nil, fmt.Errorf("constant_value must be one element of the input's type")
				}
				cval = c.Float64s()[0]
			}
			if len(in) > 3 && in[3] != nil {
				axes, err := int64s(in[3], "axes")
				if err != nil {
					return nil, err
				}
				if len(p) != 2*len(axes) {
					return nil, fmt.Errorf("pads %v must hold two values per axis %v", p, axes)
				}
				full := make([]int64, 2*r)
				for i, a := range axes {
					ax, err := normAxis(a, r)
					if err != nil {
						return nil, err
					}
					full[ax] = p[i]
					full[r+ax] = p[len(axes)+i]
				}
				p = full
			}
			pads = p
		}
		if len(pads) != 2*r {
			return nil, fmt.Errorf("pads %v must hold %d values for an input of rank %d", pads, 2*r, r)
		}
		return padTensor(x, pads, mode, cval)
	}, nil
}

func padTensor(x *tensor.Tensor, pads []int64, mode string, cval float64) ([]*tensor.Tensor, error) {
	r := len(x.Shape)
	shape := make([]int, r)
	begin := make([]int, r)
	for i := 0; i < r; i++ {
		n := int64(x.Shape[i]) + pads[i] + pads[r+i]
		if n < 0 {
			return nil, fmt.Errorf("pads %v crop more than dimension %d holds (%d)", pads, i, x.Shape[i])
		}
		if n > maxRunElements {
			return nil, fmt.Errorf("pads %v are too large", pads)
		}
		shape[i] = int(n)
		begin[i] = int(pads[i])
		if mode != "constant" && x.Shape[i] == 0 && n > 0 {
			return nil, fmt.Errorf("%s padding of an empty dimension %d", mode, i)
		}
	}
	// For each axis, the source index of every output position (-1: fill).
	src := make([][]int, r)
	for i := 0; i < r; i++ {
		m := make([]int, shape[i])
		d := x.Shape[i]
		for o := range m {
			j := o - begin[i]
			if j < 0 || j >= d {
				switch mode {
				case "constant":
					j = -1
				case "edge":
					j = min(max(j, 0), d-1)
				case "reflect":
					if d == 1 {
						j = 0
					}
					for j < 0 || j >= d {
						if j < 0 {
							j = -j
						}
						if j >= d {
							j = 2*(d-1) - j
						}
					}
				}
			}
			m[o] = j
		}
		src[i] = m
	}
	st := stridesOf(x.Shape)
	if x.DType == tensor.Int64 {
		out := tensor.NewInt64(shape, nil)
		padCopy(out.I64, x.I64, shape, st, src, int64(cval))
		return []*tensor.Tensor{out}, nil
	}
	out := tensor.NewFloat32(shape, nil)
	padCopy(out.F32, x.F32, shape, st, src, float32(cval))
	return []*tensor.Tensor{out}, nil
}

func padCopy[T float32 | int64](dst, src []T, shape, st []int, idx [][]int, fill T) {
	if len(dst) == 0 {
		return
	}
	r := len(shape)
	if r == 0 {
		dst[0] = src[0]
		return
	}
	inner := shape[r-1]
	lastMap := idx[r-1]
	pos := make([]int, r)
	for o := 0; o < len(dst); o += inner {
		base, valid := 0, true
		for k := 0; k < r-1; k++ {
			j := idx[k][pos[k]]
			if j < 0 {
				valid = false
				break
			}
			base += j * st[k]
		}
		row := dst[o : o+inner]
		if !valid {
			for i := range row {
				row[i] = fill
			}
		} else {
			for i, j := range lastMap {
				if j < 0 {
					row[i] = fill
				} else {
					row[i] = src[base+j]
				}
			}
		}
		for k := r - 2; k >= 0; k-- {
			pos[k]++
			if pos[k] < shape[k] {
				break
			}
			pos[k] = 0
		}
	}
}

func buildSplit(b *buildCtx) (kernelFunc, error) {
	axis, err := b.attrs.int("axis", 0)
	if err != nil {
		return nil, err
	}
	var attrSplit []int64
	if b.opset < 13 {
		if b.numIn() > 1 {
			return nil, fmt.Errorf("split is an attribute before opset 13, not an input")
		}
		if attrSplit, err = b.attrs.ints("split", nil); err != nil {
			return nil, err
		}
	} else if b.attrs.has("split") {
		return nil, fmt.Errorf("split is an input from opset 13 on, not an attribute")
	}
	numOut, err := b.attrs.int("num_outputs", 0)
	if err != nil {
		return nil, err
	}
	outs := len(b.node.GetOutput())
	if numOut != 0 && numOut != int64(outs) {
		return nil, fmt.Errorf("num_outputs=%d but the node has %d outputs", numOut, outs)
	}
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		ax, err := normAxis(axis, len(x.Shape))
		if err != nil {
			return nil, err
		}
		d := x.Shape[ax]
		split := attrSplit
		if len(in) > 1 && in[1] != nil {
			if split, err = int64s(in[1], "split"); err != nil {
				return nil, err
			}
		}
		if split == nil {
			// Equal parts; from opset 18 the last may be smaller.
			part := (d + outs - 1) / outs
			if b.opset < 18 && d%outs != 0 {
				return nil, fmt.Errorf("axis %d of size %d does not split into %d equal parts", ax, d, outs)
			}
			for i := 0; i < outs; i++ {
				split = append(split, int64(min(part, max(0, d-i*part))))
			}
		}
		if len(split) != outs {
			return nil, fmt.Errorf("split %v has %d parts for %d outputs", split, len(split), outs)
		}
		var sum int64
		for _, v := range split {
			if v < 0 {
				return nil, fmt.Errorf("split %v has a negative part", split)
			}
			sum += v
		}
		if sum != int64(d) {
			return nil, fmt.Errorf("split %v sums to %d, axis %d has size %d", split, sum, ax, d)
		}
		res := make([]*tensor.Tensor, outs)
		var off int64
		for i, v := range split {
			r, err := sliceTensor(rc, x, []int64{off}, []int64{off + v}, []int64{int64(ax)}, nil)
			if err != nil {
				return nil, err
			}
			res[i] = r[0]
			off += v
		}
		return res, nil
	}, nil
}

// buildDepthToSpace builds DepthToSpace (DCR or CRD) and SpaceToDepth as a
// reshape, a transpose and a reshape.
func buildDepthToSpace(b *buildCtx) (kernelFunc, error) {
	bs, err := b.attrs.int("blocksize", 0)
	if err != nil {
		return nil, err
	}
	if bs < 1 || bs > 1<<16 {
		return nil, fmt.Errorf("blocksize %d must be positive", bs)
	}
	mode, err := b.attrs.str("mode", "DCR")
	if err != nil {
		return nil, err
	}
	if mode != "DCR" && mode != "CRD" {
		return nil, fmt.Errorf("mode %q is not supported (DCR, CRD)", mode)
	}
	toSpace := b.node.GetOpType() == "DepthToSpace"
	k := int(bs)
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		if len(x.Shape) != 4 {
			return nil, fmt.Errorf("input has shape %v, needs rank 4", x.Shape)
		}
		n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
		var view, perm, out []int
		switch {
		case toSpace && c%(k*k) != 0:
			return nil, fmt.Errorf("channels %d are not a multiple of blocksize^2 = %d", c, k*k)
		case toSpace && mode == "DCR":
			view, perm = []int{n, k, k, c / (k * k), h, w}, []int{0, 3, 4, 1, 5, 2}
		case toSpace:
			view, perm = []int{n, c / (k * k), k, k, h, w}, []int{0, 1, 4, 2, 5, 3}
		case h%k != 0 || w%k != 0:
			return nil, fmt.Errorf("spatial size %dx%d is not a multiple of blocksize %d", h, w, k)
		default:
			view, perm = []int{n, c, h / k, k, w / k, k}, []int{0, 3, 5, 1, 2, 4}
		}
		if toSpace {
			out = []int{n, c / (k * k), h * k, w * k}
		} else {
			out = []int{n, c * k * k, h / k, w / k}
		}
		vs := stridesOf(view)
		shape, st := make([]int, 6), make([]int, 6)
		for i, p := range perm {
			shape[i], st[i] = view[p], vs[p]
		}
		return []*tensor.Tensor{alias(gatherStrided(rc, x, shape, st, 0), out)}, nil
	}, nil
}

// buildArgExtreme builds ArgMax and ArgMin (int64 indices).
func buildArgExtreme(b *buildCtx) (kernelFunc, error) {
	axis, err := b.attrs.int("axis", 0)
	if err != nil {
		return nil, err
	}
	keep, err := b.attrs.int("keepdims", 1)
	if err != nil {
		return nil, err
	}
	last, err := b.attrs.int("select_last_index", 0)
	if err != nil {
		return nil, err
	}
	isMax := b.node.GetOpType() == "ArgMax"
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		vals := x.Float64s()
		if x.DType == tensor.Int64 {
			for _, v := range x.I64 {
				if v > 1<<53 || v < -(1<<53) {
					return nil, fmt.Errorf("int64 values beyond 2^53 are not supported")
				}
			}
		}
		ax, err := normAxis(axis, len(x.Shape))
		if err != nil {
			return nil, err
		}
		outer, n, inner := tensor.NumElements(x.Shape[:ax]), x.Shape[ax], tensor.NumElements(x.Shape[ax+1:])
		if n == 0 {
			return nil, fmt.Errorf("axis %d has length 0", axis)
		}
		var shape []int
		for i, d := range x.Shape {
			if i == ax {
				if keep != 0 {
					shape = append(shape, 1)
				}
				continue
			}
			shape = append(shape, d)
		}
		if shape == nil {
			shape = []int{}
		}
		out := tensor.NewInt64(shape, nil)
		for o := 0; o < outer; o++ {
			for i := 0; i < inner; i++ {
				best, at := vals[o*n*inner+i], 0
				for k := 1; k < n; k++ {
					v := vals[(o*n+k)*inner+i]
					better := (isMax && v > best) || (!isMax && v < best) || (last != 0 && v == best)
					if better {
						best, at = v, k
					}
				}
				out.I64[o*inner+i] = int64(at)
			}
		}
		return []*tensor.Tensor{out}, nil
	}, nil
}

// buildRange builds Range: start, start+delta, ... up to limit (exclusive).
func buildRange(b *buildCtx) (kernelFunc, error) {
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		for i, t := range in[:3] {
			if t.Len() != 1 || t.DType != in[0].DType {
				return nil, fmt.Errorf("input %d must be a scalar of the start's type, got %v %v", i, t.DType, t.Shape)
			}
		}
		if in[0].DType == tensor.Int64 {
			start, limit, delta := in[0].I64[0], in[1].I64[0], in[2].I64[0]
			if delta == 0 {
				return nil, fmt.Errorf("delta is 0")
			}
			n := max(int64(0), (limit-start+delta-sign64(delta))/delta)
			if _, err := checkedShape([]int64{n}); err != nil {
				return nil, err
			}
			out := tensor.NewInt64([]int{int(n)}, nil)
			for i := range out.I64 {
				out.I64[i] = start + int64(i)*delta
			}
			return []*tensor.Tensor{out}, nil
		}
		start, limit, delta := in[0].F32[0], in[1].F32[0], in[2].F32[0]
		if delta == 0 {
			return nil, fmt.Errorf("delta is 0")
		}
		span := math.Ceil(float64(limit-start) / float64(delta))
		if math.IsNaN(span) || math.IsInf(span, 0) || span > maxRunElements {
			return nil, fmt.Errorf("range from %g to %g by %g has no finite length", start, limit, delta)
		}
		n := int64(max(0, span))
		if _, err := checkedShape([]int64{n}); err != nil {
			return nil, err
		}
		out := tensor.NewFloat32([]int{int(n)}, nil)
		for i := range out.F32 {
			out.F32[i] = start + float32(i)*delta
		}
		return []*tensor.Tensor{out}, nil
	}, nil
}

func sign64(v int64) int64 {
	if v < 0 {
		return -1
	}
	return 1
}
