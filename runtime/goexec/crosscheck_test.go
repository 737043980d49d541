package goexec

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/runtime/ort"
	"github.com/wtonnx/wtonnx/tensor"
)

// The tests here hold the Go engine to ONNX Runtime on the same model and
// inputs: the operators real models use, at the opsets they are exported
// at, and the zoo networks with random weights (their shipped weights are
// constant, so their expected output cannot tell a wrong LRN from a right
// one).

func ortRun(t *testing.T, m *onnxpb.ModelProto, feeds map[string]*tensor.Tensor) map[string]*tensor.Tensor {
	t.Helper()
	lib, err := ort.FindLibrary("")
	if err != nil {
		t.Fatal(err)
	}
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	e, err := ort.Open(data, ort.Options{LibraryPath: lib, IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	res, err := e.Run(context.Background(), feeds, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// sameOutputs requires every output within tol of the output's max|y|
// (integers exactly).
func sameOutputs(t *testing.T, got, want map[string]*tensor.Tensor, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d outputs, ONNX Runtime gives %d", len(got), len(want))
	}
	for name, w := range want {
		g := got[name]
		if g == nil {
			t.Fatalf("output %q missing", name)
		}
		if g.DType != w.DType || !tensor.SameShape(g.Shape, w.Shape) {
			t.Fatalf("output %q: %v %v, ONNX Runtime gives %v %v", name, g.DType, g.Shape, w.DType, w.Shape)
		}
		gv, wv := g.Float64s(), w.Float64s()
		scale := w.MaxAbs()
		worst := 0.0
		for i := range gv {
			worst = max(worst, math.Abs(gv[i]-wv[i]))
		}
		if scale > 0 {
			t.Logf("%s: max|diff| / max|y| = %.3g", name, worst/scale)
		}
		for i := range gv {
			if gv[i] == wv[i] || (math.IsNaN(gv[i]) && math.IsNaN(wv[i])) {
				continue
			}
			if w.DType == tensor.Int64 || !(math.Abs(gv[i]-wv[i]) <= tol*scale) {
				t.Fatalf("output %q element %d: %g, ONNX Runtime gives %g (max|y| %g)", name, i, gv[i], wv[i], scale)
			}
		}
	}
}

func randF32(r *rand.Rand, shape []int, lo, hi float32) *tensor.Tensor {
	x := tensor.NewFloat32(shape, nil)
	for i := range x.F32 {
		x.F32[i] = lo + (hi-lo)*r.Float32()
	}
	return x
}

type xcase struct {
	name   string
	opset  int64
	op     string
	inputs []*tensor.Tensor // graph inputs x0, x1, ...
	attrs  []*onnxpb.AttributeProto
	outs   []onnxpb.TensorProto_DataType // output types (FLOAT when nil)
	// pre, when set, makes the first preN operands BOOL: operand k is
	// pre(x_2k, x_2k+1).
	pre  string
	preN int
}

func TestOperatorsMatchONNXRuntime(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 10))
	x4 := randF32(r, []int{2, 7, 5, 6}, -3, 3)
	pos := randF32(r, []int{2, 3, 4}, 0.1, 3)
	ints := i64([]int{6}, -7, -3, 0, 5, 9, 13)
	divs := i64([]int{6}, 3, -4, 5, -3, 4, 5)
	F, I := onnxpb.TensorProto_FLOAT, onnxpb.TensorProto_INT64
	var cases []xcase
	for _, v := range []int64{9, 10, 13, 21} {
		cases = append(cases,
			xcase{name: "LRN5", opset: v, op: "LRN", inputs: []*tensor.Tensor{x4}, attrs: []*onnxpb.AttributeProto{aInt("size", 5), aFloat("alpha", 0.3), aFloat("beta", 0.75), aFloat("bias", 2)}},
			xcase{name: "LRN3", opset: v, op: "LRN", inputs: []*tensor.Tensor{x4}, attrs: []*onnxpb.AttributeProto{aInt("size", 3)}},
			xcase{name: "MaxPoolPads", opset: v, op: "MaxPool", inputs: []*tensor.Tensor{x4}, attrs: []*onnxpb.AttributeProto{aInts("kernel_shape", 3, 3), aInts("strides", 2, 2), aInts("pads", 1, 0, 1, 0)}},
			xcase{name: "Softmax", opset: v, op: "Softmax", inputs: []*tensor.Tensor{x4}, attrs: []*onnxpb.AttributeProto{aInt("axis", 1)}},
			xcase{name: "LogSoftmax", opset: v, op: "LogSoftmax", inputs: []*tensor.Tensor{x4}, attrs: []*onnxpb.AttributeProto{aInt("axis", 1)}},
			xcase{name: "Elu", opset: v, op: "Elu", inputs: []*tensor.Tensor{x4}, attrs: []*onnxpb.AttributeProto{aFloat("alpha", 0.7)}},
			xcase{name: "Selu", opset: v, op: "Selu", inputs: []*tensor.Tensor{x4}},
			xcase{name: "Softplus", opset: v, op: "Softplus", inputs: []*tensor.Tensor{x4}},
			xcase{name: "Softsign", opset: v, op: "Softsign", inputs: []*tensor.Tensor{x4}},
			xcase{name: "Sign", opset: v, op: "Sign", inputs: []*tensor.Tensor{x4}},
			xcase{name: "Greater", opset: v, op: "Greater", inputs: []*tensor.Tensor{x4, f32([]int{6}, -1, 0, 1, 2, 0.5, -0.5)}, outs: []onnxpb.TensorProto_DataType{onnxpb.TensorProto_BOOL}},
			xcase{name: "EqualInt", opset: v, op: "Equal", inputs: []*tensor.Tensor{ints, i64([]int{1}, 5)}, outs: []onnxpb.TensorProto_DataType{onnxpb.TensorProto_BOOL}},
			xcase{name: "Tile", opset: v, op: "Tile", inputs: []*tensor.Tensor{pos, i64([]int{3}, 2, 1, 3)}},
			xcase{name: "InstanceNorm", opset: v, op: "InstanceNormalization", inputs: []*tensor.Tensor{x4, randF32(r, []int{7}, 0.5, 2), randF32(r, []int{7}, -1, 1)}},
			xcase{name: "GemmTransposed", opset: v, op: "Gemm", inputs: []*tensor.Tensor{randF32(r, []int{5, 3}, -1, 1), randF32(r, []int{4, 5}, -1, 1), randF32(r, []int{4}, -1, 1)}, attrs: []*onnxpb.AttributeProto{aInt("transA", 1), aInt("transB", 1), aFloat("alpha", 0.5), aFloat("beta", 2)}},
			xcase{name: "Flatten", opset: v, op: "Flatten", inputs: []*tensor.Tensor{x4}, attrs: []*onnxpb.AttributeProto{aInt("axis", 2)}},
			xcase{name: "Sum3", opset: v, op: "Sum", inputs: []*tensor.Tensor{x4, randF32(r, []int{6}, -1, 1), randF32(r, []int{7, 1, 1}, -1, 1)}},
			xcase{name: "Dropout", opset: v, op: "Dropout", inputs: []*tensor.Tensor{x4}, outs: []onnxpb.TensorProto_DataType{F, maskType(v)}},
			xcase{name: "Mean", opset: v, op: "Mean", inputs: []*tensor.Tensor{x4, randF32(r, []int{6}, -1, 1), randF32(r, []int{7, 1, 1}, -1, 1)}},
			xcase{name: "Sin", opset: v, op: "Sin", inputs: []*tensor.Tensor{x4}},
			xcase{name: "Cos", opset: v, op: "Cos", inputs: []*tensor.Tensor{x4}},
			xcase{name: "Size", opset: v, op: "Size", inputs: []*tensor.Tensor{x4}, outs: []onnxpb.TensorProto_DataType{I}},
			xcase{name: "And", opset: v, op: "And", pre: "Greater", preN: 2, inputs: []*tensor.Tensor{x4, f32([]int{1}, 0), x4, f32([]int{6}, -1, 0, 1, 2, 0.5, -0.5)}, outs: []onnxpb.TensorProto_DataType{onnxpb.TensorProto_BOOL}},
			xcase{name: "Or", opset: v, op: "Or", pre: "Less", preN: 2, inputs: []*tensor.Tensor{x4, f32([]int{1}, 0), x4, f32([]int{6}, -1, 0, 1, 2, 0.5, -0.5)}, outs: []onnxpb.TensorProto_DataType{onnxpb.TensorProto_BOOL}},
			xcase{name: "Xor", opset: v, op: "Xor", pre: "Greater", preN: 2, inputs: []*tensor.Tensor{x4, f32([]int{1}, 0), x4, f32([]int{6}, -1, 0, 1, 2, 0.5, -0.5)}, outs: []onnxpb.TensorProto_DataType{onnxpb.TensorProto_BOOL}},
		)
		if v < 10 {
			cases = append(cases,
				xcase{name: "ImageScaler", opset: v, op: "ImageScaler", inputs: []*tensor.Tensor{x4}, attrs: []*onnxpb.AttributeProto{aFloat("scale", 0.5), aFloats("bias", 1, 2, 3, 4, 5, 6, 7)}},
				xcase{name: "UpsampleNearest", opset: v, op: "Upsample", inputs: []*tensor.Tensor{x4, f32([]int{4}, 1, 1, 2, 3)}},
				xcase{name: "UpsampleLinear", opset: v, op: "Upsample", inputs: []*tensor.Tensor{x4, f32([]int{4}, 1, 1, 2, 1.5)}, attrs: []*onnxpb.AttributeProto{aStr("mode", "linear")}},
			)
			continue
		}
		cases = append(cases,
			xcase{name: "DepthToSpaceDCR", opset: v, op: "DepthToSpace", inputs: []*tensor.Tensor{randF32(r, []int{2, 8, 3, 5}, -1, 1)}, attrs: []*onnxpb.AttributeProto{aInt("blocksize", 2)}},
			xcase{name: "SpaceToDepth", opset: v, op: "SpaceToDepth", inputs: []*tensor.Tensor{randF32(r, []int{2, 3, 4, 6}, -1, 1)}, attrs: []*onnxpb.AttributeProto{aInt("blocksize", 2)}},
			xcase{name: "ArgMax", opset: v, op: "ArgMax", inputs: []*tensor.Tensor{x4}, attrs: []*onnxpb.AttributeProto{aInt("axis", 1)}, outs: []onnxpb.TensorProto_DataType{I}},
			xcase{name: "ArgMinFlat", opset: v, op: "ArgMin", inputs: []*tensor.Tensor{x4}, attrs: []*onnxpb.AttributeProto{aInt("axis", -1), aInt("keepdims", 0)}, outs: []onnxpb.TensorProto_DataType{I}},
		)
		if v == 10 {
			cases = append(cases, xcase{name: "Resize10", opset: v, op: "Resize", inputs: []*tensor.Tensor{x4, f32([]int{4}, 1, 1, 0.5, 2.5)}})
		} else {
			scales := f32([]int{4}, 1, 1, 1.7, 0.6)
			sizes := i64([]int{4}, 2, 7, 9, 4)
			for _, coord := range []string{"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"} {
				for _, mode := range []string{"nearest", "linear"} {
					cases = append(cases,
						xcase{name: "Resize_" + mode + "_" + coord, opset: v, op: "Resize", inputs: []*tensor.Tensor{x4, nil, scales},
							attrs: []*onnxpb.AttributeProto{aStr("mode", mode), aStr("coordinate_transformation_mode", coord)}},
						xcase{name: "ResizeSizes_" + mode + "_" + coord, opset: v, op: "Resize", inputs: []*tensor.Tensor{x4, nil, nil, sizes},
							attrs: []*onnxpb.AttributeProto{aStr("mode", mode), aStr("coordinate_transformation_mode", coord)}},
					)
				}
			}
			for _, nm := range []string{"round_prefer_ceil", "floor", "ceil"} {
				cases = append(cases, xcase{name: "ResizeNearest_" + nm, opset: v, op: "Resize", inputs: []*tensor.Tensor{x4, nil, f32([]int{4}, 1, 1, 2.5, 1.5)},
					attrs: []*onnxpb.AttributeProto{aStr("nearest_mode", nm)}})
			}
			cases = append(cases,
				xcase{name: "DepthToSpaceCRD", opset: v, op: "DepthToSpace", inputs: []*tensor.Tensor{randF32(r, []int{2, 8, 3, 5}, -1, 1)}, attrs: []*onnxpb.AttributeProto{aInt("blocksize", 2), aStr("mode", "CRD")}},
				xcase{name: "RangeInt", opset: v, op: "Range", inputs: []*tensor.Tensor{i64([]int{}, 10), i64([]int{}, -3), i64([]int{}, -4)}, outs: []onnxpb.TensorProto_DataType{I}},
				xcase{name: "RangeFloat", opset: v, op: "Range", inputs: []*tensor.Tensor{f32([]int{}, 0.5), f32([]int{}, 3), f32([]int{}, 0.7)}},
			)
		}
		// ceil_mode and Mod exist from opset 10 on.
		cases = append(cases,
			xcase{name: "MaxPoolCeil", opset: v, op: "MaxPool", inputs: []*tensor.Tensor{x4}, attrs: []*onnxpb.AttributeProto{aInts("kernel_shape", 3, 3), aInts("strides", 2, 2), aInts("pads", 1, 0, 1, 0), aInt("ceil_mode", 1)}},
			xcase{name: "AvgPoolCeilPad", opset: v, op: "AveragePool", inputs: []*tensor.Tensor{x4}, attrs: []*onnxpb.AttributeProto{aInts("kernel_shape", 3, 2), aInts("strides", 2, 2), aInts("pads", 1, 1, 1, 0), aInt("ceil_mode", 1), aInt("count_include_pad", 1)}},
			xcase{name: "AvgPoolK1S2", opset: v, op: "AveragePool", inputs: []*tensor.Tensor{x4}, attrs: []*onnxpb.AttributeProto{aInts("kernel_shape", 1, 1), aInts("strides", 2, 2)}},
			xcase{name: "ModInt", opset: v, op: "Mod", inputs: []*tensor.Tensor{ints, divs}, outs: []onnxpb.TensorProto_DataType{I}},
			xcase{name: "FmodInt", opset: v, op: "Mod", inputs: []*tensor.Tensor{ints, divs}, attrs: []*onnxpb.AttributeProto{aInt("fmod", 1)}, outs: []onnxpb.TensorProto_DataType{I}},
			xcase{name: "FmodFloat", opset: v, op: "Mod", inputs: []*tensor.Tensor{x4, f32([]int{1}, 1.3)}, attrs: []*onnxpb.AttributeProto{aInt("fmod", 1)}},
		)
		if v < 13 {
			cases = append(cases,
				xcase{name: "ReduceSum", opset: v, op: "ReduceSum", inputs: []*tensor.Tensor{x4}, attrs: []*onnxpb.AttributeProto{aInts("axes", 1, 3)}},
				xcase{name: "ReduceMax", opset: v, op: "ReduceMax", inputs: []*tensor.Tensor{x4}, attrs: []*onnxpb.AttributeProto{aInts("axes", -1), aInt("keepdims", 0)}},
				xcase{name: "ReduceMin", opset: v, op: "ReduceMin", inputs: []*tensor.Tensor{x4}},
				xcase{name: "BatchNorm", opset: v, op: "BatchNormalization", inputs: []*tensor.Tensor{x4, randF32(r, []int{7}, 0.5, 2), randF32(r, []int{7}, -1, 1), randF32(r, []int{7}, -1, 1), randF32(r, []int{7}, 0.5, 2)}},
			)
		} else {
			cases = append(cases,
				xcase{name: "ReduceSum", opset: v, op: "ReduceSum", inputs: []*tensor.Tensor{x4, i64([]int{2}, 1, 3)}},
				xcase{name: "LessOrEqual", opset: v, op: "LessOrEqual", inputs: []*tensor.Tensor{ints, i64([]int{1}, 5)}, outs: []onnxpb.TensorProto_DataType{onnxpb.TensorProto_BOOL}},
				xcase{name: "GreaterOrEqual", opset: v, op: "GreaterOrEqual", inputs: []*tensor.Tensor{x4, f32([]int{6}, -1, 0, 1, 2, 0.5, -0.5)}, outs: []onnxpb.TensorProto_DataType{onnxpb.TensorProto_BOOL}},
				xcase{name: "Round", opset: v, op: "Round", inputs: []*tensor.Tensor{f32([]int{6}, 0.5, 1.5, 2.5, -0.5, -1.5, 2.4)}},
				xcase{name: "Where", opset: v, op: "Where", pre: "Greater", inputs: []*tensor.Tensor{x4, f32([]int{1}, 0), x4, f32([]int{6}, 1, 2, 3, 4, 5, 6)}},
			)
		}
		if v >= 18 {
			cases = append(cases,
				xcase{name: "Mish", opset: v, op: "Mish", inputs: []*tensor.Tensor{x4}},
				xcase{name: "ReduceMax", opset: v, op: "ReduceMax", inputs: []*tensor.Tensor{x4, i64([]int{1}, 2)}},
			)
		}
	}
	// Older forms, from the opset-7/8 era of the model zoo.
	for _, v := range []int64{7, 8} {
		cases = append(cases,
			xcase{name: "Upsample", opset: v, op: "Upsample", inputs: []*tensor.Tensor{x4}, attrs: []*onnxpb.AttributeProto{aFloats("scales", 1, 1, 2, 2)}},
			xcase{name: "BatchNormSpatial", opset: v, op: "BatchNormalization", inputs: []*tensor.Tensor{x4, randF32(r, []int{7}, 0.5, 2), randF32(r, []int{7}, -1, 1), randF32(r, []int{7}, -1, 1), randF32(r, []int{7}, 0.5, 2)}, attrs: []*onnxpb.AttributeProto{aInt("spatial", 1)}},
			xcase{name: "Dropout", opset: v, op: "Dropout", inputs: []*tensor.Tensor{x4}, attrs: []*onnxpb.AttributeProto{aFloat("ratio", 0.3)}},
			xcase{name: "GemmC", opset: v, op: "Gemm", inputs: []*tensor.Tensor{randF32(r, []int{3, 5}, -1, 1), randF32(r, []int{5, 4}, -1, 1), randF32(r, []int{1, 4}, -1, 1)}},
			xcase{name: "MaxPool", opset: v, op: "MaxPool", inputs: []*tensor.Tensor{x4}, attrs: []*onnxpb.AttributeProto{aInts("kernel_shape", 2, 2), aInts("strides", 2, 2)}},
			xcase{name: "AvgPoolPad", opset: v, op: "AveragePool", inputs: []*tensor.Tensor{x4}, attrs: []*onnxpb.AttributeProto{aInts("kernel_shape", 3, 3), aInts("pads", 1, 1, 1, 1)}},
			xcase{name: "Softmax", opset: v, op: "Softmax", inputs: []*tensor.Tensor{x4}},
			xcase{name: "Sum", opset: v, op: "Sum", inputs: []*tensor.Tensor{x4, x4}},
		)
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/opset%d", c.name, c.opset), func(t *testing.T) {
			b := newGB(c.opset)
			feeds := map[string]*tensor.Tensor{}
			var names []string
			for i, x := range c.inputs {
				if x == nil {
					names = append(names, "")
					continue
				}
				name := fmt.Sprintf("x%d", i)
				dt := onnxpb.TensorProto_FLOAT
				if x.DType == tensor.Int64 {
					dt = onnxpb.TensorProto_INT64
				}
				dims := make([]int64, len(x.Shape))
				for k, d := range x.Shape {
					dims[k] = int64(d)
				}
				b.input(name, dt, dims...)
				feeds[name] = x
				names = append(names, name)
			}
			if c.pre != "" {
				var conds []string
				for k := 0; k < max(c.preN, 1); k++ {
					cond := fmt.Sprintf("cond%d", k)
					b.node(c.pre, names[2*k:2*k+2], []string{cond})
					conds = append(conds, cond)
				}
				names = append(conds, names[2*len(conds):]...)
			}
			outs := []string{"y"}
			if len(c.outs) > 1 {
				outs = append(outs, "y1")
			}
			b.node(c.op, names, outs, c.attrs...)
			for i, o := range outs {
				dt := onnxpb.TensorProto_FLOAT
				if c.outs != nil {
					dt = c.outs[i]
				}
				if dt == onnxpb.TensorProto_BOOL {
					// ONNX Runtime's Go binding returns no BOOL tensors.
					b.node("Cast", []string{o}, []string{o + "_i64"}, aInt("to", int64(onnxpb.TensorProto_INT64)))
					o, dt = o+"_i64", onnxpb.TensorProto_INT64
				}
				b.g.Output = append(b.g.Output, valueInfo32(o, dt, nil))
			}
			m := b.model()
			want := ortRun(t, m, feeds)
			e, err := Open(m, Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Run(context.Background(), feeds, nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.op == "Dropout" && c.opset < 12 && len(c.outs) > 1 {
				// Before opset 12 ONNX Runtime returns an all-false mask;
				// the ONNX specification (and its reference evaluator)
				// keep every element in inference: all ones.
				mask := got["y1"]
				if c.opset >= 10 {
					mask = got["y1_i64"]
				}
				for _, v := range mask.Float64s() {
					if v != 1 {
						t.Fatalf("Dropout mask holds %g, want all ones", v)
					}
				}
				for _, k := range []string{"y1", "y1_i64"} {
					delete(got, k)
					delete(want, k)
				}
			}
			sameOutputs(t, got, want, 1e-5)
		})
	}
}

func maskType(opset int64) onnxpb.TensorProto_DataType {
	if opset < 10 {
		return onnxpb.TensorProto_FLOAT
	}
	return onnxpb.TensorProto_BOOL
}

// TestZooNetworksRandomWeightsMatchONNXRuntime gives the zoo networks
// random weights (each weight-making ConstantOfShape becomes a random
// initializer, scaled by its fan-in) and a random input, exposes the logits
// before Softmax too, and requires the Go engine to match ONNX Runtime
// within 1e-3 of max|y|.
func TestZooNetworksRandomWeightsMatchONNXRuntime(t *testing.T) {
	models, err := filepath.Glob(filepath.Join(sharedDir, "onnx-zoo-light", "*.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range models {
		if raceDetector && !strings.Contains(path, "squeezenet") {
			continue
		}
		t.Run(strings.TrimSuffix(filepath.Base(path), ".onnx"), func(t *testing.T) {
			m := loadModel(t, path)
			r := rand.New(rand.NewPCG(1, uint64(len(path))))
			g := m.GetGraph()
			var kept []*onnxpb.NodeProto
			for _, n := range g.GetNode() {
				if n.GetOpType() != "ConstantOfShape" {
					kept = append(kept, n)
					continue
				}
				shape := constShape(t, g, n.GetInput()[0])
				fan := 1
				for _, d := range shape[1:] {
					fan *= d
				}
				a := float32(math.Sqrt(6 / float64(fan)))
				if len(shape) == 1 {
					a = 0.2
				}
				g.Initializer = append(g.Initializer, onnxmodel.FromTensor(n.GetOutput()[0], randF32(r, shape, -a, a)))
			}
			g.Node = kept
			for _, n := range g.GetNode() {
				if n.GetOpType() == "Softmax" {
					g.Output = append(g.Output, valueInfo32(n.GetInput()[0], onnxpb.TensorProto_FLOAT, nil))
				}
			}
			if len(g.GetOutput()) < 2 {
				t.Fatal("no Softmax found to expose its logits")
			}
			x, err := tensor.ReadNPY(strings.TrimSuffix(path, ".onnx") + "_input.npy")
			if err != nil {
				t.Fatal(err)
			}
			name, err := os.ReadFile(strings.TrimSuffix(path, ".onnx") + "_input.name")
			if err != nil {
				t.Fatal(err)
			}
			feeds := map[string]*tensor.Tensor{strings.TrimSpace(string(name)): randF32(r, x.Shape, 0, 1)}
			want := ortRun(t, m, feeds)
			e, err := Open(m, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Run(context.Background(), feeds, nil)
			if err != nil {
				t.Fatal(err)
			}
			for name, w := range want {
				t.Logf("%s: max|y| %.3g", name, w.MaxAbs())
			}
			sameOutputs(t, got, want, 1e-3)
		})
	}
}

// constShape reads the INT64 initializer or Constant output name.
func constShape(t *testing.T, g *onnxpb.GraphProto, name string) []int {
	t.Helper()
	for _, init := range g.GetInitializer() {
		if init.GetName() == name {
			v, err := onnxmodel.Int64s(init)
			if err != nil {
				t.Fatal(err)
			}
			out := make([]int, len(v))
			for i, d := range v {
				out[i] = int(d)
			}
			return out
		}
	}
	t.Fatalf("shape %q is not an initializer", name)
	return nil
}

func aFloats(name string, v ...float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: strp(name), Type: onnxpb.AttributeProto_FLOATS.Enum(), Floats: v}
}
