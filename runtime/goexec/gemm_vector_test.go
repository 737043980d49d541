//go:build amd64 && !purego

package goexec

import "testing"

// TestSgemmAVX2 runs the GEMM checks through the assembly AVX2 halves of
// the micro tile on a CPU that would use the AVX-512 kernel (CPUs without
// AVX-512 run them in TestSgemm).
func TestSgemmAVX2(t *testing.T) {
	if !useAVX512 {
		t.Log("no AVX-512 here: TestSgemm already used the AVX2 kernel")
	}
	old := useAVX512
	useAVX512 = false
	defer func() { useAVX512 = old }()
	t.Log(gemmImpl())
	checkSgemm(t)
}
