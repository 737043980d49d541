package wtconvgraph

import "github.com/wtonnx/wtonnx/wtconv"

// fallbackDec holds PyWavelets 1.4's decomposition coefficients (dec_lo,
// dec_hi) of the Daubechies wavelets that wtconv may not know yet (the spec's
// "Other wavelets" table has db2; db3 and db4 are pywt.Wavelet's). A layer
// of one of them must be recognised as that wavelet, and refused by name
// where a form cannot carry it, never read as Haar or missed.
var fallbackDec = map[string][2][]float64{
	"db2": {
		{-0.12940952255126037, 0.2241438680420134, 0.8365163037378079, 0.48296291314453416},
		{-0.48296291314453416, 0.8365163037378079, -0.2241438680420134, -0.12940952255126037},
	},
	"db3": {
		{0.03522629188570953, -0.08544127388202666, -0.13501102001025458, 0.45987750211849154, 0.8068915093110925, 0.33267055295008263},
		{-0.33267055295008263, 0.8068915093110925, -0.45987750211849154, -0.13501102001025458, 0.08544127388202666, 0.03522629188570953},
	},
	"db4": {
		{-0.010597401785069032, 0.0328830116668852, 0.030841381835560764, -0.18703481171909309, -0.027983769416859854, 0.6308807679298589, 0.7148465705529157, 0.2303778133088965},
		{-0.2303778133088965, 0.7148465705529157, -0.6308807679298589, -0.027983769416859854, 0.18703481171909309, 0.030841381835560764, -0.0328830116668852, -0.010597401785069032},
	},
}

// knownWavelets are the wavelets whose filter banks recognition compares
// against: every db-N that wtconv knows, the fallback table's otherwise.
func knownWavelets() []wtconv.Wavelet {
	rev := func(s []float64) []float64 {
		r := make([]float64, len(s))
		for i, v := range s {
			r[len(s)-1-i] = v
		}
		return r
	}
	var out []wtconv.Wavelet
	for _, name := range []string{"db1", "db2", "db3", "db4", "db5", "db6", "db7", "db8"} {
		if w, err := wtconv.WaveletByName(name); err == nil {
			out = append(out, w)
			continue
		}
		if d, ok := fallbackDec[name]; ok {
			// PyWavelets: rec_lo is dec_lo reversed, rec_hi dec_hi reversed.
			if w, err := wtconv.NewWavelet(name, d[0], d[1], rev(d[0]), rev(d[1])); err == nil {
				out = append(out, w)
			}
		}
	}
	return out
}
