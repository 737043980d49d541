package wtconv

import (
	"fmt"
	"math"
	"strings"
)

// Wavelet is an orthogonal wavelet given by its 1-D filter coefficients in
// PyWavelets' convention (pywt.Wavelet(name).dec_lo and friends). The 2-D
// filters are built the way the official module's create_wavelet_filter
// builds them (the spec's "Other wavelets"): n x n filters, analysis and
// synthesis padded by n/2 - 1 on every side.
type Wavelet struct {
	Name  string
	DecLo []float64 // decomposition low-pass
	DecHi []float64 // decomposition high-pass
	RecLo []float64 // reconstruction low-pass
	RecHi []float64 // reconstruction high-pass
}

// NewWavelet builds a wavelet from its coefficients; the four filters must
// share one even length >= 2 and be finite.
func NewWavelet(name string, decLo, decHi, recLo, recHi []float64) (Wavelet, error) {
	n := len(decLo)
	if n < 2 || n%2 != 0 {
		return Wavelet{}, fmt.Errorf("wtconv: wavelet %q: filter length must be even and >= 2, got %d", name, n)
	}
	for _, f := range []struct {
		name string
		c    []float64
	}{{"dec_lo", decLo}, {"dec_hi", decHi}, {"rec_lo", recLo}, {"rec_hi", recHi}} {
		if len(f.c) != n {
			return Wavelet{}, fmt.Errorf("wtconv: wavelet %q: %s has %d coefficients, dec_lo has %d", name, f.name, len(f.c), n)
		}
		for _, v := range f.c {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return Wavelet{}, fmt.Errorf("wtconv: wavelet %q: %s has a non-finite coefficient", name, f.name)
			}
		}
	}
	cp := func(s []float64) []float64 { return append([]float64(nil), s...) }
	return Wavelet{Name: name, DecLo: cp(decLo), DecHi: cp(decHi), RecLo: cp(recLo), RecHi: cp(recHi)}, nil
}

// Haar is the Haar wavelet (PyWavelets "db1", also "haar").
func Haar() Wavelet {
	w, _ := WaveletByName("db1")
	return w
}

// WaveletByName returns a supported wavelet: PyWavelets' Daubechies family
// db1 (alias "haar") through db38, with PyWavelets' coefficients
// (scripts/gen_wavelets.py). The authors' module accepts any PyWavelets
// name; the other families are not supported here and are refused by name.
func WaveletByName(name string) (Wavelet, error) {
	key := strings.ToLower(name)
	if key == "haar" {
		key = "db1"
	}
	c, ok := daubechies[key]
	if !ok {
		return Wavelet{}, fmt.Errorf("wtconv: unsupported wavelet %q (supported: db1 = haar through db38, PyWavelets' Daubechies family)", name)
	}
	return NewWavelet(key, c[0], c[1], reversed(c[0]), reversed(c[1]))
}

// CanonicalWaveletName is the name WaveletByName files a wavelet under
// ("haar" and "DB1" read as "db1"), or an error naming an unsupported one.
func CanonicalWaveletName(name string) (string, error) {
	w, err := WaveletByName(name)
	if err != nil {
		return "", err
	}
	return w.Name, nil
}

// IsHaar reports whether w is the Haar wavelet (db1), which engines compute
// with a dedicated 2 x 2 path.
func (w Wavelet) IsHaar() bool { return w.Name == "db1" }

// Taps is the length n of the 1-D filters (2 for Haar, 4 for db2).
func (w Wavelet) Taps() int { return len(w.DecLo) }

// FilterSize is the size of the 2-D filters (kh = kw = the 1-D length).
func (w Wavelet) FilterSize() (kh, kw int) { return len(w.DecLo), len(w.DecLo) }

// Pad is the padding on each side of the analysis conv and the synthesis
// transposed conv, as the official module uses it: f/2 - 1 (0 for Haar).
func (w Wavelet) Pad() int { return len(w.DecLo)/2 - 1 }

func reversed(s []float64) []float64 {
	r := make([]float64, len(s))
	for i, v := range s {
		r[len(s)-1-i] = v
	}
	return r
}

// bands2D returns the four f x f filters (float64, row-major) from the 1-D
// low-pass lo and high-pass hi, in the official band order:
// band 0 = lo (rows) x lo (cols), band 1 = hi x lo, band 2 = lo x hi,
// band 3 = hi x hi; filter[b][i*f+j] = row_b[i] * col_b[j].
func bands2D(lo, hi []float64) [4][]float64 {
	f := len(lo)
	pairs := [4][2][]float64{{lo, lo}, {hi, lo}, {lo, hi}, {hi, hi}}
	var out [4][]float64
	for b, p := range pairs {
		out[b] = make([]float64, f*f)
		for i := 0; i < f; i++ {
			for j := 0; j < f; j++ {
				out[b][i*f+j] = p[0][i] * p[1][j]
			}
		}
	}
	return out
}

// analysis64 are the analysis filters in float64: the reversed decomposition
// filters (the official module reverses them because conv2d is a
// cross-correlation).
func (w Wavelet) analysis64() [4][]float64 { return bands2D(reversed(w.DecLo), reversed(w.DecHi)) }

// synthesis64 are the synthesis filters in float64: the reconstruction
// filters as they are (the official module reverses and flips them back).
func (w Wavelet) synthesis64() [4][]float64 { return bands2D(w.RecLo, w.RecHi) }

func flatten32(b [4][]float64) []float32 {
	out := make([]float32, 0, 4*len(b[0]))
	for _, f := range b {
		for _, v := range f {
			out = append(out, float32(v))
		}
	}
	return out
}

// AnalysisFilters are the four 2-D analysis filters, 4 x kh x kw float32
// row-major, in the spec's band order (LL, band 1, band 2, band 3). For Haar:
// [[1,1],[1,1]]/2, [[1,1],[-1,-1]]/2, [[1,-1],[1,-1]]/2, [[1,-1],[-1,1]]/2.
// Used as a stride-2 grouped Conv (cross-correlation) with Pad() padding.
func (w Wavelet) AnalysisFilters() []float32 { return flatten32(w.analysis64()) }

// SynthesisFilters are the four 2-D synthesis filters in the same layout, used
// as a stride-2 grouped ConvTranspose with Pad() padding. For Haar they equal
// the analysis filters.
func (w Wavelet) SynthesisFilters() []float32 { return flatten32(w.synthesis64()) }

// tile repeats 4 filters c times: the 4C x 1 x kh x kw weight of a grouped
// conv, row 4c+band holding filter band.
func tile(f []float32, c int) []float32 {
	out := make([]float32, 0, c*len(f))
	for i := 0; i < c; i++ {
		out = append(out, f...)
	}
	return out
}

// AnalysisWeight is the full 4C x 1 x kh x kw analysis weight for c channels
// (the official module's wt_filter).
func (w Wavelet) AnalysisWeight(c int) []float32 { return tile(w.AnalysisFilters(), c) }

// SynthesisWeight is the full 4C x 1 x kh x kw synthesis weight for c channels
// (the official module's iwt_filter).
func (w Wavelet) SynthesisWeight(c int) []float32 { return tile(w.SynthesisFilters(), c) }
