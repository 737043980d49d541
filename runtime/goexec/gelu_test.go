package goexec

import (
	"math"
	"testing"

	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
)

// geluModel builds Conv (1x1) followed by torch's erf GELU export; variant
// changes one detail so that the chain must not be fused.
func geluModel(variant string) *gb {
	b := newGB(13).input("x", onnxpb.TensorProto_FLOAT, 1, 3, 5, 7).
		init("w", tensor.NewFloat32([]int{4, 3, 1, 1}, randSlice(12, 7))).
		init("sqrt2", f32([]int{}, math.Sqrt2)).init("one", f32([]int{1}, 1)).init("half", f32([]int{}, 0.5))
	b.node("Conv", []string{"x", "w"}, []string{"c"})
	b.node("Div", []string{"c", "sqrt2"}, []string{"d"})
	b.node("Erf", []string{"d"}, []string{"e"})
	if variant == "add not constant" {
		b.node("Add", []string{"e", "c"}, []string{"a"})
	} else {
		b.node("Add", []string{"one", "e"}, []string{"a"})
	}
	if variant == "mul by another tensor" {
		b.node("Mul", []string{"a", "d"}, []string{"m"})
	} else {
		b.node("Mul", []string{"c", "a"}, []string{"m"})
	}
	b.node("Mul", []string{"m", "half"}, []string{"y"})
	b.output("y")
	if variant == "intermediate is an output" {
		b.output("e")
	}
	return b
}

func TestErfGeluFusion(t *testing.T) {
	x := tensor.NewFloat32([]int{1, 3, 5, 7}, randSlice(105, 8))
	for i := range x.F32 {
		x.F32[i] *= 3
	}
	x.F32[17] = float32(math.NaN())
	e := geluModel("").open(t)
	// Conv with the GELU as its epilogue: a single node.
	if n := len(e.fused.nodes); n != 1 {
		t.Fatalf("fused plan has %d nodes, want 1 (Conv with the GELU chain as epilogue)", n)
	}
	fused := run1(t, e, map[string]*tensor.Tensor{"x": x})["y"]
	// Asking for an intermediate runs the unfused plan.
	unfused := run1(t, e, map[string]*tensor.Tensor{"x": x}, "y", "e")["y"]
	if len(fused.F32) != 4*35 {
		t.Fatalf("fused output has shape %v", fused.Shape)
	}
	sameTensor(t, fused, unfused)
	c := run1(t, e, map[string]*tensor.Tensor{"x": x}, "c")["c"]
	for i, v := range c.F32 {
		want := 0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2))
		if g := float64(fused.F32[i]); !(math.Abs(g-want) <= 1e-6*(1+math.Abs(want))) && !(math.IsNaN(g) && math.IsNaN(want)) {
			t.Fatalf("[%d] GELU(%g) = %g, want %g", i, v, g, want)
		}
	}
	for _, variant := range []string{"add not constant", "mul by another tensor", "intermediate is an output"} {
		e := geluModel(variant).open(t)
		if n := len(e.fused.nodes); n != 6 {
			t.Errorf("%s: fused plan has %d nodes, want all 6", variant, n)
		}
	}
}

// TestMatMulBiasFusion checks ConvNeXt's MLP as torch exports it: MatMul,
// Add of a [N] bias, the erf GELU chain, MatMul, Add. Both MatMuls absorb
// their bias (the first also the GELU), with results equal to the unfused
// plan's.
func TestMatMulBiasFusion(t *testing.T) {
	bias1 := randSlice(20, 22)
	b := newGB(13).input("x", onnxpb.TensorProto_FLOAT, 2, 3, 5, 6).
		init("w1", tensor.NewFloat32([]int{6, 20}, randSlice(120, 21))).
		init("b1", tensor.NewFloat32([]int{20}, bias1)).
		init("w2", tensor.NewFloat32([]int{20, 6}, randSlice(120, 23))).
		init("b2", tensor.NewFloat32([]int{6}, randSlice(6, 24))).
		init("b3", tensor.NewFloat32([]int{1, 6}, randSlice(6, 25))).
		init("sqrt2", f32([]int{}, math.Sqrt2)).init("one", f32([]int{}, 1)).init("half", f32([]int{}, 0.5))
	b.node("MatMul", []string{"x", "w1"}, []string{"h"})
	b.node("Add", []string{"b1", "h"}, []string{"hb"})
	b.node("Div", []string{"hb", "sqrt2"}, []string{"d"})
	b.node("Erf", []string{"d"}, []string{"e"})
	b.node("Add", []string{"e", "one"}, []string{"a"})
	b.node("Mul", []string{"hb", "a"}, []string{"m"})
	b.node("Mul", []string{"m", "half"}, []string{"g"})
	b.node("MatMul", []string{"g", "w2"}, []string{"o"})
	b.node("Add", []string{"o", "b2"}, []string{"y"})
	// Only a bias of shape [N] is fused (a [1, N] one could raise the rank).
	b.node("MatMul", []string{"g", "w2"}, []string{"o3"})
	b.node("Add", []string{"o3", "b3"}, []string{"y3"})
	e := b.output("y", "y3").open(t)
	if n := len(e.fused.nodes); n != 4 {
		t.Fatalf("fused plan has %d nodes, want 4 (MatMul+bias+GELU, MatMul+bias, MatMul, Add)", n)
	}
	x := tensor.NewFloat32([]int{2, 3, 5, 6}, randSlice(180, 26))
	fused := run1(t, e, map[string]*tensor.Tensor{"x": x})
	unfused := run1(t, e, map[string]*tensor.Tensor{"x": x}, "y", "y3", "h", "hb")
	for _, name := range []string{"y", "y3"} {
		if !tensor.SameShape(fused[name].Shape, unfused[name].Shape) {
			t.Fatalf("%s: fused shape %v, unfused %v", name, fused[name].Shape, unfused[name].Shape)
		}
		sameTensor(t, fused[name], unfused[name])
	}
	// hb is the unfused Add: h plus the bias, row by row.
	h, hb := unfused["h"], unfused["hb"]
	for i := range h.F32 {
		if want := bias1[i%20] + h.F32[i]; hb.F32[i] != want {
			t.Fatalf("hb[%d] = %g, want %g", i, hb.F32[i], want)
		}
	}
}
