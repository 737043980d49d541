//go:build race

package goexec

// raceDetector is true in -race builds, where the zoo networks (AlexNet's
// 38M-weight Gemm, Inception) take minutes; there the race-relevant kernels
// are covered by the operator tests and SqueezeNet.
const raceDetector = true
