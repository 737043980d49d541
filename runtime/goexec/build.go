package goexec

// Kernels names the matrix micro-kernel this process runs, e.g. "avx2 4x16"
// (vector build on a CPU with AVX2 and FMA), "scalar 4x16" (vector build on
// an older CPU) or "scalar 2x3" (portable build).
func Kernels() string { return gemmImpl() }
