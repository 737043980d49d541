package wtconvgraph

import "github.com/wtonnx/wtonnx/wtconv"

// db2 holds PyWavelets' Daubechies-2 coefficients (the spec's "Other
// wavelets" table), used while wtconv does not know db2 itself: a db2 layer
// must be recognised as db2 and refused by name where a form cannot carry
// it, never read as Haar.
var db2DecLo = []float64{-0.12940952255126037, 0.2241438680420134, 0.8365163037378079, 0.48296291314453416}
var db2DecHi = []float64{-0.48296291314453416, 0.8365163037378079, -0.2241438680420134, -0.12940952255126037}

// knownWavelets are the wavelets whose filter banks recognition compares
// against: every db-N that wtconv knows, db2 from the spec otherwise.
func knownWavelets() []wtconv.Wavelet {
	var out []wtconv.Wavelet
	for _, name := range []string{"db1", "db2", "db3", "db4", "db5", "db6", "db7", "db8"} {
		if w, err := wtconv.WaveletByName(name); err == nil {
			out = append(out, w)
			continue
		}
		if name == "db2" {
			rev := func(s []float64) []float64 {
				r := make([]float64, len(s))
				for i, v := range s {
					r[len(s)-1-i] = v
				}
				return r
			}
			if w, err := wtconv.NewWavelet("db2", db2DecLo, db2DecHi, rev(db2DecLo), rev(db2DecHi)); err == nil {
				out = append(out, w)
			}
		}
	}
	return out
}
