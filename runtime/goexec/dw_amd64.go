//go:build amd64 && !goexperiment.simd && !purego

package goexec

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// CPU features for the plain build's assembly (the GOEXPERIMENT=simd build
// reads them through archsimd in kernel_simd.go).
var (
	useAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	useAVX512 = useAVX2 && cpu.X86.HasAVX512F
)

// Depthwise micro-kernel block: dwRows output rows by dwCols columns (one
// AVX2 vector).
const (
	dwRows = 4
	dwCols = 8
)

// dwTapsAVX2 is dwTaps in assembly (AVX2/FMA): ntaps >= 1, and every load
// checked by the caller.
//
//go:noescape
func dwTapsAVX2(out *float32, ldo, owp, ohp int, q *float32, rowStep int, offs *int, ntaps int, k *float32, bias float32)

// dwTaps computes out[oy*ldo+ox] (oy < ohp, ox < owp) = bias + sum over
// taps t of k[t] * q[offs[t] + oy*rowStep + ox]; ohp and owp are multiples
// of the block.
func dwTaps(out []float32, ldo, owp, ohp int, q []float32, rowStep int, offs []int, k []float32, bias float32) {
	if !useAVX2 {
		dwTapsLoop(out, ldo, owp, ohp, q, rowStep, offs, k, bias)
		return
	}
	k = k[:len(offs)]
	if ohp == 0 || owp == 0 || len(offs) == 0 {
		dwTapsLoop(out, ldo, owp, ohp, q, rowStep, offs, k, bias)
		return
	}
	// The assembly loads without bounds checks.
	checkDwTaps(len(out), ldo, owp, ohp, len(q), rowStep, offs)
	dwTapsAVX2(unsafe.SliceData(out), ldo, owp, ohp, unsafe.SliceData(q), rowStep, unsafe.SliceData(offs), len(offs), unsafe.SliceData(k), bias)
}
