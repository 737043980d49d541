package wtconv

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Weights are the trainable tensors of one layer, flattened row-major in the
// layouts of the fused operator (ai.wtonnx WTConv):
//
//	Base         C*kb*kb    base_conv.weight (C x 1 x kb x kb)
//	Bias         C or nil   base_conv.bias (nil when the layer has no bias)
//	BaseScale    C          base_scale.weight (1 x C x 1 x 1)
//	Wavelet      L x 4C*k*k wavelet_convs.{i}.weight (4C x 1 x k x k), channel 4c+band
//	WaveletScale L x 4C     wavelet_scale.{i}.weight (1 x 4C x 1 x 1)
type Weights struct {
	Base         []float32
	Bias         []float32
	BaseScale    []float32
	Wavelet      [][]float32
	WaveletScale [][]float32
}

// Check reports the first tensor whose size does not fit the layer, or that
// holds a NaN or an infinity, naming the tensor.
func (wt *Weights) Check(l Layer) error {
	if err := l.Validate(); err != nil {
		return err
	}
	if wt == nil {
		return fmt.Errorf("wtconv: weights are missing")
	}
	c, k, kb := l.Channels, l.Kernel, l.BaseKernelSize()
	check := func(name string, v []float32, want int, formula string) error {
		if len(v) != want {
			return fmt.Errorf("wtconv: weights: %s has %d values, want %s = %d (C=%d, kb=%d, k=%d)", name, len(v), formula, want, c, kb, k)
		}
		for i, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return fmt.Errorf("wtconv: weights: %s[%d] is %v", name, i, x)
			}
		}
		return nil
	}
	if err := check("base", wt.Base, c*kb*kb, "C*kb*kb"); err != nil {
		return err
	}
	if l.Bias {
		if err := check("bias", wt.Bias, c, "C"); err != nil {
			return err
		}
	} else if wt.Bias != nil {
		return fmt.Errorf("wtconv: weights: bias has %d values but the layer has no bias", len(wt.Bias))
	}
	if err := check("base_scale", wt.BaseScale, c, "C"); err != nil {
		return err
	}
	if len(wt.Wavelet) != l.Levels {
		return fmt.Errorf("wtconv: weights: wavelet convs for %d levels, the layer has %d", len(wt.Wavelet), l.Levels)
	}
	if len(wt.WaveletScale) != l.Levels {
		return fmt.Errorf("wtconv: weights: wavelet scales for %d levels, the layer has %d", len(wt.WaveletScale), l.Levels)
	}
	for i := 0; i < l.Levels; i++ {
		if err := check(fmt.Sprintf("wavelet[%d]", i), wt.Wavelet[i], 4*c*k*k, "4*C*k*k"); err != nil {
			return err
		}
		if err := check(fmt.Sprintf("wavelet_scale[%d]", i), wt.WaveletScale[i], 4*c, "4*C"); err != nil {
			return err
		}
	}
	return nil
}

// Clone returns a deep copy.
func (wt *Weights) Clone() *Weights {
	cp := func(s []float32) []float32 {
		if s == nil {
			return nil
		}
		return append([]float32(nil), s...)
	}
	out := &Weights{Base: cp(wt.Base), Bias: cp(wt.Bias), BaseScale: cp(wt.BaseScale)}
	for _, w := range wt.Wavelet {
		out.Wavelet = append(out.Wavelet, cp(w))
	}
	for _, s := range wt.WaveletScale {
		out.WaveletScale = append(out.WaveletScale, cp(s))
	}
	return out
}

// OfficialWaveletScale is the official module's initial wavelet scale.
const OfficialWaveletScale = 0.1

// fill returns n copies of v.
func fill(n int, v float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// baseWeights checks and copies an existing depthwise conv's kernel and bias
// into a fresh Weights with base scale 1.
func baseWeights(l Layer, base, bias []float32) (*Weights, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	c, kb := l.Channels, l.BaseKernelSize()
	if len(base) != c*kb*kb {
		return nil, fmt.Errorf("wtconv: base kernel has %d values, want C*kb*kb = %d (C=%d, kb=%d)", len(base), c*kb*kb, c, kb)
	}
	wt := &Weights{Base: append([]float32(nil), base...), BaseScale: fill(c, 1)}
	switch {
	case l.Bias && bias == nil:
		wt.Bias = make([]float32, c) // a conv without bias: a zero bias is exact
	case l.Bias:
		if len(bias) != c {
			return nil, fmt.Errorf("wtconv: bias has %d values, want C = %d", len(bias), c)
		}
		wt.Bias = append([]float32(nil), bias...)
	case bias != nil:
		return nil, fmt.Errorf("wtconv: a bias of %d values was given but the layer has no bias", len(bias))
	}
	return wt, nil
}

// PreserveWeights turns an existing depthwise conv (kernel base, C*kb*kb, and
// bias, C values or nil) into WTConv weights that compute exactly the original
// conv: the base branch is the conv (base scale 1) and every wavelet-domain
// kernel is zero, so the wavelet branch adds exactly 0.
//
// The wavelet scales are set to the official initial 0.1, not 0: with both
// the kernels and the scales at zero every gradient of the wavelet branch
// would vanish and fine-tuning could never move it; a zero kernel with a
// non-zero scale keeps the output exact and the branch trainable.
// A nil bias on a layer with bias becomes zeros.
func PreserveWeights(l Layer, base, bias []float32) (*Weights, error) {
	wt, err := baseWeights(l, base, bias)
	if err != nil {
		return nil, err
	}
	c, k := l.Channels, l.Kernel
	for i := 0; i < l.Levels; i++ {
		wt.Wavelet = append(wt.Wavelet, make([]float32, 4*c*k*k))
		wt.WaveletScale = append(wt.WaveletScale, fill(4*c, OfficialWaveletScale))
	}
	return wt, nil
}

// RandomWeights keeps the given base conv (as PreserveWeights does) and
// initialises the wavelet branch like the official module: kernels drawn as
// PyTorch's default Conv2d init (kaiming_uniform with a = sqrt(5), i.e.
// uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = k*k for a depthwise
// conv), wavelet scales 0.1, base scale 1. The draw is deterministic for a
// seed (a PCG source seeded with it; no global generator), level by level,
// channel by channel.
func RandomWeights(l Layer, base, bias []float32, seed uint64) (*Weights, error) {
	wt, err := baseWeights(l, base, bias)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x5754436f6e76)) // "WTConv"
	c, k := l.Channels, l.Kernel
	bound := 1 / math.Sqrt(float64(k*k))
	for i := 0; i < l.Levels; i++ {
		w := make([]float32, 4*c*k*k)
		for j := range w {
			w[j] = float32((2*rng.Float64() - 1) * bound)
		}
		wt.Wavelet = append(wt.Wavelet, w)
		wt.WaveletScale = append(wt.WaveletScale, fill(4*c, OfficialWaveletScale))
	}
	return wt, nil
}
