//go:build goexperiment.simd && amd64

package goexec

// VectorKernels reports whether this binary was built with the vector
// (simd/archsimd, GOEXPERIMENT=simd) kernels; false means the portable ones.
// Whether they run also depends on the CPU: see Kernels.
const VectorKernels = true
