// Package erf computes and draws the impulse responses of WTConv layers: the
// picture of how far one input pixel reaches, which is what WTConv buys.
//
// A WTConv layer is linear, so its response to a unit impulse at input
// position p is its effective kernel there (the column of the layer's
// operator, read as offsets d = y - p from the impulse). It is not
// shift-invariant: the response depends on p modulo 2^L, because the wavelet
// levels see the input in aligned 2^l x 2^l blocks. As an effective
// receptive-field plot does, Compute therefore averages the magnitude
// |response| over impulse positions covering every residue modulo 2^L (or an
// even sub-grid of them, see Options.MaxPositions).
//
// The responses are computed by wtconv.Forward, the project's reference
// forward, without the base bias (a constant, not part of the response), on
// one channel: the layer is depthwise, so each channel is a
// separate filter. The default channel is the one whose wavelet branch is
// strongest (largest sum of squared scaled wavelet-domain weights), so that
// a layer fresh from a zero-initialised conversion (whose wavelet branch is
// exactly zero) shows channel 0's base kernel. The stride is left out: the
// picture is at input resolution, before subsampling.
package erf

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/wtonnx/wtonnx/wtconv"
	"github.com/wtonnx/wtonnx/wtconvgraph"
)

// DefaultMaxPositions bounds how many impulse positions are averaged.
const DefaultMaxPositions = 64

// MaxSize bounds the input size an impulse is run on.
const MaxSize = 2048

// Options control Compute.
type Options struct {
	// Channel is the channel pictured; -1 picks the channel whose wavelet
	// branch is strongest.
	Channel int
	// Size is the side of the square input the impulses run on; 0 picks the
	// smallest that holds every response whole (no border clipping). A
	// smaller size (the layer's own feature-map size, say) shows the
	// response clipped by the zero padding at the border.
	Size int
	// MaxPositions caps the impulse positions averaged: all 4^L residues
	// modulo 2^L when 4^L fits, else an even m x m sub-grid of them (m the
	// largest power of two with m*m <= MaxPositions). 0 means
	// DefaultMaxPositions.
	MaxPositions int
	// Threads bounds the goroutines; 0 means GOMAXPROCS.
	Threads int
}

// Map is an averaged impulse response on a square grid of offsets.
type Map struct {
	Name    string `json:"name"`
	Channel int    `json:"channel"`
	Levels  int    `json:"levels"`
	Kernel  int    `json:"kernel"`      // wavelet-domain kernel k
	Base    int    `json:"base_kernel"` // base kernel (the larger axis)
	Size    int    `json:"size"`        // input side the impulses ran on
	// Positions are the impulse positions [y, x] averaged over.
	Positions [][2]int `json:"positions"`
	// Lo and Hi bound the offsets d = y - p shown on both axes, inclusive.
	Lo int `json:"lo"`
	Hi int `json:"hi"`
	// Values holds mean |response| at offset (Lo+i, Lo+j) in Values[i*n+j],
	// n = Hi-Lo+1, rows (i) vertical.
	Values []float64 `json:"values"`
	// NonZero is the bounding box of the non-zero values as offsets:
	// [minY, maxY, minX, maxX]; all zero when the response is zero.
	NonZero [4]int `json:"nonzero"`
	// Support is the theoretical extent of the averaged response per axis,
	// [lo, hi] (wtconv.Layer.ImpulseSupport over the residues averaged),
	// and ReceptiveField the layer's theoretical receptive field.
	Support        [2]int `json:"support"`
	ReceptiveField int    `json:"receptive_field"`
}

// N is the side of the offset grid.
func (m *Map) N() int { return m.Hi - m.Lo + 1 }

// At returns the value at offset (dy, dx), 0 outside the grid.
func (m *Map) At(dy, dx int) float64 {
	n := m.N()
	i, j := dy-m.Lo, dx-m.Lo
	if i < 0 || j < 0 || i >= n || j >= n {
		return 0
	}
	return m.Values[i*n+j]
}

// Max is the largest value.
func (m *Map) Max() float64 {
	mx := 0.0
	for _, v := range m.Values {
		mx = math.Max(mx, v)
	}
	return mx
}

// Extent is the side of the non-zero bounding box along the larger axis
// (0 for a zero response).
func (m *Map) Extent() int {
	if m.Max() == 0 {
		return 0
	}
	return max(m.NonZero[1]-m.NonZero[0], m.NonZero[3]-m.NonZero[2]) + 1
}

// StrongestChannel is the channel whose wavelet branch has the largest sum
// of squared scaled weights (0 when the branch is zero everywhere).
func StrongestChannel(l wtconv.Layer, wt *wtconv.Weights) int {
	best, bestE := 0, 0.0
	kk := l.Kernel * l.Kernel
	for c := 0; c < l.Channels; c++ {
		e := 0.0
		for i := range wt.Wavelet {
			for b := 4 * c; b < 4*c+4; b++ {
				s := float64(wt.WaveletScale[i][b])
				for _, v := range wt.Wavelet[i][b*kk : (b+1)*kk] {
					e += s * s * float64(v) * float64(v)
				}
			}
		}
		if e > bestE {
			best, bestE = c, e
		}
	}
	return best
}

// ForLayer computes the averaged impulse response of one channel of a layer
// recovered from a model.
func ForLayer(ctx context.Context, gl *wtconvgraph.Layer, opts Options) (*Map, error) {
	el, ew := gl.Embedded()
	c := opts.Channel
	if c < 0 {
		c = StrongestChannel(el, ew)
	}
	one, wt, err := gl.Channel(c)
	if err != nil {
		return nil, err
	}
	m, err := Compute(ctx, one, wt, gl.Layer.Kernel, max(gl.BaseKernel[0], gl.BaseKernel[1]), opts)
	if err != nil {
		return nil, fmt.Errorf("layer %q: %w", gl.Name, err)
	}
	m.Name, m.Channel, m.Kernel = gl.Name, c, gl.Layer.Kernel
	return m, nil
}

// ForDepthwise computes the impulse response of channel c of a plain
// depthwise conv with a same-padded kh x kw kernel (weight C x 1 x kh x kw,
// row-major): the kernel itself, flipped, since a depthwise conv is
// shift-invariant.
func ForDepthwise(ctx context.Context, name string, weight []float32, channels, kh, kw, c int, opts Options) (*Map, error) {
	if channels < 1 || kh < 1 || kw < 1 || len(weight) != channels*kh*kw {
		return nil, fmt.Errorf("depthwise conv %q: weight has %d values, want %d x 1 x %d x %d", name, len(weight), channels, kh, kw)
	}
	if c < 0 || c >= channels {
		return nil, fmt.Errorf("depthwise conv %q: channel %d out of range (it has %d)", name, c, channels)
	}
	gl := &wtconvgraph.Layer{
		Name:       name,
		Layer:      wtconv.Layer{Channels: 1, Kernel: max(kh, kw), Levels: 0, Stride: 1},
		BaseKernel: [2]int{kh, kw},
		Weights: &wtconv.Weights{
			Base:      weight[c*kh*kw : (c+1)*kh*kw],
			BaseScale: []float32{1},
		},
	}
	opts.Channel = 0
	m, err := ForLayer(ctx, gl, opts)
	if err != nil {
		return nil, err
	}
	m.Channel = c
	return m, nil
}

// support is the union of ImpulseSupport over residues 0..s-1.
func support(l wtconv.Layer, kb int) (lo, hi int) {
	lo, hi = math.MaxInt, math.MinInt
	for r := 0; r < 1<<l.Levels; r++ {
		a, b := l.ImpulseSupport(r, kb)
		lo, hi = min(lo, a), max(hi, b)
	}
	return lo, hi
}

// Compute averages |response| of a one-channel layer (weights in wtconv's
// layout, one kernel size l.Kernel for base and wavelet convs, as
// wtconvgraph.Layer.Embedded gives) over unit impulses. waveletKernel and
// baseKernel are the real sizes of the wavelet-domain and base kernels
// before embedding (each at most l.Kernel); they give the theoretical
// support.
func Compute(ctx context.Context, l wtconv.Layer, wt *wtconv.Weights, waveletKernel, baseKernel int, opts Options) (*Map, error) {
	if l.Channels != 1 {
		return nil, fmt.Errorf("erf: Compute takes a one-channel layer, got %d channels", l.Channels)
	}
	l.Stride = 1
	if err := wt.Check(l); err != nil {
		return nil, err
	}
	// The bias adds a constant everywhere; the impulse response is the
	// linear part's.
	if l.Bias {
		l.Bias = false
		cp := *wt
		cp.Bias = nil
		wt = &cp
	}
	if baseKernel < 1 || baseKernel > l.Kernel || waveletKernel < 1 || waveletKernel > l.Kernel {
		return nil, fmt.Errorf("erf: base kernel %d and wavelet kernel %d must be between 1 and the layer's kernel %d", baseKernel, waveletKernel, l.Kernel)
	}
	s := 1 << l.Levels
	structure := l
	structure.Kernel = waveletKernel
	lo, hi := support(structure, baseKernel)
	// Residues: all of them, or an even sub-grid.
	maxPos := opts.MaxPositions
	if maxPos <= 0 {
		maxPos = DefaultMaxPositions
	}
	m := s
	for m*m > maxPos && m > 1 {
		m /= 2
	}
	step := s / m
	// Impulses at c0 + r; c0 a multiple of s.
	N := opts.Size
	var c0 int
	if N == 0 {
		c0 = s * ceilDiv(-lo, s)
		N = s * ceilDiv(c0+s+hi, s)
	} else {
		if N < 1 || N > MaxSize {
			return nil, fmt.Errorf("erf: size %d: want 1 to %d", N, MaxSize)
		}
		c0 = max(0, s*int(math.Round(float64(N/2-s/2)/float64(s))))
	}
	if N > MaxSize {
		return nil, fmt.Errorf("erf: the whole response needs a %dx%d input, above the limit %d; give a smaller size", N, N, MaxSize)
	}
	if err := l.CheckLevelsFit(N, N); err != nil {
		return nil, fmt.Errorf("erf: size %d: %w", N, err)
	}
	var pos [][2]int
	for ry := 0; ry < s; ry += step {
		for rx := 0; rx < s; rx += step {
			if c0+ry < N && c0+rx < N {
				pos = append(pos, [2]int{c0 + ry, c0 + rx})
			}
		}
	}
	// The grid shows the theoretical support plus a margin of 2 pixels.
	const margin = 2
	g := &Map{Levels: l.Levels, Kernel: waveletKernel, Base: baseKernel, Size: N, Positions: pos,
		Lo: lo - margin, Hi: hi + margin, ReceptiveField: structure.ReceptiveFieldWithBase(baseKernel)}
	slo, shi := math.MaxInt, math.MinInt
	for _, p := range pos {
		for _, r := range [2]int{p[0] - c0, p[1] - c0} {
			a, b := structure.ImpulseSupport(r, baseKernel)
			slo, shi = min(slo, a), max(shi, b)
		}
	}
	g.Support = [2]int{slo, shi}
	n := g.N()
	g.Values = make([]float64, n*n)

	threads := opts.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	threads = min(threads, len(pos))
	sums := make([][]float64, threads)
	errs := make([]error, threads)
	var wg sync.WaitGroup
	for t := 0; t < threads; t++ {
		wg.Add(1)
		go func(t int) {
			defer wg.Done()
			acc := make([]float64, n*n)
			x := make([]float32, N*N)
			for i := t; i < len(pos); i += threads {
				if err := ctx.Err(); err != nil {
					errs[t] = err
					return
				}
				p := pos[i]
				x[p[0]*N+p[1]] = 1
				y, _, _, err := wtconv.Forward(l, wt, x, 1, N, N)
				x[p[0]*N+p[1]] = 0
				if err != nil {
					errs[t] = err
					return
				}
				for a := 0; a < n; a++ {
					yy := p[0] + g.Lo + a
					if yy < 0 || yy >= N {
						continue
					}
					for b := 0; b < n; b++ {
						xx := p[1] + g.Lo + b
						if xx < 0 || xx >= N {
							continue
						}
						acc[a*n+b] += math.Abs(float64(y[yy*N+xx]))
					}
				}
			}
			sums[t] = acc
		}(t)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	for _, acc := range sums {
		for i, v := range acc {
			g.Values[i] += v
		}
	}
	nz := [4]int{math.MaxInt, math.MinInt, math.MaxInt, math.MinInt}
	for i, v := range g.Values {
		g.Values[i] = v / float64(len(pos))
		if v != 0 {
			dy, dx := g.Lo+i/n, g.Lo+i%n
			nz = [4]int{min(nz[0], dy), max(nz[1], dy), min(nz[2], dx), max(nz[3], dx)}
		}
	}
	if nz[0] == math.MaxInt {
		nz = [4]int{}
	}
	g.NonZero = nz
	return g, nil
}

func ceilDiv(a, b int) int {
	if a <= 0 {
		return 0
	}
	return (a + b - 1) / b
}
