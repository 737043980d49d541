package goexec

import (
	"math"
	"testing"

	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
)

// nanInput returns n values in [-4, 4) with NaN at positions that fall in
// the vector body and in the scalar tail of the SIMD kernels.
func nanInput(n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(i%16)/2 - 4
	}
	for _, i := range []int{1, 12, n - 2} {
		x[i] = float32(math.NaN())
	}
	return x
}

func expectActivation(t *testing.T, got *tensor.Tensor, x []float32, f func(float32) float32) {
	t.Helper()
	if len(got.F32) != len(x) {
		t.Fatalf("got %d values, want %d", len(got.F32), len(x))
	}
	for i, v := range x {
		g := got.F32[i]
		if math.IsNaN(float64(v)) {
			if !math.IsNaN(float64(g)) {
				t.Errorf("[%d]: NaN input gave %v, want NaN", i, g)
			}
			continue
		}
		if w := f(v); g != w {
			t.Errorf("[%d]: f(%v) = %v, want %v", i, v, g, w)
		}
	}
}

// TestActivationsPropagateNaN checks that Relu, Clip and LeakyRelu keep NaN
// inputs NaN, as ONNX Runtime 1.30 does (Relu, Clip(0, 6) and LeakyRelu of
// NaN are NaN there), both as separate nodes and fused into Conv.
func TestActivationsPropagateNaN(t *testing.T) {
	const n = 37
	x := nanInput(n)
	relu := func(v float32) float32 { return max(v, 0) }
	clip := func(v float32) float32 { return min(max(v, -1), 2) }
	leaky := func(v float32) float32 {
		if v < 0 {
			return 0.125 * v
		}
		return v
	}
	in := tensor.NewFloat32([]int{n}, x)
	expectActivation(t, runOp(t, 13, "Relu", []*tensor.Tensor{in}), x, relu)
	expectActivation(t, runOp(t, 13, "Clip", []*tensor.Tensor{in, f32([]int{}, -1), f32([]int{}, 2)}), x, clip)
	expectActivation(t, runOp(t, 6, "Clip", []*tensor.Tensor{in}, aFloat("min", -1), aFloat("max", 2)), x, clip)
	expectActivation(t, runOp(t, 13, "LeakyRelu", []*tensor.Tensor{in}, aFloat("alpha", 0.125)), x, leaky)

	// Conv (identity weights) followed by the activation: fused into the
	// GEMM path (one group) and into the depthwise path (two groups).
	for _, group := range []int64{1, 2} {
		for _, act := range []struct {
			op string
			f  func(float32) float32
		}{{"Relu", relu}, {"Clip", clip}} {
			b := newGB(13).input("x", onnxpb.TensorProto_FLOAT, 1, 2, 3, n).
				init("w", f32([]int{2, 2 / int(group), 1, 1}, identityWeights(group)...))
			b.node("Conv", []string{"x", "w"}, []string{"c"}, aInt("group", group))
			if act.op == "Clip" {
				b.init("lo", f32([]int{}, -1)).init("hi", f32([]int{}, 2))
				b.node("Clip", []string{"c", "lo", "hi"}, []string{"y"})
			} else {
				b.node(act.op, []string{"c"}, []string{"y"})
			}
			e := b.output("y").open(t)
			xs := make([]float32, 0, 6*n)
			for i := 0; i < 6; i++ {
				xs = append(xs, x...)
			}
			got := run1(t, e, map[string]*tensor.Tensor{"x": tensor.NewFloat32([]int{1, 2, 3, n}, xs)})["y"]
			t.Run(act.op, func(t *testing.T) { expectActivation(t, got, xs, act.f) })
		}
	}
}

// identityWeights returns Conv weights [2, 2/group, 1, 1] that copy each
// channel.
func identityWeights(group int64) []float32 {
	if group == 2 {
		return []float32{1, 1}
	}
	return []float32{1, 0, 0, 1}
}
