//go:build race

package verify_test

// raceEnabled: the race detector slows the pure-Go engine about tenfold, so
// the heaviest tests keep to ONNX Runtime under it.
const raceEnabled = true
