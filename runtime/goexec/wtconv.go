package goexec

import (
	"fmt"

	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/wtconv"
)

// The fused WTConv operator (domain ai.wtonnx, version 1): a depthwise
// convolution plus a cascade of depthwise convolutions in the wavelet domain
// (attribute wavelet: db1 = Haar, the default, through db38), computed plane
// by plane. The base kernel (base_weight, C x 1 x kb x kb) and the
// wavelet-domain kernels (wavelet_weight, L x 4C x 1 x k x k) have their own
// sizes. Levels whose input is below 2 x 2 are computed as the authors'
// module computes them (pad to even, transform).

// Input 2 (base_bias) is optional, so the registry's arity check requires
// only X and base_weight; base_scale is checked here.
func buildWTConv(b *buildCtx) (kernelFunc, error) {
	if !b.attrs.has("levels") {
		return nil, fmt.Errorf("attribute levels is required")
	}
	if !b.hasIn(3) {
		return nil, fmt.Errorf("required input 3 (base_scale) is missing")
	}
	levels, err := b.attrs.int("levels", 0)
	if err != nil {
		return nil, err
	}
	if levels < 0 || levels > 30 {
		return nil, fmt.Errorf("levels %d must be between 0 and 30", levels)
	}
	stride, err := b.attrs.int("stride", 1)
	if err != nil {
		return nil, err
	}
	if stride < 1 || stride > 1<<20 {
		return nil, fmt.Errorf("stride %d must be >= 1", stride)
	}
	wavelet, err := b.attrs.str("wavelet", wtconv.DefaultWavelet)
	if err != nil {
		return nil, err
	}
	wav, err := wtconv.WaveletByName(wavelet)
	if err != nil {
		return nil, fmt.Errorf("attribute wavelet: %w", err)
	}
	bank := newFilterBank(wav)
	if levels > 0 && (!b.hasIn(4) || !b.hasIn(5)) {
		return nil, fmt.Errorf("levels=%d needs inputs wavelet_weight (4) and wavelet_scale (5)", levels)
	}
	L, s := int(levels), int(stride)
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		get := func(i int) *tensor.Tensor {
			if i < len(in) {
				return in[i]
			}
			return nil
		}
		x, bw, bb, bs, ww, wsc := get(0), get(1), get(2), get(3), get(4), get(5)
		names := []string{"X", "base_weight", "base_bias", "base_scale", "wavelet_weight", "wavelet_scale"}
		for i, t := range []*tensor.Tensor{x, bw, bb, bs, ww, wsc} {
			if t != nil {
				if err := requireF32(t, names[i]); err != nil {
					return nil, err
				}
			}
		}
		if len(x.Shape) != 4 {
			return nil, fmt.Errorf("input X has shape %v, needs [N, C, H, W]", x.Shape)
		}
		n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
		if len(bw.Shape) != 4 || bw.Shape[0] != c || bw.Shape[1] != 1 || bw.Shape[2] != bw.Shape[3] || bw.Shape[2] < 1 {
			return nil, fmt.Errorf("input base_weight has shape %v, needs [%d, 1, k, k] for X's %d channels", bw.Shape, c, c)
		}
		kb := bw.Shape[2]
		if bb != nil && (len(bb.Shape) != 1 || bb.Shape[0] != c) {
			return nil, fmt.Errorf("input base_bias has shape %v, needs [%d]", bb.Shape, c)
		}
		if len(bs.Shape) != 1 || bs.Shape[0] != c {
			return nil, fmt.Errorf("input base_scale has shape %v, needs [%d]", bs.Shape, c)
		}
		k := kb
		if L > 0 {
			if ww == nil || len(ww.Shape) != 5 || ww.Shape[0] != L || ww.Shape[1] != 4*c || ww.Shape[2] != 1 || ww.Shape[3] != ww.Shape[4] || ww.Shape[3] < 1 {
				return nil, fmt.Errorf("input wavelet_weight has shape %v, needs [%d, %d, 1, k, k] (levels, 4C, 1, k, k)", shapeOf(ww), L, 4*c)
			}
			k = ww.Shape[3]
			if wsc == nil || len(wsc.Shape) != 2 || wsc.Shape[0] != L || wsc.Shape[1] != 4*c {
				return nil, fmt.Errorf("input wavelet_scale has shape %v, needs [%d, %d] (levels, 4C)", shapeOf(wsc), L, 4*c)
			}
			if h < 1 || w < 1 {
				return nil, fmt.Errorf("input X has shape %v: levels %d need a non-empty plane", x.Shape, L)
			}
		} else if (ww != nil && ww.Len() > 0) || (wsc != nil && wsc.Len() > 0) {
			return nil, fmt.Errorf("levels=0 but wavelet inputs are given with shapes %v, %v", shapeOf(ww), shapeOf(wsc))
		}
		p := &wtParams{c: c, h: h, w: w, kb: kb, k: k, levels: L, stride: s, base: bw.F32, scale: bs.F32, bank: bank}
		if bb != nil {
			p.bias = bb.F32
		}
		if L > 0 {
			p.wav, p.wscale = ww.F32, wsc.F32
		}
		oh, ow := (h+s-1)/s, (w+s-1)/s
		out := rc.newF32([]int{n, c, oh, ow})
		parallelFor(rc.threads, n*c, 1, func(lo, hi int) {
			ws := newWTScratch(p)
			for pl := lo; pl < hi; pl++ {
				wtconvPlane(out.F32[pl*oh*ow:(pl+1)*oh*ow], x.F32[pl*h*w:(pl+1)*h*w], pl%c, p, ws)
			}
		})
		return []*tensor.Tensor{out}, nil
	}, nil
}

func shapeOf(t *tensor.Tensor) []int {
	if t == nil {
		return nil
	}
	return t.Shape
}

type wtParams struct {
	c, h, w, kb, k, levels, stride int // kb: base kernel, k: wavelet-domain kernel
	base, bias, scale              []float32
	wav, wscale                    []float32 // [L][4C][k*k], [L][4C]
	bank                           *filterBank
}

// filterBank is a wavelet's 1-D filters in float32: lo, hi analyse (the
// reversed decomposition filters, as the authors' module uses them in a
// cross-correlation), rlo, rhi synthesise; pad is n/2 - 1 on every side.
type filterBank struct {
	haar             bool
	lo, hi, rlo, rhi []float32
	pad              int
}

func newFilterBank(w wtconv.Wavelet) *filterBank {
	f32 := func(s []float64, rev bool) []float32 {
		out := make([]float32, len(s))
		for i, v := range s {
			if rev {
				out[len(s)-1-i] = float32(v)
			} else {
				out[i] = float32(v)
			}
		}
		return out
	}
	return &filterBank{haar: w.IsHaar(), lo: f32(w.DecLo, true), hi: f32(w.DecHi, true),
		rlo: f32(w.RecLo, false), rhi: f32(w.RecHi, false), pad: w.Pad()}
}

// wtScratch holds one worker's buffers: per level the four analysis bands
// and the four (scaled, convolved) bands, plus synthesis buffers.
type wtScratch struct {
	hs, wsz []int // size of X_i for i = 0..L
	t, y    [][]float32
	z, zn   []float32
	dw      dwBuf
}

func newWTScratch(p *wtParams) *wtScratch {
	s := &wtScratch{hs: []int{p.h}, wsz: []int{p.w}}
	for i := 1; i <= p.levels; i++ {
		hh, ww := (s.hs[i-1]+1)/2, (s.wsz[i-1]+1)/2
		s.hs = append(s.hs, hh)
		s.wsz = append(s.wsz, ww)
		s.t = append(s.t, make([]float32, 4*hh*ww))
		s.y = append(s.y, make([]float32, 4*hh*ww))
	}
	s.z = make([]float32, p.h*p.w)
	s.zn = make([]float32, p.h*p.w)
	return s
}

// wtconvPlane computes one output plane for channel ch.
func wtconvPlane(dst, src []float32, ch int, p *wtParams, s *wtScratch) {
	kk := p.k * p.k
	pad := (p.k - 1) / 2
	cur, ch0, cw0 := src, p.h, p.w
	for i := 1; i <= p.levels; i++ {
		hh, ww := s.hs[i], s.wsz[i]
		if p.bank.haar {
			haarAnalysis(s.t[i-1], cur, ch0, cw0, hh, ww)
		} else {
			bankAnalysis(s.t[i-1], cur, ch0, cw0, hh, ww, p.bank)
		}
		geo := &geom2d{h: hh, w: ww, kh: p.k, kw: p.k, sh: 1, sw: 1, dh: 1, dw: 1,
			pt: pad, pl: pad, pb: p.k - 1 - pad, pr: p.k - 1 - pad, oh: hh, ow: ww}
		plane := hh * ww
		for band := 0; band < 4; band++ {
			wc := 4*ch + band
			lvl := (i - 1) * 4 * p.c
			yb := s.y[i-1][band*plane : (band+1)*plane]
			dwConv2d(yb, s.t[i-1][band*plane:(band+1)*plane], p.wav[(lvl+wc)*kk:(lvl+wc+1)*kk], geo, 0, &s.dw)
			sc := p.wscale[lvl+wc]
			for j := range yb {
				yb[j] *= sc
			}
		}
		cur, ch0, cw0 = s.t[i-1][:plane], hh, ww
	}
	// Synthesis from the coarsest level up; z holds Z_{i+1} of size X_i.
	haveZ := false
	for i := p.levels; i >= 1; i-- {
		hh, ww := s.hs[i], s.wsz[i]
		plane := hh * ww
		y := s.y[i-1]
		if haveZ {
			ll := y[:plane]
			for j, v := range s.z[:plane] {
				ll[j] += v
			}
		}
		if p.bank.haar {
			haarSynthesis(s.zn, y, hh, ww, s.hs[i-1], s.wsz[i-1])
		} else {
			bankSynthesis(s.zn, y, hh, ww, s.hs[i-1], s.wsz[i-1], p.bank)
		}
		s.z, s.zn = s.zn, s.z
		haveZ = true
	}
	// Base branch with the stride applied directly, plus Z_1 subsampled.
	st := p.stride
	oh, ow := (p.h+st-1)/st, (p.w+st-1)/st
	bpad, kbb := (p.kb-1)/2, p.kb*p.kb
	geo := &geom2d{h: p.h, w: p.w, kh: p.kb, kw: p.kb, sh: st, sw: st, dh: 1, dw: 1,
		pt: bpad, pl: bpad, pb: p.kb - 1 - bpad, pr: p.kb - 1 - bpad, oh: oh, ow: ow}
	var bias float32
	if p.bias != nil {
		bias = p.bias[ch]
	}
	dwConv2d(dst, src, p.base[ch*kbb:(ch+1)*kbb], geo, bias, &s.dw)
	sc := p.scale[ch]
	for oy := 0; oy < oh; oy++ {
		row := dst[oy*ow : (oy+1)*ow]
		if !haveZ {
			for j := range row {
				row[j] *= sc
			}
			continue
		}
		zrow := s.z[oy*st*p.w:]
		for j := range row {
			row[j] = row[j]*sc + zrow[j*st]
		}
	}
}

// haarAnalysis writes the four bands (each hh x ww) of src (h x w, zero
// padded to even size) into t, band-major.
func haarAnalysis(t, src []float32, h, w, hh, ww int) {
	plane := hh * ww
	b0, b1, b2, b3 := t[:plane], t[plane:2*plane], t[2*plane:3*plane], t[3*plane:4*plane]
	for y := 0; y < hh; y++ {
		r0 := src[2*y*w : 2*y*w+w]
		var r1 []float32
		if 2*y+1 < h {
			r1 = src[(2*y+1)*w : (2*y+2)*w]
		}
		for x := 0; x < ww; x++ {
			var a, b, c, d float32
			a = r0[2*x]
			if 2*x+1 < w {
				b = r0[2*x+1]
			}
			if r1 != nil {
				c = r1[2*x]
				if 2*x+1 < w {
					d = r1[2*x+1]
				}
			}
			o := y*ww + x
			b0[o] = (a + b + c + d) / 2
			b1[o] = (a + b - c - d) / 2
			b2[o] = (a - b + c - d) / 2
			b3[o] = (a - b - c + d) / 2
		}
	}
}

// haarSynthesis inverts the transform of the four bands in y (each hh x ww)
// into dst, cropped to h x w.
func haarSynthesis(dst, y []float32, hh, ww, h, w int) {
	plane := hh * ww
	b0, b1, b2, b3 := y[:plane], y[plane:2*plane], y[2*plane:3*plane], y[3*plane:4*plane]
	for yy := 0; yy < hh; yy++ {
		top := dst[2*yy*w : 2*yy*w+w]
		var bot []float32
		if 2*yy+1 < h {
			bot = dst[(2*yy+1)*w : (2*yy+2)*w]
		}
		for xx := 0; xx < ww; xx++ {
			o := yy*ww + xx
			ll, v1, v2, v3 := b0[o], b1[o], b2[o], b3[o]
			top[2*xx] = (ll + v1 + v2 + v3) / 2
			if 2*xx+1 < w {
				top[2*xx+1] = (ll + v1 - v2 - v3) / 2
			}
			if bot != nil {
				bot[2*xx] = (ll - v1 + v2 - v3) / 2
				if 2*xx+1 < w {
					bot[2*xx+1] = (ll - v1 - v2 + v3) / 2
				}
			}
		}
	}
}

// bankAnalysis is one analysis level of an n-tap wavelet: src (h x w) is
// zero-padded by one row/column at the end when odd and by pad on every
// side, then each band is the stride-2 cross-correlation with its separable
// filter (band 0 lo x lo, 1 hi (rows) x lo (columns), 2 lo x hi, 3 hi x hi);
// the bands (each hh x ww) go to t, band-major.
func bankAnalysis(t, src []float32, h, w, hh, ww int, f *filterBank) {
	plane := hh * ww
	n := len(f.lo)
	for y := 0; y < hh; y++ {
		for x := 0; x < ww; x++ {
			var b0, b1, b2, b3 float32
			for i := 0; i < n; i++ {
				r := 2*y + i - f.pad
				if r < 0 || r >= h {
					continue
				}
				row := src[r*w : (r+1)*w]
				var sl, sh float32
				for j := 0; j < n; j++ {
					c := 2*x + j - f.pad
					if c < 0 || c >= w {
						continue
					}
					sl += f.lo[j] * row[c]
					sh += f.hi[j] * row[c]
				}
				b0 += f.lo[i] * sl
				b1 += f.hi[i] * sl
				b2 += f.lo[i] * sh
				b3 += f.hi[i] * sh
			}
			o := y*ww + x
			t[o], t[plane+o], t[2*plane+o], t[3*plane+o] = b0, b1, b2, b3
		}
	}
}

// bankSynthesis is the transposed convolution of the four bands in y (each
// hh x ww) with an n-tap wavelet's synthesis filters, stride 2 and pad on
// every side, cropped to h x w, into dst.
func bankSynthesis(dst, y []float32, hh, ww, h, w int, f *filterBank) {
	clear(dst[:h*w])
	plane := hh * ww
	n := len(f.rlo)
	for yy := 0; yy < hh; yy++ {
		for xx := 0; xx < ww; xx++ {
			o := yy*ww + xx
			v0, v1, v2, v3 := y[o], y[plane+o], y[2*plane+o], y[3*plane+o]
			for i := 0; i < n; i++ {
				oy := 2*yy + i - f.pad
				if oy < 0 || oy >= h {
					continue
				}
				a := f.rlo[i]*v0 + f.rhi[i]*v1
				b := f.rlo[i]*v2 + f.rhi[i]*v3
				row := dst[oy*w : (oy+1)*w]
				for j := 0; j < n; j++ {
					ox := 2*xx + j - f.pad
					if ox < 0 || ox >= w {
						continue
					}
					row[ox] += f.rlo[j]*a + f.rhi[j]*b
				}
			}
		}
	}
}
