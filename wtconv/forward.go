package wtconv

import (
	"fmt"
)

// plane is one channel of one image in float64.
type plane struct {
	h, w int
	v    []float64
}

func newPlane(h, w int) plane { return plane{h: h, w: w, v: make([]float64, h*w)} }

func (p plane) at(y, x int) float64 {
	if y < 0 || y >= p.h || x < 0 || x >= p.w {
		return 0
	}
	return p.v[y*p.w+x]
}

// dwConvSame is the spec's DWConvSame on one channel: stride-1
// cross-correlation with a k x k kernel, zero padding (k-1)/2 before and the
// rest after, so the output has the input's size.
func dwConvSame(in plane, ker []float64, k int) plane {
	out := newPlane(in.h, in.w)
	p := (k - 1) / 2
	for y := 0; y < in.h; y++ {
		for x := 0; x < in.w; x++ {
			s := 0.0
			for i := 0; i < k; i++ {
				for j := 0; j < k; j++ {
					s += ker[i*k+j] * in.at(y+i-p, x+j-p)
				}
			}
			out.v[y*out.w+x] = s
		}
	}
	return out
}

// analysis is one level of the wavelet transform on one channel: the input
// is zero-padded to even size (bottom/right), then each band is a stride-2
// cross-correlation with its filter and padding pad on every side. The
// bands are ceil(h/2) x ceil(w/2).
func analysis(in plane, filters [4][]float64, f, pad int) [4]plane {
	hh, hw := ceilDiv(in.h, 2), ceilDiv(in.w, 2)
	var out [4]plane
	for b := range out {
		out[b] = newPlane(hh, hw)
		for y := 0; y < hh; y++ {
			for x := 0; x < hw; x++ {
				s := 0.0
				for i := 0; i < f; i++ {
					for j := 0; j < f; j++ {
						// rows/cols beyond in.h/in.w are the odd-size padding: zero
						s += filters[b][i*f+j] * in.at(2*y+i-pad, 2*x+j-pad)
					}
				}
				out[b].v[y*hw+x] = s
			}
		}
	}
	return out
}

// synthesis is the inverse of analysis: the stride-2 transposed convolution
// of the four bands with the synthesis filters and padding pad (output
// position 2y+i-pad receives filter[i] * band[y]), cropped to h x w.
func synthesis(bands [4]plane, filters [4][]float64, f, pad, h, w int) plane {
	out := newPlane(h, w)
	for b, band := range bands {
		for y := 0; y < band.h; y++ {
			for x := 0; x < band.w; x++ {
				v := band.v[y*band.w+x]
				for i := 0; i < f; i++ {
					oy := 2*y + i - pad
					if oy < 0 || oy >= h {
						continue
					}
					for j := 0; j < f; j++ {
						ox := 2*x + j - pad
						if ox < 0 || ox >= w {
							continue
						}
						out.v[oy*w+ox] += filters[b][i*f+j] * v
					}
				}
			}
		}
	}
	return out
}

func to64(s []float32) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = float64(v)
	}
	return out
}

// OutputSize is the output size of the layer on an H x W input:
// ceil(H/s) x ceil(W/s).
func (l Layer) OutputSize(h, w int) (outH, outW int) {
	s := max(l.Stride, 1)
	return ceilDiv(h, s), ceilDiv(w, s)
}

// Forward runs the layer on x (N x C x H x W, row-major) exactly as the spec
// writes it, accumulating in float64, and returns the N x C x outH x outW
// output (outH = ceil(H/s), outW = ceil(W/s)). It is the reference
// implementation: straightforward loops, one channel at a time, no attempt at
// speed.
func Forward(l Layer, wt *Weights, x []float32, n, h, w int) (out []float32, outH, outW int, err error) {
	if err := wt.Check(l); err != nil {
		return nil, 0, 0, err
	}
	if n < 1 {
		return nil, 0, 0, fmt.Errorf("wtconv: batch size must be >= 1, got %d", n)
	}
	if h < 1 || w < 1 {
		return nil, 0, 0, fmt.Errorf("wtconv: input size %dx%d is empty", h, w)
	}
	// Levels whose input is below 2 x 2 are computed as the authors' module
	// computes them (pad to even, transform): no size rule here.
	c, k, kb := l.Channels, l.Kernel, l.BaseKernelSize()
	if int64(n)*int64(c)*int64(h)*int64(w) > 1<<31 {
		return nil, 0, 0, fmt.Errorf("wtconv: input %dx%dx%dx%d is too large for the reference forward", n, c, h, w)
	}
	if len(x) != n*c*h*w {
		return nil, 0, 0, fmt.Errorf("wtconv: input has %d values, want N*C*H*W = %d*%d*%d*%d = %d", len(x), n, c, h, w, n*c*h*w)
	}
	wav, err := WaveletByName(l.WaveletName())
	if err != nil {
		return nil, 0, 0, err
	}
	an, sy := wav.analysis64(), wav.synthesis64()
	f, _ := wav.FilterSize()
	pad := wav.Pad()

	base := to64(wt.Base)
	wconv := make([][]float64, l.Levels)
	for i := range wconv {
		wconv[i] = to64(wt.Wavelet[i])
	}
	s := l.Stride
	outH, outW = l.OutputSize(h, w)
	out = make([]float32, n*c*outH*outW)
	kk, kbb := k*k, kb*kb

	for img := 0; img < n; img++ {
		for ch := 0; ch < c; ch++ {
			x0 := newPlane(h, w)
			off := (img*c + ch) * h * w
			for i := range x0.v {
				x0.v[i] = float64(x[off+i])
			}
			// Down: T_i = analysis(X_{i-1}); Y_i = scale * conv(T_i); X_i = LL of T_i.
			ys := make([][4]plane, l.Levels)
			sizes := make([][2]int, l.Levels) // size of X_{i-1}
			cur := x0
			for i := 0; i < l.Levels; i++ {
				sizes[i] = [2]int{cur.h, cur.w}
				t := analysis(cur, an, f, pad)
				for b := 0; b < 4; b++ {
					row := 4*ch + b
					y := dwConvSame(t[b], wconv[i][row*kk:(row+1)*kk], k)
					sc := float64(wt.WaveletScale[i][row])
					for j := range y.v {
						y.v[j] *= sc
					}
					ys[i][b] = y
				}
				cur = t[0]
			}
			// Up: Z_i = crop(synthesis(Y_i with Z_{i+1} added to LL)).
			var z plane
			for i := l.Levels - 1; i >= 0; i-- {
				bands := ys[i]
				if i < l.Levels-1 {
					for j := range bands[0].v {
						bands[0].v[j] += z.v[j]
					}
				}
				z = synthesis(bands, sy, f, pad, sizes[i][0], sizes[i][1])
			}
			// out = base_scale * (conv(base, X) + bias) + Z_1, then subsample.
			bo := dwConvSame(x0, base[ch*kbb:(ch+1)*kbb], kb)
			bias := 0.0
			if wt.Bias != nil {
				bias = float64(wt.Bias[ch])
			}
			bs := float64(wt.BaseScale[ch])
			dst := out[(img*c+ch)*outH*outW:]
			for oy := 0; oy < outH; oy++ {
				for ox := 0; ox < outW; ox++ {
					y, xx := oy*s, ox*s
					v := bs * (bo.v[y*w+xx] + bias)
					if l.Levels > 0 {
						v += z.v[y*w+xx]
					}
					dst[oy*outW+ox] = float32(v)
				}
			}
		}
	}
	return out, outH, outW, nil
}
