package goexec

import (
	"fmt"
	"math"
	"testing"

	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
)

// TestSgemm compares the packed GEMM with a naive triple loop on awkward
// sizes, transposed operands (through strides), alpha and accumulation.
func TestSgemm(t *testing.T) { checkSgemm(t) }

func checkSgemm(t *testing.T) {
	sizes := [][3]int{{1, 1, 1}, {3, 5, 7}, {4, 16, 1}, {17, 33, 300}, {97, 130, 257}, {200, 9, 600}, {1, 1000, 64}, {1, 37, 1285}}
	for _, sz := range sizes {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, threads := range []int{1, 3} {
					m, n, k := sz[0], sz[1], sz[2]
					name := fmt.Sprintf("%dx%dx%d/ta=%v/tb=%v/t%d", m, n, k, ta, tb, threads)
					a, b := randSlice(m*k, uint32(m+k)), randSlice(k*n, uint32(n*k+1))
					rsA, csA, rsB, csB := k, 1, n, 1
					if ta {
						rsA, csA = 1, m
					}
					if tb {
						rsB, csB = 1, k
					}
					c0 := randSlice(m*n, 9)
					c := append([]float32(nil), c0...)
					alpha := float32(0.5)
					tm := newTeam(threads)
					sgemm(tm, newScratchPool(), &gemmArgs{m: m, n: n, k: k, a: a, rsA: rsA, csA: csA, b: b, rsB: rsB, csB: csB, c: c, ldc: n, alpha: alpha, accumulate: true})
					tm.close()
					for i := 0; i < m; i++ {
						for j := 0; j < n; j++ {
							var s float64
							for p := 0; p < k; p++ {
								s += float64(a[i*rsA+p*csA]) * float64(b[p*rsB+j*csB])
							}
							want := float64(c0[i*n+j]) + float64(alpha)*s
							if d := math.Abs(float64(c[i*n+j]) - want); d > 1e-4*(1+math.Abs(want)) {
								t.Fatalf("%s: C[%d,%d] = %g, want %g", name, i, j, c[i*n+j], want)
							}
						}
					}
				}
			}
		}
	}
}

// TestMatMulPackedWeight runs a MatMul whose B is an initializer (packed
// once, on the first run) over several row blocks and K blocks, twice, and
// then with that initializer overridden as a graph input: every result must
// match a naive product of the B actually given.
func TestMatMulPackedWeight(t *testing.T) {
	const m, k, n = 2 * 150, 300, 70
	w := randSlice(k*n, 31)
	b := newGB(13).input("x", onnxpb.TensorProto_FLOAT, 2, 150, k).input("w", onnxpb.TensorProto_FLOAT, k, n).
		init("w", tensor.NewFloat32([]int{k, n}, w))
	b.node("MatMul", []string{"x", "w"}, []string{"y"})
	e := b.output("y").open(t)
	x := tensor.NewFloat32([]int{2, 150, k}, randSlice(m*k, 32))
	check := func(what string, y *tensor.Tensor, w []float32) {
		t.Helper()
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				var s float64
				for p := 0; p < k; p++ {
					s += float64(x.F32[i*k+p]) * float64(w[p*n+j])
				}
				if d := math.Abs(float64(y.F32[i*n+j]) - s); d > 1e-4*(1+math.Abs(s)) {
					t.Fatalf("%s: Y[%d,%d] = %g, want %g", what, i, j, y.F32[i*n+j], s)
				}
			}
		}
	}
	check("first run", run1(t, e, map[string]*tensor.Tensor{"x": x})["y"], w)
	check("second run", run1(t, e, map[string]*tensor.Tensor{"x": x})["y"], w)
	w2 := randSlice(k*n, 33)
	check("overridden weight", run1(t, e, map[string]*tensor.Tensor{"x": x, "w": tensor.NewFloat32([]int{k, n}, w2)})["y"], w2)
	check("constant again", run1(t, e, map[string]*tensor.Tensor{"x": x})["y"], w)
}
