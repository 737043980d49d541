package goexec

import (
	"math"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/tensor"
)

// TestMod follows the ONNX backend cases test_mod_mixed_sign_int64,
// test_mod_mixed_sign_float32 (fmod=1) and test_mod_broadcast; PyTorch
// exports use Mod for the odd-size padding of WTConv layers.
func TestMod(t *testing.T) {
	x := i64([]int{6}, -4, 7, 5, 4, -7, 8)
	y := i64([]int{6}, 2, -3, 8, -2, 3, 5)
	expectI64(t, runOp(t, 13, "Mod", []*tensor.Tensor{x, y}), []int{6}, 0, -2, 5, 0, 2, 3)
	expectI64(t, runOp(t, 13, "Mod", []*tensor.Tensor{x, y}, aInt("fmod", 1)), []int{6}, 0, 1, 5, 0, -1, 3)

	xf := f32([]int{6}, -4.3, 7.2, 5.0, 4.3, -7.2, 8.0)
	yf := f32([]int{6}, 2.1, -3.4, 8.0, -2.1, 3.4, 5.0)
	got := runOp(t, 13, "Mod", []*tensor.Tensor{xf, yf}, aInt("fmod", 1))
	want := []float32{-0.1, 0.4, 5, 0.1, -0.4, 3}
	for i, w := range want {
		if math.Abs(float64(got.F32[i]-w)) > 1e-5 {
			t.Errorf("fmod float32 [%d] = %v, want %v", i, got.F32[i], w)
		}
	}

	b := make([]int64, 30)
	wb := make([]int64, 30)
	for i := range b {
		b[i] = int64(i)
		wb[i] = int64(i % 7)
	}
	expectI64(t, runOp(t, 13, "Mod", []*tensor.Tensor{i64([]int{3, 2, 5}, b...), i64([]int{1}, 7)}), []int{3, 2, 5}, wb...)

	if _, err := tryOp(13, "Mod", []*tensor.Tensor{xf, yf}); err == nil || !strings.Contains(err.Error(), "fmod=1") {
		t.Errorf("float Mod without fmod: %v", err)
	}
	if _, err := tryOp(13, "Mod", []*tensor.Tensor{x, i64([]int{1}, 0)}); err == nil || !strings.Contains(err.Error(), "by zero") {
		t.Errorf("modulo by zero: %v", err)
	}
}
