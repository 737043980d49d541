package goexec

import (
	"math"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
)

func TestBinaryBroadcast(t *testing.T) {
	// [2,1,3] + [4,1] -> [2,4,3]; element (i,j,k) = a[i,k] + b[j].
	a, b := seq(2, 1, 3), f32([]int{4, 1}, 0, 10, 20, 30)
	y := runOp(t, 13, "Add", []*tensor.Tensor{a, b})
	var want []float32
	for i := 0; i < 2; i++ {
		for j := 0; j < 4; j++ {
			for k := 0; k < 3; k++ {
				want = append(want, float32(i*3+k)+float32(j*10))
			}
		}
	}
	expectF32(t, y, []int{2, 4, 3}, want...)
	// Scalar on the left, size-0 dimension, and per-channel [C,1,1].
	expectF32(t, runOp(t, 13, "Sub", []*tensor.Tensor{f32([]int{}, 10), f32([]int{3}, 1, 2, 3)}), []int{3}, 9, 8, 7)
	expectF32(t, runOp(t, 13, "Mul", []*tensor.Tensor{f32([]int{0, 3}), f32([]int{1, 3}, 1, 2, 3)}), []int{0, 3})
	expectF32(t, runOp(t, 13, "Div", []*tensor.Tensor{seq(1, 2, 2, 2), f32([]int{2, 1, 1}, 1, 2)}), []int{1, 2, 2, 2}, 0, 1, 2, 3, 2, 2.5, 3, 3.5)
	expectF32(t, runOp(t, 13, "Pow", []*tensor.Tensor{f32([]int{3}, 1, 2, 3), f32([]int{1}, 2)}), []int{3}, 1, 4, 9)
	expectF32(t, runOp(t, 15, "Pow", []*tensor.Tensor{f32([]int{2}, 2, 3), i64([]int{}, 3)}), []int{2}, 8, 27)
	// int64 arithmetic (shape computations).
	expectI64(t, runOp(t, 14, "Mul", []*tensor.Tensor{i64([]int{2}, 3, -4), i64([]int{}, 5)}), []int{2}, 15, -20)
	expectI64(t, runOp(t, 14, "Div", []*tensor.Tensor{i64([]int{2}, 7, -7), i64([]int{}, 2)}), []int{2}, 3, -3)
	expectI64(t, runOp(t, 14, "Add", []*tensor.Tensor{i64([]int{2, 1}, 1, 2), i64([]int{2}, 10, 20)}), []int{2, 2}, 11, 21, 12, 22)
	if _, err := tryOp(13, "Add", []*tensor.Tensor{seq(2, 3), seq(2, 4)}); err == nil || !strings.Contains(err.Error(), "cannot be broadcast") {
		t.Errorf("incompatible shapes: %v", err)
	}
	if _, err := tryOp(13, "Add", []*tensor.Tensor{seq(2), i64([]int{2}, 1, 2)}); err == nil || !strings.Contains(err.Error(), "types differ") {
		t.Errorf("mixed types: %v", err)
	}
	// Large broadcast (parallel path) equals a per-element loop.
	big, bias := seq(2, 64, 33, 17), seq(64, 1, 1)
	got := runOp(t, 13, "Add", []*tensor.Tensor{big, bias})
	for i, v := range got.F32 {
		if c := (i / (33 * 17)) % 64; v != big.F32[i]+float32(c) {
			t.Fatalf("element %d: %v", i, v)
		}
	}
}

func TestLegacyBroadcast(t *testing.T) {
	// Opset 6 Add with broadcast=1, axis=1: B [3] matches A's dim 1.
	y := runOp(t, 6, "Add", []*tensor.Tensor{seq(2, 3, 2), f32([]int{3}, 100, 200, 300)}, aInt("broadcast", 1), aInt("axis", 1))
	expectF32(t, y, []int{2, 3, 2}, 100, 101, 202, 203, 304, 305, 106, 107, 208, 209, 310, 311)
	if _, err := tryOp(7, "Add", []*tensor.Tensor{seq(2), seq(2)}, aInt("broadcast", 1)); err == nil || !strings.Contains(err.Error(), "broadcast") {
		t.Errorf("broadcast attribute at opset 7: %v", err)
	}
}

func TestUnary(t *testing.T) {
	x := f32([]int{5}, -2, -0.5, 0, 0.5, 3)
	cases := []struct {
		op    string
		attrs []*onnxpb.AttributeProto
		f     func(float64) float64
	}{
		{"Relu", nil, func(v float64) float64 { return math.Max(v, 0) }},
		{"Sigmoid", nil, func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }},
		{"Tanh", nil, math.Tanh},
		{"Erf", nil, math.Erf},
		{"Exp", nil, math.Exp},
		{"Neg", nil, func(v float64) float64 { return -v }},
		{"Abs", nil, math.Abs},
		{"HardSigmoid", []*onnxpb.AttributeProto{aFloat("alpha", 0.25)}, func(v float64) float64 { return math.Max(0, math.Min(1, 0.25*v+0.5)) }},
		{"HardSwish", nil, func(v float64) float64 { return v * math.Max(0, math.Min(1, v/6+0.5)) }},
		{"LeakyRelu", []*onnxpb.AttributeProto{aFloat("alpha", 0.1)}, func(v float64) float64 {
			if v < 0 {
				return 0.1 * v
			}
			return v
		}},
	}
	for _, c := range cases {
		y := runOp(t, 14, c.op, []*tensor.Tensor{x}, c.attrs...)
		for i, v := range x.F32 {
			if want := c.f(float64(v)); math.Abs(float64(y.F32[i])-want) > 1e-6 {
				t.Errorf("%s(%v) = %v, want %v", c.op, v, y.F32[i], want)
			}
		}
	}
	pos := f32([]int{3}, 0.25, 1, 4)
	expectF32(t, runOp(t, 13, "Sqrt", []*tensor.Tensor{pos}), []int{3}, 0.5, 1, 2)
	expectF32(t, runOp(t, 13, "Log", []*tensor.Tensor{pos}), []int{3}, float32(math.Log(0.25)), 0, float32(math.Log(4)))
	expectF32(t, runOp(t, 20, "Gelu", []*tensor.Tensor{f32([]int{1}, 1)}), []int{1}, float32(0.5*(1+math.Erf(1/math.Sqrt2))))
}

func TestClipOpsets(t *testing.T) {
	x := f32([]int{4}, -3, -0.2, 0.7, 9)
	a := runOp(t, 6, "Clip", []*tensor.Tensor{x}, aFloat("min", -1), aFloat("max", 6))
	b := runOp(t, 11, "Clip", []*tensor.Tensor{x, f32([]int{}, -1), f32([]int{}, 6)})
	expectF32(t, a, []int{4}, -1, -0.2, 0.7, 6)
	sameTensor(t, a, b)
	// Only a maximum (min absent).
	expectF32(t, runOp(t, 13, "Clip", []*tensor.Tensor{x, nil, f32([]int{}, 0)}), []int{4}, -3, -0.2, 0, 0)
	if _, err := tryOp(11, "Clip", []*tensor.Tensor{x}, aFloat("min", 0)); err == nil || !strings.Contains(err.Error(), "exists at opsets 1-10") {
		t.Errorf("Clip-11 with min attribute: %v", err)
	}
}

func TestSliceOpsets(t *testing.T) {
	x := seq(3, 4)
	// Rows 1.., columns 0..3 step 1 (opset 9 attributes) vs inputs (opset 13).
	a := runOp(t, 9, "Slice", []*tensor.Tensor{x}, aInts("starts", 1, 0), aInts("ends", 1000, -1), aInts("axes", 0, 1))
	b := runOp(t, 13, "Slice", []*tensor.Tensor{x, i64([]int{2}, 1, 0), i64([]int{2}, 1000, -1), i64([]int{2}, 0, 1)})
	expectF32(t, a, []int{2, 3}, 4, 5, 6, 8, 9, 10)
	sameTensor(t, a, b)
	// Negative step reverses; steps of 2 on axis -1.
	expectF32(t, runOp(t, 13, "Slice", []*tensor.Tensor{x, i64([]int{1}, -1), i64([]int{1}, math.MinInt64), i64([]int{1}, 1), i64([]int{1}, -1)}),
		[]int{3, 4}, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8)
	expectF32(t, runOp(t, 13, "Slice", []*tensor.Tensor{x, i64([]int{1}, 0), i64([]int{1}, 4), i64([]int{1}, -1), i64([]int{1}, 2)}),
		[]int{3, 2}, 0, 2, 4, 6, 8, 10)
	// Empty result.
	expectF32(t, runOp(t, 13, "Slice", []*tensor.Tensor{x, i64([]int{1}, 2), i64([]int{1}, 1)}), []int{0, 4})
	if _, err := tryOp(13, "Slice", []*tensor.Tensor{x, i64([]int{1}, 0), i64([]int{1}, 1), i64([]int{1}, 0), i64([]int{1}, 0)}); err == nil || !strings.Contains(err.Error(), "step 0") {
		t.Errorf("step 0: %v", err)
	}
}

func TestPadModes(t *testing.T) {
	x := f32([]int{1, 3}, 1, 2, 3)
	pads := []int64{0, 2, 0, 1}
	expectF32(t, runOp(t, 11, "Pad", []*tensor.Tensor{x, i64([]int{4}, pads...), f32([]int{}, 9)}), []int{1, 6}, 9, 9, 1, 2, 3, 9)
	expectF32(t, runOp(t, 11, "Pad", []*tensor.Tensor{x, i64([]int{4}, pads...)}, aStr("mode", "reflect")), []int{1, 6}, 3, 2, 1, 2, 3, 2)
	expectF32(t, runOp(t, 11, "Pad", []*tensor.Tensor{x, i64([]int{4}, pads...)}, aStr("mode", "edge")), []int{1, 6}, 1, 1, 1, 2, 3, 3)
	// Opset 2 attributes equal opset 11 inputs; negative pads crop.
	old := runOp(t, 2, "Pad", []*tensor.Tensor{seq(2, 3)}, aInts("pads", 1, -1, 0, 0), aFloat("value", 5))
	expectF32(t, old, []int{3, 2}, 5, 5, 1, 2, 4, 5)
	sameTensor(t, old, runOp(t, 13, "Pad", []*tensor.Tensor{seq(2, 3), i64([]int{4}, 1, -1, 0, 0), f32([]int{}, 5)}))
	// Opset 18 axes input.
	expectF32(t, runOp(t, 18, "Pad", []*tensor.Tensor{seq(2, 2), i64([]int{2}, 1, 0), nil, i64([]int{1}, -1)}), []int{2, 3}, 0, 0, 1, 0, 2, 3)
	if _, err := tryOp(11, "Pad", []*tensor.Tensor{x, i64([]int{4}, pads...)}, aStr("mode", "wrap")); err == nil || !strings.Contains(err.Error(), `"wrap"`) {
		t.Errorf("wrap mode: %v", err)
	}
}

func TestShapeOps(t *testing.T) {
	x := seq(2, 3, 4)
	expectF32(t, runOp(t, 14, "Reshape", []*tensor.Tensor{x, i64([]int{3}, 0, -1, 2)}), []int{2, 6, 2}, x.F32...)
	expectF32(t, runOp(t, 14, "Reshape", []*tensor.Tensor{f32([]int{0, 3}), i64([]int{2}, 3, 0)}, aInt("allowzero", 1)), []int{3, 0})
	if _, err := tryOp(14, "Reshape", []*tensor.Tensor{x, i64([]int{2}, 5, -1)}); err == nil || !strings.Contains(err.Error(), "cannot reshape") {
		t.Errorf("bad reshape: %v", err)
	}
	expectF32(t, runOp(t, 13, "Flatten", []*tensor.Tensor{x}, aInt("axis", -1)), []int{6, 4}, x.F32...)
	expectF32(t, runOp(t, 13, "Transpose", []*tensor.Tensor{seq(2, 3)}, aInts("perm", 1, 0)), []int{3, 2}, 0, 3, 1, 4, 2, 5)
	expectF32(t, runOp(t, 13, "Transpose", []*tensor.Tensor{seq(2, 3)}), []int{3, 2}, 0, 3, 1, 4, 2, 5)
	// Squeeze/Unsqueeze: attributes (opset 11) and inputs (opset 13).
	u11 := runOp(t, 11, "Unsqueeze", []*tensor.Tensor{seq(2, 3)}, aInts("axes", 0, -1))
	u13 := runOp(t, 13, "Unsqueeze", []*tensor.Tensor{seq(2, 3), i64([]int{2}, 0, -1)})
	expectF32(t, u11, []int{1, 2, 3, 1}, seq(6).F32...)
	sameTensor(t, u11, u13)
	s11 := runOp(t, 11, "Squeeze", []*tensor.Tensor{u11}, aInts("axes", 3))
	s13 := runOp(t, 13, "Squeeze", []*tensor.Tensor{u11, i64([]int{1}, -1)})
	expectF32(t, s11, []int{1, 2, 3}, seq(6).F32...)
	sameTensor(t, s11, s13)
	expectF32(t, runOp(t, 13, "Squeeze", []*tensor.Tensor{u11}), []int{2, 3}, seq(6).F32...)
	if _, err := tryOp(13, "Squeeze", []*tensor.Tensor{u11, i64([]int{1}, 1)}); err == nil || !strings.Contains(err.Error(), "cannot squeeze") {
		t.Errorf("squeeze of size 2: %v", err)
	}
	expectF32(t, runOp(t, 13, "Concat", []*tensor.Tensor{seq(2, 1), f32([]int{2, 2}, 10, 11, 12, 13)}, aInt("axis", -1)), []int{2, 3}, 0, 10, 11, 1, 12, 13)
	expectF32(t, runOp(t, 13, "Gather", []*tensor.Tensor{seq(3, 2), i64([]int{2}, -1, 0)}), []int{2, 2}, 4, 5, 0, 1)
	expectF32(t, runOp(t, 13, "Gather", []*tensor.Tensor{seq(3, 2), i64([]int{}, 1)}, aInt("axis", 1)), []int{3}, 1, 3, 5)
	if _, err := tryOp(13, "Gather", []*tensor.Tensor{seq(3, 2), i64([]int{1}, 3)}); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("gather out of range: %v", err)
	}
	expectI64(t, runOp(t, 15, "Shape", []*tensor.Tensor{x}, aInt("start", 1)), []int{2}, 3, 4)
	expectI64(t, runOp(t, 13, "Shape", []*tensor.Tensor{x}), []int{3}, 2, 3, 4)
	expectF32(t, runOp(t, 13, "ConstantOfShape", []*tensor.Tensor{i64([]int{2}, 2, 1)}, aTensor("value", f32([]int{1}, 7))), []int{2, 1}, 7, 7)
	expectF32(t, runOp(t, 13, "Expand", []*tensor.Tensor{f32([]int{2, 1}, 1, 2), i64([]int{2}, 2, 3)}), []int{2, 3}, 1, 1, 1, 2, 2, 2)
	expectI64(t, runOp(t, 13, "Cast", []*tensor.Tensor{f32([]int{3}, -1.7, 0.2, 2.9)}, aInt("to", int64(onnxpb.TensorProto_INT64))), []int{3}, -1, 0, 2)
	expectF32(t, runOp(t, 13, "Cast", []*tensor.Tensor{i64([]int{2}, -3, 4)}, aInt("to", int64(onnxpb.TensorProto_FLOAT))), []int{2}, -3, 4)
	if _, err := tryOp(13, "Cast", []*tensor.Tensor{x}, aInt("to", int64(onnxpb.TensorProto_FLOAT16))); err == nil || !strings.Contains(err.Error(), "FLOAT16") {
		t.Errorf("cast to float16: %v", err)
	}
	// Split: attribute (opset 11) vs input (opset 13).
	b := newGB(13).inputAnyShape("x", onnxpb.TensorProto_FLOAT).init("s", i64([]int{2}, 1, 3))
	b.node("Split", []string{"x", "s"}, []string{"p", "q"}, aInt("axis", 1))
	res := run1(t, b.output("p", "q").open(t), map[string]*tensor.Tensor{"x": seq(2, 4)})
	expectF32(t, res["p"], []int{2, 1}, 0, 4)
	expectF32(t, res["q"], []int{2, 3}, 1, 2, 3, 5, 6, 7)
}

func TestNormalization(t *testing.T) {
	// BatchNorm: (x - mean) / sqrt(var + eps) * scale + B, per channel.
	x := seq(1, 2, 2)
	y := runOp(t, 15, "BatchNormalization", []*tensor.Tensor{x, f32([]int{2}, 2, 1), f32([]int{2}, 1, 0), f32([]int{2}, 1, 2), f32([]int{2}, 4, 1)}, aFloat("epsilon", 0))
	expectF32(t, y, []int{1, 2, 2}, 0, 1, 0, 1)
	y6 := runOp(t, 6, "BatchNormalization", []*tensor.Tensor{x, f32([]int{2}, 2, 1), f32([]int{2}, 1, 0), f32([]int{2}, 1, 2), f32([]int{2}, 4, 1)}, aFloat("epsilon", 0), aInt("is_test", 1))
	sameTensor(t, y, y6)
	if _, err := tryOp(15, "BatchNormalization", []*tensor.Tensor{x, f32([]int{2}), f32([]int{2}), f32([]int{2}), f32([]int{2})}, aInt("training_mode", 1)); err == nil || !strings.Contains(err.Error(), "training_mode") {
		t.Errorf("training mode: %v", err)
	}
	// LayerNorm over the last axis of [[1,2,3],[2,4,6]].
	ln := runOp(t, 17, "LayerNormalization", []*tensor.Tensor{f32([]int{2, 3}, 1, 2, 3, 2, 4, 6), f32([]int{3}, 1, 1, 2), f32([]int{3}, 0, 1, 0)}, aFloat("epsilon", 0))
	r := float32(math.Sqrt(1.5))
	expectF32(t, ln, []int{2, 3}, -r, 1, 2*r, -r, 1, 2*r)
	// Softmax: opset 11 flattens from axis; opset 13 normalises along axis.
	x3 := f32([]int{1, 2, 2}, 0, 0, 0, 0)
	expectF32(t, runOp(t, 11, "Softmax", []*tensor.Tensor{x3}, aInt("axis", 1)), []int{1, 2, 2}, 0.25, 0.25, 0.25, 0.25)
	expectF32(t, runOp(t, 13, "Softmax", []*tensor.Tensor{x3}, aInt("axis", 1)), []int{1, 2, 2}, 0.5, 0.5, 0.5, 0.5)
	sm := runOp(t, 13, "Softmax", []*tensor.Tensor{f32([]int{2}, 0, float32(math.Log(3)))})
	expectF32(t, sm, []int{2}, 0.25, 0.75)
	// ReduceMean: axes attribute (opset 13) vs input (opset 18).
	a := runOp(t, 13, "ReduceMean", []*tensor.Tensor{seq(2, 3)}, aInts("axes", -1), aInt("keepdims", 0))
	b := runOp(t, 18, "ReduceMean", []*tensor.Tensor{seq(2, 3), i64([]int{1}, 1)}, aInt("keepdims", 0))
	expectF32(t, a, []int{2}, 1, 4)
	sameTensor(t, a, b)
	expectF32(t, runOp(t, 13, "ReduceMean", []*tensor.Tensor{seq(2, 3)}), []int{1, 1}, 2.5)
	expectF32(t, runOp(t, 13, "ReduceMean", []*tensor.Tensor{seq(2, 3, 2)}, aInts("axes", 0, 2)), []int{1, 3, 1}, 3.5, 5.5, 7.5)
	if _, err := tryOp(13, "ReduceMean", []*tensor.Tensor{seq(2, 3)}, aInts("axes", 2)); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("bad axis: %v", err)
	}
	expectF32(t, runOp(t, 13, "GlobalAveragePool", []*tensor.Tensor{seq(1, 2, 2, 2)}), []int{1, 2, 1, 1}, 1.5, 5.5)
}

func TestPooling(t *testing.T) {
	x := seq(1, 1, 4, 4)
	expectF32(t, runOp(t, 12, "MaxPool", []*tensor.Tensor{x}, aInts("kernel_shape", 2, 2), aInts("strides", 2, 2)), []int{1, 1, 2, 2}, 5, 7, 13, 15)
	// ceil_mode: a 3x3 window with stride 2 on 4x4 gives 2x2 (floor: 1x1).
	expectF32(t, runOp(t, 12, "MaxPool", []*tensor.Tensor{x}, aInts("kernel_shape", 3, 3), aInts("strides", 2, 2), aInt("ceil_mode", 1)), []int{1, 1, 2, 2}, 10, 11, 14, 15)
	expectF32(t, runOp(t, 12, "MaxPool", []*tensor.Tensor{x}, aInts("kernel_shape", 3, 3), aInts("strides", 2, 2)), []int{1, 1, 1, 1}, 10)
	// Average with padding: corner window holds 0,1,4,5 and 5 pads.
	withPad := runOp(t, 11, "AveragePool", []*tensor.Tensor{x}, aInts("kernel_shape", 3, 3), aInts("pads", 1, 1, 1, 1), aInts("strides", 3, 3), aInt("count_include_pad", 1))
	noPad := runOp(t, 11, "AveragePool", []*tensor.Tensor{x}, aInts("kernel_shape", 3, 3), aInts("pads", 1, 1, 1, 1), aInts("strides", 3, 3))
	if withPad.F32[0] != 10.0/9 || noPad.F32[0] != 2.5 {
		t.Errorf("corner averages: include pad %v (want 10/9), exclude %v (want 2.5)", withPad.F32[0], noPad.F32[0])
	}
	expectF32(t, runOp(t, 11, "AveragePool", []*tensor.Tensor{x}, aInts("kernel_shape", 2, 2), aStr("auto_pad", "SAME_UPPER")), []int{1, 1, 4, 4},
		2.5, 3.5, 4.5, 5, 6.5, 7.5, 8.5, 9, 10.5, 11.5, 12.5, 13, 12.5, 13.5, 14.5, 15)
}

func TestMatMulGemm(t *testing.T) {
	// Batched broadcasting: [2,1,2,3] x [3,3,2] -> [2,3,2,2].
	a, b := seq(2, 1, 2, 3), seq(3, 3, 2)
	y := runOp(t, 13, "MatMul", []*tensor.Tensor{a, b})
	if !tensor.SameShape(y.Shape, []int{2, 3, 2, 2}) {
		t.Fatalf("shape %v", y.Shape)
	}
	for i := 0; i < 2; i++ {
		for j := 0; j < 3; j++ {
			for r := 0; r < 2; r++ {
				for c := 0; c < 2; c++ {
					var s float32
					for k := 0; k < 3; k++ {
						s += a.F32[(i*2+r)*3+k] * b.F32[(j*3+k)*2+c]
					}
					if got := y.F32[((i*3+j)*2+r)*2+c]; got != s {
						t.Fatalf("[%d,%d,%d,%d] = %v, want %v", i, j, r, c, got, s)
					}
				}
			}
		}
	}
	// 1-D operands.
	expectF32(t, runOp(t, 13, "MatMul", []*tensor.Tensor{f32([]int{2}, 1, 2), seq(2, 3)}), []int{3}, 6, 9, 12)
	expectF32(t, runOp(t, 13, "MatMul", []*tensor.Tensor{seq(2, 3), f32([]int{3}, 1, 1, 1)}), []int{2}, 3, 12)
	if _, err := tryOp(13, "MatMul", []*tensor.Tensor{seq(2, 3), seq(2, 3)}); err == nil || !strings.Contains(err.Error(), "do not multiply") {
		t.Errorf("bad matmul: %v", err)
	}
	// Gemm: alpha * A^T * B^T + beta * C with C broadcast from [1].
	at, bt := f32([]int{2, 1}, 1, 2), f32([]int{2, 2}, 1, 0, 0, 1)
	g := runOp(t, 13, "Gemm", []*tensor.Tensor{at, bt, f32([]int{1}, 10)}, aInt("transA", 1), aInt("transB", 1), aFloat("alpha", 2), aFloat("beta", 0.5))
	expectF32(t, g, []int{1, 2}, 7, 9)
	expectF32(t, runOp(t, 13, "Gemm", []*tensor.Tensor{f32([]int{1, 2}, 1, 2), bt}), []int{1, 2}, 1, 2)
	if _, err := tryOp(9, "Gemm", []*tensor.Tensor{f32([]int{1, 2}, 1, 2), bt}); err == nil || !strings.Contains(err.Error(), "input C is required") {
		t.Errorf("Gemm-9 without C: %v", err)
	}
}
