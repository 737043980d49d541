package wtconvgraph

import (
	"strconv"

	"github.com/wtonnx/wtonnx/wtconv"
)

// waveletOfSize is the Daubechies wavelet whose filters have n taps (db1 =
// Haar has 2, db2 has 4, ...): the only candidate for an n x n filter bank,
// which recognition then compares by value.
func waveletOfSize(n int) (wtconv.Wavelet, bool) {
	if n < 2 || n%2 != 0 {
		return wtconv.Wavelet{}, false
	}
	w, err := wtconv.WaveletByName("db" + strconv.Itoa(n/2))
	return w, err == nil
}
