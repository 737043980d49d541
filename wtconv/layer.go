package wtconv

import (
	"errors"
	"fmt"
)

// DefaultWavelet is the wavelet of the official module and of this project:
// Haar, which PyWavelets calls "db1".
const DefaultWavelet = "db1"

// Limits that keep every size and cost computation far from integer overflow.
const (
	MaxChannels    = 1 << 24
	MaxKernel      = 1 << 12
	MaxLevelsLimit = 30
	// autoLevelsCap is the largest level count AutoLevels proposes.
	autoLevelsCap = 5
)

// Layer describes one WTConv layer (see the spec's parameter table).
type Layer struct {
	Channels int // C: input = output channels (the layer is depthwise)
	// BaseKernel is the base conv's kernel size kb (kb x kb); 0 means Kernel.
	// A depthwise conv converted with its own weights keeps its kernel as the
	// base (ConvNeXt: a 7 x 7 base with 5 x 5 wavelet-domain convs).
	BaseKernel int
	Kernel     int    // k: kernel size of every wavelet-domain conv
	Levels     int    // L: wavelet levels; 0 is a plain depthwise conv
	Stride     int    // s: applied at the very end as subsampling out[:, :, ::s, ::s]
	Bias       bool   // whether the base conv has a bias
	Wavelet    string // wavelet name; "" means DefaultWavelet
}

// BaseKernelSize is the effective base kernel size kb (BaseKernel, or Kernel
// when BaseKernel is 0).
func (l Layer) BaseKernelSize() int {
	if l.BaseKernel == 0 {
		return l.Kernel
	}
	return l.BaseKernel
}

// WaveletName is the effective wavelet name ("" reads as DefaultWavelet).
func (l Layer) WaveletName() string {
	if l.Wavelet == "" {
		return DefaultWavelet
	}
	return l.Wavelet
}

// Validate reports the first thing wrong with the layer's parameters.
func (l Layer) Validate() error {
	switch {
	case l.Channels < 1:
		return fmt.Errorf("wtconv: channels must be >= 1, got %d", l.Channels)
	case l.Channels > MaxChannels:
		return fmt.Errorf("wtconv: channels %d exceed the supported maximum %d", l.Channels, MaxChannels)
	case l.Kernel < 1:
		return fmt.Errorf("wtconv: kernel size must be >= 1, got %d", l.Kernel)
	case l.Kernel > MaxKernel:
		return fmt.Errorf("wtconv: kernel size %d exceeds the supported maximum %d", l.Kernel, MaxKernel)
	case l.BaseKernel < 0:
		return fmt.Errorf("wtconv: base kernel size must be >= 1 (or 0 for the wavelet kernel's), got %d", l.BaseKernel)
	case l.BaseKernel > MaxKernel:
		return fmt.Errorf("wtconv: base kernel size %d exceeds the supported maximum %d", l.BaseKernel, MaxKernel)
	case l.Levels < 0:
		return fmt.Errorf("wtconv: levels must be >= 0, got %d", l.Levels)
	case l.Levels > MaxLevelsLimit:
		return fmt.Errorf("wtconv: levels %d exceed the supported maximum %d", l.Levels, MaxLevelsLimit)
	case l.Stride < 1:
		return fmt.Errorf("wtconv: stride must be >= 1, got %d", l.Stride)
	}
	if _, err := WaveletByName(l.WaveletName()); err != nil {
		return err
	}
	return nil
}

// Params is the number of trainable values:
// C*kb^2 (base) + C (bias, if any) + C (base scale) + L*(4C*k^2 + 4C).
// The fixed wavelet filters are not counted.
func (l Layer) Params() int64 {
	c, k, kb := int64(l.Channels), int64(l.Kernel), int64(l.BaseKernelSize())
	n := c*kb*kb + c
	if l.Bias {
		n += c
	}
	return n + int64(l.Levels)*(4*c*k*k+4*c)
}

// ReceptiveField is the theoretical extent, in input pixels per axis, of the
// set of inputs that one output pixel depends on: the larger of the base
// kernel kb and the wavelet branch's 2^L * k (kb alone when L = 0). A
// ConvNeXt 7 x 7 base with 5 x 5 wavelet convs and 5 levels has 160.
//
// Derivation (per axis, Haar): a level-l wavelet coefficient at position y
// is built from the aligned input block [2^l*y, 2^l*(y+1)) (each analysis
// step pairs two coefficients of the level above). The k-tap conv at level l
// therefore reads k neighbouring blocks, 2^l*k inputs, and synthesis maps an
// output pixel x back to the single level-l coefficient floor(x/2^l), so the
// level-l path covers exactly [2^l*(q-p), 2^l*(q-p+k)) with q = floor(x/2^l)
// and p = (k-1)/2. The base conv is the case l = 0. For l < L that window
// lies inside the level-L one (its start is >= 2^L*(q_L-p) and its end is
// smaller by at least (2^L-2^l)*(k-1-p) >= 0), so the union over all paths is
// the level-L window: 2^L*k pixels, independent of the output position.
// Zero padding at the image border clips it; the stride does not change it.
// The base window and the level-L one share no fixed alignment, so where kb
// is close to 2^L*k their union can be a few pixels wider; ImpulseSupport
// gives the exact extents. A wavelet with n > 2 taps widens every level's
// window by its filters' reach; like the paper, the figure ignores that.
func (l Layer) ReceptiveField() int {
	if l.Levels == 0 {
		return l.BaseKernelSize()
	}
	return max(l.BaseKernelSize(), (1<<l.Levels)*l.Kernel)
}

// ceilDiv is ceil(a/b) for a >= 0, b > 0.
func ceilDiv(a, b int) int { return (a + b - 1) / b }

// levelSize is the size of one axis at wavelet level l (level 0 = the input):
// each analysis step maps n to ceil(n/2), so level l has ceil(n/2^l).
func levelSize(n, l int) int { return ceilDiv(n, 1<<l) }

// AutoLevels proposes a level count for an H x W input: the largest L with
// ceil(H/2^L) >= 2 and ceil(W/2^L) >= 2 (the coarsest level still has at least
// 2 x 2 coefficients), capped at 5. It gives 5, 4, 3, 2 on 56, 28, 14, 7 (the
// stages of a ConvNeXt-T at 224 x 224) and 0 when H or W is below 2.
func AutoLevels(h, w int) int {
	l := 0
	for l < autoLevelsCap && levelSize(h, l+1) >= 2 && levelSize(w, l+1) >= 2 {
		l++
	}
	return l
}

// MaxLevels is the largest level count the size rule allows on an H x W
// input: every level's input must be at least 2 x 2, i.e.
// ceil(H/2^(L-1)) >= 2 and ceil(W/2^(L-1)) >= 2. It is 0 when H or W is below 2.
// The rule is a policy for choosing levels (convert applies it), not a limit
// of the computation: Forward, both engines and every form compute deeper
// levels as the authors' module does (a level's odd input padded to even).
func MaxLevels(h, w int) int {
	if h < 2 || w < 2 {
		return 0
	}
	l := 1
	for l < MaxLevelsLimit && levelSize(h, l) >= 2 && levelSize(w, l) >= 2 {
		l++
	}
	return l
}

// MinSize is the smallest input extent (per axis) that L levels accept:
// 2^(L-1)+1 pixels for L >= 1 (so that ceil(n/2^(L-1)) >= 2), 1 for L = 0.
func MinSize(levels int) int {
	if levels <= 0 {
		return 1
	}
	return 1<<(levels-1) + 1
}

// ErrLevelsTooDeep is wrapped by CheckLevelsFit's errors.
var ErrLevelsTooDeep = errors.New("too many wavelet levels for the input size")

// CheckLevelsFit reports whether an H x W input satisfies the size rule for the
// layer's level count (see MaxLevels).
func (l Layer) CheckLevelsFit(h, w int) error {
	if h < 1 || w < 1 {
		return fmt.Errorf("wtconv: input size %dx%d is empty", h, w)
	}
	if l.Levels == 0 {
		return nil
	}
	if levelSize(h, l.Levels-1) < 2 || levelSize(w, l.Levels-1) < 2 {
		m := MinSize(l.Levels)
		return fmt.Errorf("wtconv: %d levels need at least %dx%d pixels, got %dx%d (at most %d levels fit): %w",
			l.Levels, m, m, h, w, MaxLevels(h, w), ErrLevelsTooDeep)
	}
	return nil
}
