package goexec

import (
	"fmt"
	"math"

	"github.com/wtonnx/wtonnx/tensor"
)

// Resize (opset 10 on) and Upsample (opsets 7-9): nearest and (multi)linear
// interpolation with the coordinate transformations real models use.
// Coordinates are computed in float32, as ONNX Runtime does, so that
// nearest-neighbour ties resolve the same way.

type resizeAttrs struct {
	mode        string // "nearest" or "linear"
	coord       string // coordinate_transformation_mode
	nearestMode string // "simple" before opset 11
	// scales (Upsample-7) is the attribute form.
	scales []float32
}

func buildResize(b *buildCtx) (kernelFunc, error) {
	ra := resizeAttrs{coord: "asymmetric", nearestMode: "simple"}
	var err error
	if ra.mode, err = b.attrs.str("mode", "nearest"); err != nil {
		return nil, err
	}
	switch ra.mode {
	case "nearest", "linear":
	case "bilinear":
		if b.node.GetOpType() != "Upsample" {
			return nil, fmt.Errorf("mode %q is not supported (nearest, linear)", ra.mode)
		}
		ra.mode = "linear"
	default:
		return nil, fmt.Errorf("mode %q is not supported (nearest, linear)", ra.mode)
	}
	op := b.node.GetOpType()
	if op == "Resize" && b.opset >= 11 {
		if ra.coord, err = b.attrs.str("coordinate_transformation_mode", "half_pixel"); err != nil {
			return nil, err
		}
		switch ra.coord {
		case "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nearest":
		default:
			return nil, fmt.Errorf("coordinate_transformation_mode %q is not supported", ra.coord)
		}
		if ra.nearestMode, err = b.attrs.str("nearest_mode", "round_prefer_floor"); err != nil {
			return nil, err
		}
		switch ra.nearestMode {
		case "round_prefer_floor", "round_prefer_ceil", "floor", "ceil":
		default:
			return nil, fmt.Errorf("nearest_mode %q is not supported", ra.nearestMode)
		}
		if v, err := b.attrs.int("antialias", 0); err != nil || v != 0 {
			return nil, fmt.Errorf("antialias is not supported")
		}
		if b.attrs.has("axes") {
			return nil, fmt.Errorf("the axes attribute is not supported")
		}
		if p, err := b.attrs.str("keep_aspect_ratio_policy", "stretch"); err != nil || p != "stretch" {
			return nil, fmt.Errorf("keep_aspect_ratio_policy %q is not supported (stretch)", p)
		}
		if v, err := b.attrs.int("exclude_outside", 0); err != nil || v != 0 {
			return nil, fmt.Errorf("exclude_outside=1 is not supported")
		}
	}
	if op == "Upsample" && b.opset < 9 {
		if ra.scales, err = b.attrs.floats("scales", nil); err != nil {
			return nil, err
		}
		if ra.scales == nil {
			return nil, fmt.Errorf("attribute scales is required")
		}
	}
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		if err := requireF32(x, "X"); err != nil {
			return nil, err
		}
		scales, sizes, err := resizeTargets(op, b.opset, ra.scales, in)
		if err != nil {
			return nil, err
		}
		r := len(x.Shape)
		if scales != nil && len(scales) != r {
			return nil, fmt.Errorf("%d scales for an input of rank %d", len(scales), r)
		}
		if sizes != nil && len(sizes) != r {
			return nil, fmt.Errorf("%d sizes for an input of rank %d", len(sizes), r)
		}
		out := make([]int64, r)
		sc := make([]float32, r)
		for i, d := range x.Shape {
			if sizes != nil {
				out[i] = sizes[i]
				sc[i] = float32(sizes[i]) / float32(d)
			} else {
				if !(scales[i] > 0) || math.IsInf(float64(scales[i]), 0) {
					return nil, fmt.Errorf("scale %g must be positive", scales[i])
				}
				sc[i] = scales[i]
				out[i] = int64(math.Floor(float64(d) * float64(scales[i])))
			}
		}
		shape, err := checkedShape(out)
		if err != nil {
			return nil, err
		}
		for i, d := range x.Shape {
			if d == 0 && shape[i] > 0 {
				return nil, fmt.Errorf("axis %d is empty and cannot be resized to %d", i, shape[i])
			}
		}
		return []*tensor.Tensor{resize(rc, x, shape, sc, &ra)}, nil
	}, nil
}

// resizeTargets reads the scales or sizes input of the node's version.
func resizeTargets(op string, opset int64, attrScales []float32, in []*tensor.Tensor) ([]float32, []int64, error) {
	if attrScales != nil {
		return attrScales, nil, nil
	}
	get := func(i int) *tensor.Tensor {
		if i < len(in) {
			return in[i]
		}
		return nil
	}
	scalesAt := 1
	if op == "Resize" && opset >= 11 {
		scalesAt = 2
		if s := get(3); s != nil && s.Len() > 0 {
			v, err := int64s(s, "sizes")
			return nil, v, err
		}
	}
	s := get(scalesAt)
	if s == nil || s.Len() == 0 {
		return nil, nil, fmt.Errorf("neither scales nor sizes is given")
	}
	if err := requireF32(s, "scales"); err != nil {
		return nil, nil, err
	}
	return s.F32, nil, nil
}

// axisMap holds, for one axis, the source index (or the two indices and
// the weight of the second) of every output index.
type axisMap struct {
	i0, i1 []int
	w1     []float32
	same   bool // identity: no interpolation along this axis
}

func resize(rc *runCtx, x *tensor.Tensor, shape []int, sc []float32, ra *resizeAttrs) *tensor.Tensor {
	r := len(shape)
	maps := make([]axisMap, r)
	for a := 0; a < r; a++ {
		in, on := x.Shape[a], shape[a]
		m := &maps[a]
		m.same = in == on && sc[a] == 1
		m.i0, m.i1, m.w1 = make([]int, on), make([]int, on), make([]float32, on)
		for o := 0; o < on; o++ {
			if m.same {
				m.i0[o], m.i1[o] = o, o
				continue
			}
			c := sourceCoord(ra.coord, float32(o), sc[a], in, on)
			if ra.mode == "nearest" {
				k := nearestIndex(ra.nearestMode, c, sc[a] < 1)
				k = min(max(k, 0), in-1)
				m.i0[o], m.i1[o] = k, k
				continue
			}
			c = max(0, min(c, float32(in-1)))
			k := int(c)
			m.i0[o], m.i1[o], m.w1[o] = k, min(k+1, in-1), c-float32(k)
		}
	}
	out := rc.newF32(shape)
	xs := stridesOf(x.Shape)
	// Iterate over output rows (all axes but the last), then along the last.
	last := r - 1
	rows := tensor.NumElements(shape[:last])
	n := shape[last]
	parallelFor(rc.threads, rows, max(1, 4096/max(n, 1)), func(lo, hi int) {
		idx := make([]int, r)
		for row := lo; row < hi; row++ {
			rem := row
			for a := last - 1; a >= 0; a-- {
				idx[a] = rem % shape[a]
				rem /= shape[a]
			}
			dst := out.F32[row*n : (row+1)*n]
			for o := range dst {
				idx[last] = o
				dst[o] = interpolate(x.F32, xs, maps, idx)
			}
		}
	})
	return out
}

// interpolate sums the 2^k corners of the axes that interpolate.
func interpolate(src []float32, xs []int, maps []axisMap, idx []int) float32 {
	var acc float32
	var walk func(a, off int, w float32)
	walk = func(a, off int, w float32) {
		if a == len(maps) {
			acc += w * src[off]
			return
		}
		m := &maps[a]
		o := idx[a]
		if m.i0[o] == m.i1[o] || m.w1[o] == 0 {
			walk(a+1, off+m.i0[o]*xs[a], w)
			return
		}
		walk(a+1, off+m.i0[o]*xs[a], w*(1-m.w1[o]))
		walk(a+1, off+m.i1[o]*xs[a], w*m.w1[o])
	}
	walk(0, 0, 1)
	return acc
}

func sourceCoord(mode string, o, scale float32, in, on int) float32 {
	switch mode {
	case "half_pixel":
		return (o+0.5)/scale - 0.5
	case "pytorch_half_pixel":
		if on > 1 {
			return (o+0.5)/scale - 0.5
		}
		return 0
	case "align_corners":
		if on == 1 {
			return 0
		}
		return o * float32(in-1) / float32(on-1)
	case "tf_half_pixel_for_nearest":
		return (o + 0.5) / scale
	}
	return o / scale // asymmetric
}

func nearestIndex(mode string, c float32, down bool) int {
	switch mode {
	case "simple": // before opset 11, as ONNX Runtime computes it
		if down {
			return int(math.Ceil(float64(c)))
		}
		return int(c)
	case "floor":
		return int(math.Floor(float64(c)))
	case "ceil":
		return int(math.Ceil(float64(c)))
	case "round_prefer_ceil":
		return int(math.Floor(float64(c) + 0.5))
	}
	// round_prefer_floor
	if c == float32(math.Floor(float64(c)))+0.5 {
		return int(math.Floor(float64(c)))
	}
	return int(math.Round(float64(c)))
}
