package wtconv

// Cost is the multiply-accumulate count ("FLOPs" in the paper's sense) of one
// layer on one image, split as in the paper.
type Cost struct {
	Base       int64 `json:"base"`       // base depthwise conv
	Wavelet    int64 `json:"wavelet"`    // the L wavelet-domain depthwise convs
	Convs      int64 `json:"convs"`      // Base + Wavelet
	Analysis   int64 `json:"analysis"`   // Haar analysis at every level
	Synthesis  int64 `json:"synthesis"`  // Haar synthesis at every level
	Transforms int64 `json:"transforms"` // Analysis + Synthesis
	Total      int64 `json:"total"`      // Convs + Transforms
}

// FLOPs is the cost of the layer on an H x W input by the paper's formulas:
// the base conv costs C*H*W*kb^2; at level l the wavelet conv costs
// 4C*(H/2^l)*(W/2^l)*k^2 and the analysis and the synthesis each cost
// 4C*(H/2^l)*(W/2^l)*f^2 with an f x f wavelet filter (f = 2 for Haar:
// a naive convolution). H/2^l is rounded up (ceil(H/2^l) is the real size of
// level l), which equals the paper's value whenever 2^L divides H and W.
// Everything is counted at full resolution because the stride is applied by
// subsampling at the end; bias and scale multiplications are not counted.
// An invalid layer or an empty input costs zero.
func (l Layer) FLOPs(h, w int) Cost {
	if l.Validate() != nil || h < 1 || w < 1 {
		return Cost{}
	}
	wav, _ := WaveletByName(l.WaveletName())
	fh, fw := wav.FilterSize()
	c, k, kb := int64(l.Channels), int64(l.Kernel), int64(l.BaseKernelSize())
	var cost Cost
	cost.Base = c * int64(h) * int64(w) * kb * kb
	for lv := 1; lv <= l.Levels; lv++ {
		area := int64(levelSize(h, lv)) * int64(levelSize(w, lv))
		cost.Wavelet += 4 * c * area * k * k
		cost.Analysis += 4 * c * area * int64(fh*fw)
		cost.Synthesis += 4 * c * area * int64(fh*fw)
	}
	cost.Convs = cost.Base + cost.Wavelet
	cost.Transforms = cost.Analysis + cost.Synthesis
	cost.Total = cost.Convs + cost.Transforms
	return cost
}

// DepthwiseFLOPs is the cost of a plain depthwise conv with c channels on an
// h x w input, a kh x kw kernel and strides sh, sw:
// C * N_W * N_H * K_W * K_H / (S_W * S_H), counted over the ceil(h/sh) x
// ceil(w/sw) output positions (the paper's value when the strides divide the
// size). Non-positive arguments give 0.
func DepthwiseFLOPs(c, h, w, kh, kw, sh, sw int) int64 {
	if c < 1 || h < 1 || w < 1 || kh < 1 || kw < 1 || sh < 1 || sw < 1 {
		return 0
	}
	return int64(c) * int64(ceilDiv(h, sh)) * int64(ceilDiv(w, sw)) * int64(kh) * int64(kw)
}
