package goexec

import (
	"fmt"
	"math"

	"github.com/wtonnx/wtonnx/tensor"
)

func buildPool(op string) func(b *buildCtx) (kernelFunc, error) {
	return func(b *buildCtx) (kernelFunc, error) {
		wa, err := parseWindowAttrs(b)
		if err != nil {
			return nil, err
		}
		if b.attrs.has("group") {
			return nil, fmt.Errorf("group is not a pooling attribute")
		}
		if wa.kernel == nil {
			return nil, fmt.Errorf("kernel_shape attribute is required")
		}
		includePad := int64(0)
		if op == "AveragePool" {
			if includePad, err = b.attrs.int("count_include_pad", 0); err != nil {
				return nil, err
			}
		}
		if op == "MaxPool" {
			if _, err := b.attrs.int("storage_order", 0); err != nil {
				return nil, err
			}
		}
		return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			x := in[0]
			if err := requireF32(x, "X"); err != nil {
				return nil, err
			}
			if len(x.Shape) < 3 {
				return nil, fmt.Errorf("X has shape %v, needs rank 3 or 4", x.Shape)
			}
			geo, err := wa.resolve2d(x.Shape[2:], wa.kernel)
			if err != nil {
				return nil, err
			}
			planes := x.Shape[0] * x.Shape[1]
			hw, ohw := geo.h*geo.w, geo.oh*geo.ow
			out := rc.alloc(planes * ohw)
			parallelFor(rc.threads, planes, 1, func(lo, hi int) {
				for p := lo; p < hi; p++ {
					pool2d(op == "MaxPool", includePad != 0, out[p*ohw:(p+1)*ohw], x.F32[p*hw:(p+1)*hw], geo)
				}
			})
			shape := append(append([]int{}, x.Shape[:2]...), geo.oh, geo.ow)
			if len(x.Shape) == 3 {
				shape = []int{x.Shape[0], x.Shape[1], geo.ow}
			}
			return []*tensor.Tensor{tensor.NewFloat32(shape, out)}, nil
		}, nil
	}
}

func pool2d(isMax, includePad bool, dst, src []float32, g *geom2d) {
	for oy := 0; oy < g.oh; oy++ {
		y0 := oy*g.sh - g.pt
		for ox := 0; ox < g.ow; ox++ {
			x0 := ox*g.sw - g.pl
			if isMax {
				m := float32(math.Inf(-1))
				for ky := 0; ky < g.kh; ky++ {
					iy := y0 + ky*g.dh
					if iy < 0 || iy >= g.h {
						continue
					}
					row := src[iy*g.w : (iy+1)*g.w]
					for kx := 0; kx < g.kw; kx++ {
						ix := x0 + kx*g.dw
						if ix >= 0 && ix < g.w {
							if v := row[ix]; v > m || v != v {
								m = v
							}
						}
					}
				}
				dst[oy*g.ow+ox] = m
				continue
			}
			var s float64
			cnt := 0
			for ky := 0; ky < g.kh; ky++ {
				iy := y0 + ky*g.dh
				if iy < 0 || iy >= g.h {
					continue
				}
				row := src[iy*g.w : (iy+1)*g.w]
				for kx := 0; kx < g.kw; kx++ {
					ix := x0 + kx*g.dw
					if ix >= 0 && ix < g.w {
						s += float64(row[ix])
						cnt++
					}
				}
			}
			if includePad {
				// Count the window clipped to the padded input.
				ys := min(y0+(g.kh-1)*g.dh+1, g.h+g.pb) - y0
				xs := min(x0+(g.kw-1)*g.dw+1, g.w+g.pr) - x0
				cy := (ys + g.dh - 1) / g.dh
				cx := (xs + g.dw - 1) / g.dw
				cnt = cy * cx
			}
			if cnt == 0 {
				dst[oy*g.ow+ox] = 0
			} else {
				dst[oy*g.ow+ox] = float32(s / float64(cnt))
			}
		}
	}
}

func buildGlobalPool(op string) func(b *buildCtx) (kernelFunc, error) {
	return func(b *buildCtx) (kernelFunc, error) {
		return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			x := in[0]
			if err := requireF32(x, "X"); err != nil {
				return nil, err
			}
			if len(x.Shape) < 3 {
				return nil, fmt.Errorf("X has shape %v, needs rank >= 3", x.Shape)
			}
			planes := x.Shape[0] * x.Shape[1]
			hw := tensor.NumElements(x.Shape[2:])
			shape := append([]int{}, x.Shape...)
			for i := 2; i < len(shape); i++ {
				shape[i] = 1
			}
			out := tensor.NewFloat32(shape, nil)
			for p := 0; p < planes; p++ {
				src := x.F32[p*hw : (p+1)*hw]
				if op == "GlobalMaxPool" {
					m := float32(math.Inf(-1))
					for _, v := range src {
						if v > m || v != v {
							m = v
						}
					}
					out.F32[p] = m
					continue
				}
				var s float64
				for _, v := range src {
					s += float64(v)
				}
				out.F32[p] = float32(s / float64(hw))
			}
			return []*tensor.Tensor{out}, nil
		}, nil
	}
}
