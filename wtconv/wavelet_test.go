package wtconv

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestHaarFiltersMatchSpec compares the filters built from the 1-D
// coefficients with the spec's four 2x2 filters, band by band.
func TestHaarFiltersMatchSpec(t *testing.T) {
	want := [4][4]float32{
		{1, 1, 1, 1},   // LL
		{1, 1, -1, -1}, // band 1
		{1, -1, 1, -1}, // band 2
		{1, -1, -1, 1}, // band 3
	}
	for _, name := range []string{"db1", "haar"} {
		w, err := WaveletByName(name)
		if err != nil {
			t.Fatal(err)
		}
		if kh, kw := w.FilterSize(); kh != 2 || kw != 2 || w.Pad() != 0 {
			t.Fatalf("%s: filter %dx%d pad %d, want 2x2 pad 0", name, kh, kw, w.Pad())
		}
		for fname, f := range map[string][]float32{"analysis": w.AnalysisFilters(), "synthesis": w.SynthesisFilters()} {
			if len(f) != 16 {
				t.Fatalf("%s %s: %d values, want 16", name, fname, len(f))
			}
			for b := 0; b < 4; b++ {
				for i := 0; i < 4; i++ {
					if got := f[4*b+i]; math.Abs(float64(got-want[b][i]/2)) > 1e-7 {
						t.Errorf("%s %s band %d element %d = %v, want %v", name, fname, b, i, got, want[b][i]/2)
					}
				}
			}
		}
	}
	// The tiled weight puts band b of channel c in row 4c+b.
	aw := Haar().AnalysisWeight(3)
	for c := 0; c < 3; c++ {
		for b := 0; b < 4; b++ {
			for i := 0; i < 4; i++ {
				if aw[(4*c+b)*4+i] != want[b][i]/2 {
					t.Fatalf("AnalysisWeight row %d element %d = %v", 4*c+b, i, aw[(4*c+b)*4+i])
				}
			}
		}
	}
}

// TestAnalysisFormulas checks one analysis step against the spec's per-pixel
// formulas, including the zero padding of odd sizes.
func TestAnalysisFormulas(t *testing.T) {
	w := Haar()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sz := range [][2]int{{4, 6}, {5, 3}, {1, 2}, {7, 7}} {
		in := newPlane(sz[0], sz[1])
		for i := range in.v {
			in.v[i] = rng.NormFloat64()
		}
		bands := analysis(in, w.analysis64(), 2, 0)
		for y := 0; y < bands[0].h; y++ {
			for x := 0; x < bands[0].w; x++ {
				a, b, c, d := in.at(2*y, 2*x), in.at(2*y, 2*x+1), in.at(2*y+1, 2*x), in.at(2*y+1, 2*x+1)
				want := [4]float64{(a + b + c + d) / 2, (a + b - c - d) / 2, (a - b + c - d) / 2, (a - b - c + d) / 2}
				for k := 0; k < 4; k++ {
					if got := bands[k].v[y*bands[k].w+x]; math.Abs(got-want[k]) > 1e-12 {
						t.Fatalf("%v band %d at (%d,%d) = %v, want %v", sz, k, y, x, got, want[k])
					}
				}
			}
		}
		if bands[0].h != (sz[0]+1)/2 || bands[0].w != (sz[1]+1)/2 {
			t.Fatalf("%v: bands are %dx%d", sz, bands[0].h, bands[0].w)
		}
		// Synthesis inverts analysis exactly (orthonormal basis), then crops.
		back := synthesis(bands, w.synthesis64(), 2, 0, in.h, in.w)
		for i := range in.v {
			if math.Abs(back.v[i]-in.v[i]) > 1e-12 {
				t.Fatalf("%v: synthesis(analysis(x)) differs at %d: %v vs %v", sz, i, back.v[i], in.v[i])
			}
		}
	}
}

func TestNewWavelet(t *testing.T) {
	r := 1 / math.Sqrt2
	w, err := NewWavelet("mine", []float64{r, r}, []float64{-r, r}, []float64{r, r}, []float64{r, -r})
	if err != nil {
		t.Fatal(err)
	}
	h := Haar()
	for i, v := range w.AnalysisFilters() {
		if v != h.AnalysisFilters()[i] {
			t.Fatal("coefficients equal to Haar's must give Haar's filters")
		}
	}
	for _, tc := range []struct {
		name                       string
		decLo, decHi, recLo, recHi []float64
		want                       string
	}{
		{"odd", []float64{1, 2, 3}, []float64{1, 2, 3}, []float64{1, 2, 3}, []float64{1, 2, 3}, "even"},
		{"empty", nil, nil, nil, nil, "even"},
		{"mismatch", []float64{1, 2}, []float64{1, 2, 3, 4}, []float64{1, 2}, []float64{1, 2}, "dec_hi has 4"},
		{"nan", []float64{1, 2}, []float64{1, 2}, []float64{1, math.NaN()}, []float64{1, 2}, "rec_lo has a non-finite"},
	} {
		_, err := NewWavelet(tc.name, tc.decLo, tc.decHi, tc.recLo, tc.recHi)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := WaveletByName("sym2"); err == nil || !strings.Contains(err.Error(), `"sym2"`) {
		t.Errorf("WaveletByName(sym2) = %v", err)
	}
}
