package wtconv

// A depthwise conv converted with its own weights keeps its kernel as the
// base branch (a ConvNeXt 7 x 7 base with 5 x 5 wavelet-domain kernels), so
// the cost model below takes the base kernel size separately. With
// kh = kw = k they agree with Params, FLOPs (stride 1) and ReceptiveField.

// ParamsWithBase is Params for a base kernel of kh x kw:
// C*kh*kw (base) + C (bias, if any) + C (base scale) + L*(4C*k^2 + 4C).
func (l Layer) ParamsWithBase(kh, kw int) int64 {
	c, k := int64(l.Channels), int64(l.Kernel)
	n := c*int64(kh)*int64(kw) + c
	if l.Bias {
		n += c
	}
	return n + int64(l.Levels)*(4*c*k*k+4*c)
}

// FLOPsWithBase is FLOPs with a kh x kw base conv that computes only the
// ceil(H/s) x ceil(W/s) outputs it keeps (the base conv of a converted graph
// carries the stride, so its cost is DepthwiseFLOPs with strides s); the
// wavelet branch runs at full resolution as in FLOPs.
func (l Layer) FLOPsWithBase(h, w, kh, kw int) Cost {
	c := l.FLOPs(h, w)
	if c.Total == 0 {
		return c
	}
	c.Base = DepthwiseFLOPs(l.Channels, h, w, kh, kw, l.Stride, l.Stride)
	c.Convs = c.Base + c.Wavelet
	c.Total = c.Convs + c.Transforms
	return c
}

// ReceptiveFieldWithBase is the theoretical receptive field per axis with a
// base kernel of kb taps on that axis: the larger of the base kernel and the
// wavelet branch's 2^L*k (see ReceptiveField). The base window [x-(kb-1)/2,
// x+kb/2] and the level-L window share no fixed alignment, so where kb is
// close to 2^L*k their union can be a few pixels wider; ImpulseSupport gives
// the exact extents.
func (l Layer) ReceptiveFieldWithBase(kb int) int {
	return max(kb, l.ReceptiveField())
}

// ImpulseSupport is the exact set of output offsets d = y - p (per axis) at
// which a unit impulse at input position p can reach the output, for an
// impulse at p = 2^L*P + r (r is the position modulo 2^L, 0 <= r < 2^L),
// with a base kernel of kb taps, far from the image border and before the
// stride. It returns the inclusive range [lo, hi].
//
// The wavelet branch at level L reaches outputs y whose level-L coefficient
// q = floor(y/2^L) reads p's block, i.e. q in [P+p0-k+1, P+p0] with
// p0 = (k-1)/2, which gives d in [2^L*(p0-k+1) - r, 2^L*(p0+1) - 1 - r], a
// range of exactly 2^L*k outputs; the levels l < L reach subsets of it (see
// ReceptiveField). The base conv reaches d in [(kb-1)/2-kb+1, (kb-1)/2].
// L = 0 is the base conv alone.
func (l Layer) ImpulseSupport(r, kb int) (lo, hi int) {
	pb := (kb - 1) / 2
	lo, hi = pb-kb+1, pb
	if l.Levels == 0 {
		return lo, hi
	}
	s := 1 << l.Levels
	p0 := (l.Kernel - 1) / 2
	return min(lo, s*(p0-l.Kernel+1)-r), max(hi, s*(p0+1)-1-r)
}
