package goexec

import (
	"fmt"

	"github.com/wtonnx/wtonnx/tensor"
)

// windowAttrs holds the attributes shared by Conv, ConvTranspose and the
// pooling operators.
type windowAttrs struct {
	autoPad   string
	kernel    []int // nil: taken from the weight
	strides   []int
	dilations []int
	pads      []int
	group     int
	ceilMode  bool
}

func parseWindowAttrs(b *buildCtx) (*windowAttrs, error) {
	w := &windowAttrs{group: 1}
	var err error
	if w.autoPad, err = b.attrs.str("auto_pad", "NOTSET"); err != nil {
		return nil, err
	}
	switch w.autoPad {
	case "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID":
	default:
		return nil, fmt.Errorf("auto_pad %q is not supported (NOTSET, SAME_UPPER, SAME_LOWER, VALID)", w.autoPad)
	}
	get := func(name string) ([]int, error) {
		v, err := b.attrs.ints(name, nil)
		if err != nil || v == nil {
			return nil, err
		}
		out, err := toInts(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", name, err)
		}
		return out, nil
	}
	if w.kernel, err = get("kernel_shape"); err != nil {
		return nil, err
	}
	if w.strides, err = get("strides"); err != nil {
		return nil, err
	}
	if w.dilations, err = get("dilations"); err != nil {
		return nil, err
	}
	if w.pads, err = get("pads"); err != nil {
		return nil, err
	}
	for _, v := range w.strides {
		if v < 1 {
			return nil, fmt.Errorf("strides %v must be positive", w.strides)
		}
	}
	for _, v := range w.dilations {
		if v < 1 {
			return nil, fmt.Errorf("dilations %v must be positive", w.dilations)
		}
	}
	for _, v := range w.pads {
		if v < 0 {
			return nil, fmt.Errorf("pads %v must not be negative", w.pads)
		}
	}
	if w.pads != nil && w.autoPad != "NOTSET" {
		return nil, fmt.Errorf("pads and auto_pad=%s are both given", w.autoPad)
	}
	g, err := b.attrs.int("group", 1)
	if err != nil {
		return nil, err
	}
	if g < 1 || g > 1<<30 {
		return nil, fmt.Errorf("group %d must be positive", g)
	}
	w.group = int(g)
	cm, err := b.attrs.int("ceil_mode", 0)
	if err != nil {
		return nil, err
	}
	w.ceilMode = cm != 0
	return w, nil
}

// geom2d is a resolved 2-D window geometry.
type geom2d struct {
	h, w, kh, kw, sh, sw, dh, dw int
	pt, pl, pb, pr               int
	oh, ow                       int
}

// resolve2d computes the geometry for spatial input size in (1 or 2 dims)
// and kernel size k. One-dimensional cases are mapped to height 1.
func (a *windowAttrs) resolve2d(in, k []int) (*geom2d, error) {
	nd := len(in)
	if nd != 1 && nd != 2 {
		return nil, fmt.Errorf("%d spatial dimensions are not supported (1 or 2 are)", nd)
	}
	if len(k) != nd {
		return nil, fmt.Errorf("kernel %v does not match %d spatial dimensions", k, nd)
	}
	check := func(name string, v []int, n int) error {
		if v != nil && len(v) != n {
			return fmt.Errorf("%s %v needs %d values for %d spatial dimensions", name, v, n, nd)
		}
		return nil
	}
	if err := check("strides", a.strides, nd); err != nil {
		return nil, err
	}
	if err := check("dilations", a.dilations, nd); err != nil {
		return nil, err
	}
	if err := check("pads", a.pads, 2*nd); err != nil {
		return nil, err
	}
	dim := func(v []int, i, def int) int {
		if v == nil {
			return def
		}
		return v[i]
	}
	outSize := func(i int) (o, pb, pe int, err error) {
		n, kk := in[i], k[i]
		s, d := dim(a.strides, i, 1), dim(a.dilations, i, 1)
		ek := (kk-1)*d + 1
		switch a.autoPad {
		case "NOTSET":
			pb, pe = dim(a.pads, i, 0), dim(a.pads, nd+i, 0)
		case "VALID":
		default:
			o = (n + s - 1) / s
			total := max(0, (o-1)*s+ek-n)
			if a.autoPad == "SAME_UPPER" {
				pb = total / 2
			} else {
				pb = total - total/2
			}
			return o, pb, total - pb, nil
		}
		span := n + pb + pe - ek
		if span < 0 {
			return 0, 0, 0, fmt.Errorf("kernel %d (dilated %d) is larger than the padded input %d", kk, ek, n+pb+pe)
		}
		if a.ceilMode {
			o = (span+s-1)/s + 1
			// The last window must start inside the input or left padding.
			if (o-1)*s >= n+pb {
				o--
			}
		} else {
			o = span/s + 1
		}
		return o, pb, pe, nil
	}
	g := &geom2d{h: 1, kh: 1, sh: 1, dh: 1, oh: 1}
	if nd == 2 {
		o, pb, pe, err := outSize(0)
		if err != nil {
			return nil, err
		}
		g.h, g.kh, g.sh, g.dh = in[0], k[0], dim(a.strides, 0, 1), dim(a.dilations, 0, 1)
		g.oh, g.pt, g.pb = o, pb, pe
	}
	o, pb, pe, err := outSize(nd - 1)
	if err != nil {
		return nil, err
	}
	g.w, g.kw, g.sw, g.dw = in[nd-1], k[nd-1], dim(a.strides, nd-1, 1), dim(a.dilations, nd-1, 1)
	g.ow, g.pl, g.pr = o, pb, pe
	return g, nil
}

func buildConv(b *buildCtx) (kernelFunc, error) {
	wa, err := parseWindowAttrs(b)
	if err != nil {
		return nil, err
	}
	if b.attrs.has("ceil_mode") {
		return nil, fmt.Errorf("ceil_mode is not a Conv attribute")
	}
	return convWithEpilogue(b, wa)(nil), nil
}

// convWithEpilogue returns the builder of Conv kernels with a fused
// activation for node b, all sharing the packing of its weights when they
// are constant.
func convWithEpilogue(b *buildCtx, wa *windowAttrs) func(epi *unaryOp) kernelFunc {
	var pw *packedWeight
	if w, ok := b.constIn(1); ok && wa.group == 1 {
		pw = newPackedA(w)
	}
	return func(epi *unaryOp) kernelFunc { return convKernel(wa, pw, epi) }
}

// convKernel returns the Conv kernel; pw, when not nil, packs the constant
// weights once (ungrouped convolutions); epi, when not nil, is an
// activation applied to each output block while it is still in cache
// (fusion).
func convKernel(wa *windowAttrs, pw *packedWeight, epi *unaryOp) kernelFunc {
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, w := in[0], in[1]
		var bias *tensor.Tensor
		if len(in) > 2 {
			bias = in[2]
		}
		if err := requireF32(x, "X"); err != nil {
			return nil, err
		}
		if err := requireF32(w, "W"); err != nil {
			return nil, err
		}
		if len(x.Shape) < 3 || len(w.Shape) != len(x.Shape) {
			return nil, fmt.Errorf("X %v and W %v must both have rank 3 or 4", x.Shape, w.Shape)
		}
		n, c := x.Shape[0], x.Shape[1]
		m, cg := w.Shape[0], w.Shape[1]
		g := wa.group
		if c%g != 0 || m%g != 0 || c/g != cg {
			return nil, fmt.Errorf("X has %d channels and W is %v with group %d: need C = group*W[1] and W[0] divisible by group", c, w.Shape, g)
		}
		if wa.kernel != nil && !tensor.SameShape(wa.kernel, w.Shape[2:]) {
			return nil, fmt.Errorf("kernel_shape %v does not match W %v", wa.kernel, w.Shape)
		}
		if bias != nil {
			if err := requireF32(bias, "B"); err != nil {
				return nil, err
			}
			if bias.Len() != m {
				return nil, fmt.Errorf("B has shape %v, needs %d values", bias.Shape, m)
			}
		}
		geo, err := wa.resolve2d(x.Shape[2:], w.Shape[2:])
		if err != nil {
			return nil, err
		}
		var bf []float32
		if bias != nil {
			bf = bias.F32
		}
		var packedW []float32
		if g == 1 && w.Shape[1] > 1 {
			packedW = pw.of(rc.threads, w)
		}
		out := conv2d(rc, x.F32, n, c, w.F32, packedW, m, g, bf, geo, epi)
		shape := []int{n, m, geo.oh, geo.ow}
		if len(x.Shape) == 3 {
			shape = []int{n, m, geo.ow}
		}
		return []*tensor.Tensor{tensor.NewFloat32(shape, out)}, nil
	}
}

// conv2d computes a grouped 2-D convolution of x [n, c, h, w] with weights
// [m, c/g, kh, kw] (packedW: packed by packAAll, or nil) into a fresh
// [n, m, oh, ow] buffer.
func conv2d(rc *runCtx, x []float32, n, c int, w, packedW []float32, m, g int, bias []float32, geo *geom2d, epi *unaryOp) []float32 {
	hw := geo.h * geo.w
	ohw := geo.oh * geo.ow
	out := rc.alloc(n * m * ohw)
	if ohw == 0 || n == 0 || m == 0 {
		return out
	}
	cg, mg := c/g, m/g
	kk := geo.kh * geo.kw
	kdim := cg * kk
	if cg == 1 {
		// Depthwise (possibly with a channel multiplier): direct kernel per
		// output plane.
		parallelFor(rc.threads, n*m, 1, func(lo, hi int) {
			var buf dwBuf
			for p := lo; p < hi; p++ {
				b, oc := p/m, p%m
				ic := oc / mg
				var bv float32
				if bias != nil {
					bv = bias[oc]
				}
				dst := out[p*ohw : (p+1)*ohw]
				dwConv2d(dst, x[(b*c+ic)*hw:(b*c+ic+1)*hw], w[oc*kk:(oc+1)*kk], geo, bv, &buf)
				if epi != nil {
					epi.applyRange(dst, dst)
				}
			}
		})
		return out
	}
	pointwise := geo.kh == 1 && geo.kw == 1 && geo.sh == 1 && geo.sw == 1 &&
		geo.pt == 0 && geo.pl == 0 && geo.pb == 0 && geo.pr == 0
	one := func(threads *team, b, gi int, col []float32) {
		src := x[(b*c+gi*cg)*hw : (b*c+(gi+1)*cg)*hw]
		if !pointwise {
			im2col(threads, col, src, cg, geo)
			src = col
		}
		dst := out[(b*m+gi*mg)*ohw : (b*m+(gi+1)*mg)*ohw]
		var rowBias []float32
		if bias != nil {
			rowBias = bias[gi*mg : (gi+1)*mg]
		}
		sgemm(threads, rc.scratch, &gemmArgs{
			m: mg, n: ohw, k: kdim,
			a: w[gi*mg*kdim:], rsA: kdim, csA: 1,
			b: src, rsB: ohw, csB: 1,
			c: dst, ldc: ohw, alpha: 1,
			rowBias: rowBias, epi: epi, packedA: packedW,
		})
	}
	jobs := n * g
	if nt := rc.threads.threads(); jobs >= 2*nt && nt > 1 {
		parallelFor(rc.threads, jobs, 1, func(lo, hi int) {
			var col []float32
			if !pointwise {
				col = rc.scratch.get(kdim * ohw)
			}
			for j := lo; j < hi; j++ {
				one(nil, j/g, j%g, col)
			}
			rc.scratch.put(col)
		})
		return out
	}
	var col []float32
	if !pointwise {
		col = rc.scratch.get(kdim * ohw)
	}
	for j := 0; j < jobs; j++ {
		one(rc.threads, j/g, j%g, col)
	}
	rc.scratch.put(col)
	return out
}

// im2col lays out the receptive fields of src [c, h, w] as a
// [c*kh*kw, oh*ow] matrix.
func im2col(threads *team, col, src []float32, c int, geo *geom2d) {
	kk := geo.kh * geo.kw
	ohw := geo.oh * geo.ow
	parallelFor(threads, c*kk, max(1, 8192/max(ohw, 1)), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			ch, kidx := r/kk, r%kk
			ky, kx := kidx/geo.kw, kidx%geo.kw
			plane := src[ch*geo.h*geo.w : (ch+1)*geo.h*geo.w]
			dst := col[r*ohw : (r+1)*ohw]
			off := kx*geo.dw - geo.pl
			lo, hi := validRange(off, geo.sw, geo.w, geo.ow)
			for oy := 0; oy < geo.oh; oy++ {
				row := dst[oy*geo.ow : (oy+1)*geo.ow]
				iy := oy*geo.sh - geo.pt + ky*geo.dh
				if iy < 0 || iy >= geo.h {
					clear(row)
					continue
				}
				srow := plane[iy*geo.w : (iy+1)*geo.w]
				clear(row[:lo])
				clear(row[hi:])
				if geo.sw == 1 {
					copy(row[lo:hi], srow[lo+off:hi+off])
				} else {
					for ox := lo; ox < hi; ox++ {
						row[ox] = srow[ox*geo.sw+off]
					}
				}
			}
		}
	})
}

// validRange returns the output positions [lo, hi) whose input index
// ox*s + off lies in [0, w).
func validRange(off, s, w, ow int) (lo, hi int) {
	if off < 0 {
		lo = (-off + s - 1) / s
	}
	if w-1-off < 0 {
		return 0, 0
	}
	hi = min(ow, (w-1-off)/s+1)
	if lo > hi {
		lo = hi
	}
	return lo, hi
}

func buildConvTranspose(b *buildCtx) (kernelFunc, error) {
	wa, err := parseWindowAttrs(b)
	if err != nil {
		return nil, err
	}
	outPad, err := b.attrs.ints("output_padding", nil)
	if err != nil {
		return nil, err
	}
	outShape, err := b.attrs.ints("output_shape", nil)
	if err != nil {
		return nil, err
	}
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, w := in[0], in[1]
		var bias *tensor.Tensor
		if len(in) > 2 {
			bias = in[2]
		}
		if err := requireF32(x, "X"); err != nil {
			return nil, err
		}
		if err := requireF32(w, "W"); err != nil {
			return nil, err
		}
		if len(x.Shape) < 3 || len(x.Shape) > 4 || len(w.Shape) != len(x.Shape) {
			return nil, fmt.Errorf("X %v and W %v must both have rank 3 or 4", x.Shape, w.Shape)
		}
		n, c := x.Shape[0], x.Shape[1]
		g := wa.group
		if w.Shape[0] != c || c%g != 0 {
			return nil, fmt.Errorf("W %v must have X's %d channels in dimension 0, divisible by group %d", w.Shape, c, g)
		}
		mg := w.Shape[1]
		m := mg * g
		if bias != nil {
			if err := requireF32(bias, "B"); err != nil {
				return nil, err
			}
			if bias.Len() != m {
				return nil, fmt.Errorf("B has shape %v, needs %d values", bias.Shape, m)
			}
		}
		nd := len(x.Shape) - 2
		in2, k2 := x.Shape[2:], w.Shape[2:]
		if wa.kernel != nil && !tensor.SameShape(wa.kernel, k2) {
			return nil, fmt.Errorf("kernel_shape %v does not match W %v", wa.kernel, w.Shape)
		}
		get := func(v []int, i, def int) int {
			if v == nil {
				return def
			}
			return v[i]
		}
		for name, v := range map[string][]int{"strides": wa.strides, "dilations": wa.dilations} {
			if v != nil && len(v) != nd {
				return nil, fmt.Errorf("%s %v needs %d values", name, v, nd)
			}
		}
		if wa.pads != nil && len(wa.pads) != 2*nd {
			return nil, fmt.Errorf("pads %v needs %d values", wa.pads, 2*nd)
		}
		if outPad != nil && len(outPad) != nd {
			return nil, fmt.Errorf("output_padding %v needs %d values", outPad, nd)
		}
		os := outShape
		if len(os) == nd+2 {
			os = os[2:]
		}
		if os != nil && len(os) != nd {
			return nil, fmt.Errorf("output_shape %v needs %d values", outShape, nd)
		}
		geo := &geom2d{h: 1, kh: 1, sh: 1, dh: 1, oh: 1}
		dims := make([][3]int, nd) // out, pad begin, pad end
		for i := 0; i < nd; i++ {
			s, d := get(wa.strides, i, 1), get(wa.dilations, i, 1)
			op := 0
			if outPad != nil {
				op = int(outPad[i])
			}
			ek := (k2[i]-1)*d + 1
			full := s*(in2[i]-1) + op + ek
			var o, pb, pe int
			switch {
			case os != nil || wa.autoPad == "SAME_UPPER" || wa.autoPad == "SAME_LOWER":
				if os != nil {
					o = int(os[i])
				} else {
					o = in2[i] * s
				}
				total := full - o
				if total < 0 {
					total = 0 // the output is padded with zeros beyond the data
				}
				if wa.autoPad == "SAME_UPPER" {
					pb = total / 2
				} else {
					pb = total - total/2
				}
				pe = total - pb
				if os != nil {
					o = int(os[i])
				}
			default:
				pb, pe = get(wa.pads, i, 0), get(wa.pads, nd+i, 0)
				if wa.autoPad == "VALID" {
					pb, pe = 0, 0
				}
				o = full - pb - pe
			}
			if o < 0 {
				return nil, fmt.Errorf("output size %d is negative", o)
			}
			dims[i] = [3]int{o, pb, pe}
			if i == nd-1 {
				geo.w, geo.kw, geo.sw, geo.dw, geo.ow, geo.pl, geo.pr = in2[i], k2[i], s, d, o, pb, pe
			} else {
				geo.h, geo.kh, geo.sh, geo.dh, geo.oh, geo.pt, geo.pb = in2[i], k2[i], s, d, o, pb, pe
			}
		}
		var bf []float32
		if bias != nil {
			bf = bias.F32
		}
		out := convTranspose2d(rc, x.F32, n, c, w.F32, m, g, bf, geo)
		shape := []int{n, m, geo.oh, geo.ow}
		if nd == 1 {
			shape = []int{n, m, geo.ow}
		}
		return []*tensor.Tensor{tensor.NewFloat32(shape, out)}, nil
	}, nil
}

// convTranspose2d computes a grouped transposed convolution of x [n, c, h, w]
// with weights [c, m/g, kh, kw] as a GEMM followed by col2im.
func convTranspose2d(rc *runCtx, x []float32, n, c int, w []float32, m, g int, bias []float32, geo *geom2d) []float32 {
	hw := geo.h * geo.w
	ohw := geo.oh * geo.ow
	out := make([]float32, n*m*ohw)
	cg, mg := c/g, m/g
	kk := geo.kh * geo.kw
	rows := mg * kk
	col := rc.scratch.get(rows * hw)
	defer rc.scratch.put(col)
	for b := 0; b < n; b++ {
		for gi := 0; gi < g; gi++ {
			sgemm(rc.threads, rc.scratch, &gemmArgs{
				m: rows, n: hw, k: cg,
				a: w[gi*cg*rows:], rsA: 1, csA: rows,
				b: x[(b*c+gi*cg)*hw:], rsB: hw, csB: 1,
				c: col, ldc: hw, alpha: 1,
			})
			dst := out[(b*m+gi*mg)*ohw : (b*m+(gi+1)*mg)*ohw]
			parallelFor(rc.threads, mg, 1, func(lo, hi int) {
				for oc := lo; oc < hi; oc++ {
					plane := dst[oc*ohw : (oc+1)*ohw]
					for kidx := 0; kidx < kk; kidx++ {
						ky, kx := kidx/geo.kw, kidx%geo.kw
						src := col[(oc*kk+kidx)*hw : (oc*kk+kidx+1)*hw]
						for iy := 0; iy < geo.h; iy++ {
							oy := iy*geo.sh - geo.pt + ky*geo.dh
							if oy < 0 || oy >= geo.oh {
								continue
							}
							orow := plane[oy*geo.ow : (oy+1)*geo.ow]
							srow := src[iy*geo.w : (iy+1)*geo.w]
							for ix, v := range srow {
								ox := ix*geo.sw - geo.pl + kx*geo.dw
								if ox >= 0 && ox < geo.ow {
									orow[ox] += v
								}
							}
						}
					}
					if bias != nil {
						bv := bias[gi*mg+oc]
						for i := range plane {
							plane[i] += bv
						}
					}
				}
			})
		}
	}
	return out
}
