package goexec

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
)

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one mentioning %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not mention %q", err, p)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	t.Run("unknown op", func(t *testing.T) {
		b := newGB(13).input("x", onnxpb.TensorProto_FLOAT, 2)
		n := b.node("FancyOp", []string{"x"}, []string{"y"})
		n.Name = strp("my_node")
		_, err := Open(b.output("y").model(), Options{})
		wantErr(t, err, "FancyOp", `"my_node"`)
	})
	t.Run("unknown domain", func(t *testing.T) {
		b := newGB(13).input("x", onnxpb.TensorProto_FLOAT, 2)
		b.extra = append(b.extra, &onnxpb.OperatorSetIdProto{Domain: strp("com.microsoft"), Version: ptr(int64(1))})
		n := b.node("FusedGemm", []string{"x"}, []string{"y"})
		n.Domain = strp("com.microsoft")
		_, err := Open(b.output("y").model(), Options{})
		wantErr(t, err, "FusedGemm", "com.microsoft")
	})
	t.Run("unsupported opset", func(t *testing.T) {
		b := newGB(25).input("x", onnxpb.TensorProto_FLOAT, 2)
		b.node("Relu", []string{"x"}, []string{"y"})
		_, err := Open(b.output("y").model(), Options{})
		wantErr(t, err, "opset 25")
	})
	t.Run("op too old", func(t *testing.T) {
		b := newGB(16).input("x", onnxpb.TensorProto_FLOAT, 2)
		b.node("LayerNormalization", []string{"x", "x"}, []string{"y"})
		_, err := Open(b.output("y").model(), Options{})
		wantErr(t, err, "LayerNormalization", "opset 16", "supported at opsets 17-21")
	})
	t.Run("unsupported attribute", func(t *testing.T) {
		b := newGB(13).input("x", onnxpb.TensorProto_FLOAT, 2)
		b.node("Relu", []string{"x"}, []string{"y"}, aInt("fancy", 1))
		_, err := Open(b.output("y").model(), Options{})
		wantErr(t, err, "Relu", "fancy")
	})
	t.Run("bad auto_pad", func(t *testing.T) {
		b := newGB(13).input("x", onnxpb.TensorProto_FLOAT, 1, 1, 4, 4).init("w", f32([]int{1, 1, 1, 1}, 1))
		b.node("Conv", []string{"x", "w"}, []string{"y"}, aStr("auto_pad", "MIDDLE"))
		_, err := Open(b.output("y").model(), Options{})
		wantErr(t, err, "Conv", "MIDDLE")
	})
	t.Run("missing input", func(t *testing.T) {
		b := newGB(13).input("x", onnxpb.TensorProto_FLOAT, 2)
		b.node("Add", []string{"x", "nowhere"}, []string{"y"})
		_, err := Open(b.output("y").model(), Options{})
		wantErr(t, err, "Add", `"nowhere"`, "not a graph input")
	})
	t.Run("cycle", func(t *testing.T) {
		b := newGB(13).input("x", onnxpb.TensorProto_FLOAT, 2)
		b.node("Add", []string{"x", "b"}, []string{"a"})
		b.node("Relu", []string{"a"}, []string{"b"})
		_, err := Open(b.output("b").model(), Options{})
		wantErr(t, err, "cycle")
	})
	t.Run("duplicate output", func(t *testing.T) {
		b := newGB(13).input("x", onnxpb.TensorProto_FLOAT, 2)
		b.node("Relu", []string{"x"}, []string{"y"})
		b.node("Neg", []string{"x"}, []string{"y"})
		_, err := Open(b.output("y").model(), Options{})
		wantErr(t, err, `"y"`, "produced twice")
	})
	t.Run("wrong arity", func(t *testing.T) {
		b := newGB(13).input("x", onnxpb.TensorProto_FLOAT, 2)
		b.node("Add", []string{"x"}, []string{"y"})
		_, err := Open(b.output("y").model(), Options{})
		wantErr(t, err, "Add", "takes 2 inputs")
	})
	t.Run("graph output missing", func(t *testing.T) {
		b := newGB(13).input("x", onnxpb.TensorProto_FLOAT, 2)
		b.node("Relu", []string{"x"}, []string{"y"})
		_, err := Open(b.output("z").model(), Options{})
		wantErr(t, err, `"z"`)
	})
	t.Run("no graph", func(t *testing.T) {
		_, err := Open(&onnxpb.ModelProto{}, Options{})
		wantErr(t, err, "no graph")
	})
	t.Run("runtime error names node", func(t *testing.T) {
		b := newGB(13).inputAnyShape("x", onnxpb.TensorProto_FLOAT).inputAnyShape("z", onnxpb.TensorProto_FLOAT)
		n := b.node("MatMul", []string{"x", "z"}, []string{"y"})
		n.Name = strp("mm")
		e := b.output("y").open(t)
		_, err := e.Run(context.Background(), map[string]*tensor.Tensor{"x": seq(2, 3), "z": seq(2, 3)}, nil)
		wantErr(t, err, `"mm"`, "MatMul", "do not multiply")
	})
}

func TestRunInputChecks(t *testing.T) {
	b := newGB(13).input("x", onnxpb.TensorProto_FLOAT, -1, 3).input("n", onnxpb.TensorProto_INT64, 1)
	b.node("Relu", []string{"x"}, []string{"y"})
	b.node("Neg", []string{"n"}, []string{"m"})
	e := b.output("y", "m").open(t)
	ok := map[string]*tensor.Tensor{"x": seq(5, 3), "n": i64([]int{1}, 4)}
	res := run1(t, e, ok)
	expectI64(t, res["m"], []int{1}, -4)
	if len(res["y"].F32) != 15 {
		t.Fatalf("dynamic batch: y shape %v", res["y"].Shape)
	}
	cases := []struct {
		in   map[string]*tensor.Tensor
		want []string
	}{
		{map[string]*tensor.Tensor{"x": seq(5, 3)}, []string{`"n"`, "missing"}},
		{map[string]*tensor.Tensor{"x": seq(5, 4), "n": i64([]int{1}, 1)}, []string{`"x"`, "dimension 1 must be 3"}},
		{map[string]*tensor.Tensor{"x": seq(15), "n": i64([]int{1}, 1)}, []string{`"x"`, "rank 1"}},
		{map[string]*tensor.Tensor{"x": seq(5, 3), "n": f32([]int{1}, 1)}, []string{`"n"`, "float32", "int64"}},
		{map[string]*tensor.Tensor{"x": seq(5, 3), "n": i64([]int{1}, 1), "q": seq(1)}, []string{`"q"`, "not an input"}},
		{map[string]*tensor.Tensor{"x": {DType: tensor.Float32, Shape: []int{2, 3}, F32: make([]float32, 5)}, "n": i64([]int{1}, 1)}, []string{`"x"`, "needs 6"}},
	}
	for _, c := range cases {
		_, err := e.Run(context.Background(), c.in, nil)
		wantErr(t, err, c.want...)
	}
	_, err := e.Run(context.Background(), ok, []string{"nothing"})
	wantErr(t, err, `"nothing"`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = e.Run(ctx, ok, nil)
	wantErr(t, err, "canceled")
}

// TestIntermediateOutputs asks for tensors inside the graph and for a
// subset of outputs; only what is needed runs.
func TestIntermediateOutputs(t *testing.T) {
	b := newGB(13).input("x", onnxpb.TensorProto_FLOAT, 3).init("c", f32([]int{3}, 1, 2, 3))
	b.node("Mul", []string{"x", "c"}, []string{"m"})
	b.node("Neg", []string{"m"}, []string{"y"})
	b.node("Reshape", []string{"x", "c"}, []string{"never"}) // fails if run: not needed for y
	e := b.output("y").open(t)
	res := run1(t, e, map[string]*tensor.Tensor{"x": f32([]int{3}, 1, 1, 2)}, "m", "y", "c", "x")
	expectF32(t, res["m"], []int{3}, 1, 2, 6)
	expectF32(t, res["y"], []int{3}, -1, -2, -6)
	expectF32(t, res["c"], []int{3}, 1, 2, 3)
	expectF32(t, res["x"], []int{3}, 1, 1, 2)
	// The caller owns results: changing one does not change the engine's constant.
	res["c"].F32[0] = 100
	res = run1(t, e, map[string]*tensor.Tensor{"x": f32([]int{3}, 1, 1, 2)}, "c")
	expectF32(t, res["c"], []int{3}, 1, 2, 3)
}

// TestConstantFolding: Constant nodes and constant-only subgraphs (shape
// arithmetic) are evaluated at Open.
func TestConstantFolding(t *testing.T) {
	b := newGB(13).input("x", onnxpb.TensorProto_FLOAT, 2, 6)
	b.node("Constant", nil, []string{"k"}, aTensor("value", i64([]int{2}, 3, -1)))
	b.node("Constant", nil, []string{"two"}, &onnxpb.AttributeProto{Name: strp("value_ints"), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: []int64{2, 1}})
	b.node("Mul", []string{"k", "two"}, []string{"k2"})
	b.node("Reshape", []string{"x", "k2"}, []string{"y"})
	e := b.output("y").open(t)
	if len(e.nodes) != 1 {
		t.Errorf("%d nodes left to run, want 1 (Reshape)", len(e.nodes))
	}
	res := run1(t, e, map[string]*tensor.Tensor{"x": seq(2, 6)}, "y", "k2")
	expectF32(t, res["y"], []int{6, 2}, seq(12).F32...)
	expectI64(t, res["k2"], []int{2}, 6, -1)
}

// TestFunctionInlining runs a model-local function with an attribute
// reference, a default, a nested function call and an unused output.
func TestFunctionInlining(t *testing.T) {
	inner := &onnxpb.FunctionProto{
		Name: strp("ScaleAdd"), Domain: strp("local"),
		Input: []string{"a", "b"}, Output: []string{"o"}, Attribute: []string{"alpha"},
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: strp(""), Version: ptr(int64(13))}},
		Node: []*onnxpb.NodeProto{
			{OpType: strp("Constant"), Output: []string{"k"}, Attribute: []*onnxpb.AttributeProto{{Name: strp("value_float"), Type: onnxpb.AttributeProto_FLOAT.Enum(), RefAttrName: strp("alpha")}}},
			{OpType: strp("Mul"), Input: []string{"a", "k"}, Output: []string{"t"}},
			{OpType: strp("Add"), Input: []string{"t", "b"}, Output: []string{"o"}},
		},
	}
	outer := &onnxpb.FunctionProto{
		Name: strp("Block"), Domain: strp("local"),
		Input: []string{"x"}, Output: []string{"y", "unused"}, Attribute: []string{"s"},
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: strp(""), Version: ptr(int64(13))}, {Domain: strp("local"), Version: ptr(int64(1))}},
		Node: []*onnxpb.NodeProto{
			{OpType: strp("Relu"), Input: []string{"x"}, Output: []string{"r"}},
			{OpType: strp("ScaleAdd"), Domain: strp("local"), Input: []string{"r", "x"}, Output: []string{"y"},
				Attribute: []*onnxpb.AttributeProto{{Name: strp("alpha"), Type: onnxpb.AttributeProto_FLOAT.Enum(), RefAttrName: strp("s")}}},
			{OpType: strp("Neg"), Input: []string{"x"}, Output: []string{"unused"}},
		},
	}
	b := newGB(13).input("x", onnxpb.TensorProto_FLOAT, 3)
	b.extra = append(b.extra, &onnxpb.OperatorSetIdProto{Domain: strp("local"), Version: ptr(int64(1))})
	b.funcs = []*onnxpb.FunctionProto{inner, outer}
	n1 := b.node("Block", []string{"x"}, []string{"y1"}, aFloat("s", 10))
	n1.Domain = strp("local")
	n2 := b.node("Block", []string{"y1"}, []string{"y2"}, aFloat("s", 0.5))
	n2.Domain = strp("local")
	e := b.output("y2").open(t)
	res := run1(t, e, map[string]*tensor.Tensor{"x": f32([]int{3}, -1, 0, 2)}, "y1", "y2")
	// Block(x) = relu(x)*s + x.
	expectF32(t, res["y1"], []int{3}, -1, 0, 22)
	expectF32(t, res["y2"], []int{3}, -1, 0, 33)

	// A missing attribute reference without a default leaves Constant
	// without a value: a clear error naming the node.
	b3 := newGB(13).input("x", onnxpb.TensorProto_FLOAT, 3)
	b3.extra = b.extra
	b3.funcs = []*onnxpb.FunctionProto{inner}
	n3 := b3.node("ScaleAdd", []string{"x", "x"}, []string{"y"})
	n3.Domain = strp("local")
	_, err := Open(b3.output("y").model(), Options{})
	wantErr(t, err, "Constant", "ScaleAdd")

	// Recursion is caught.
	rec := &onnxpb.FunctionProto{Name: strp("Loop"), Domain: strp("local"), Input: []string{"a"}, Output: []string{"b"},
		Node: []*onnxpb.NodeProto{{OpType: strp("Loop"), Domain: strp("local"), Input: []string{"a"}, Output: []string{"b"}}}}
	b4 := newGB(13).input("x", onnxpb.TensorProto_FLOAT, 3)
	b4.extra = b.extra
	b4.funcs = []*onnxpb.FunctionProto{rec}
	n4 := b4.node("Loop", []string{"x"}, []string{"y"})
	n4.Domain = strp("local")
	_, err = Open(b4.output("y").model(), Options{})
	wantErr(t, err, "nested deeper")
}

// TestConcurrentRuns runs one engine from 8 goroutines with different
// inputs; each result must equal the sequential one (run with -race).
func TestConcurrentRuns(t *testing.T) {
	b := newGB(13).input("x", onnxpb.TensorProto_FLOAT, 1, 4, 12, 12).
		init("w1", tensor.NewFloat32([]int{8, 4, 3, 3}, randSlice(288, 1))).
		init("w2", tensor.NewFloat32([]int{8, 1, 3, 3}, randSlice(72, 2))).
		init("b", tensor.NewFloat32([]int{8}, randSlice(8, 3)))
	b.node("Conv", []string{"x", "w1", "b"}, []string{"c1"}, aInts("pads", 1, 1, 1, 1))
	b.node("Relu", []string{"c1"}, []string{"r"})
	b.node("Conv", []string{"r", "w2"}, []string{"c2"}, aInts("pads", 1, 1, 1, 1), aInt("group", 8))
	b.node("GlobalAveragePool", []string{"c2"}, []string{"g"})
	b.node("Flatten", []string{"g"}, []string{"y"})
	e := b.output("y").open(t)
	const workers = 8
	inputs := make([]*tensor.Tensor, workers)
	want := make([]*tensor.Tensor, workers)
	for i := range inputs {
		inputs[i] = tensor.NewFloat32([]int{1, 4, 12, 12}, randSlice(576, uint32(10+i)))
		want[i] = run1(t, e, map[string]*tensor.Tensor{"x": inputs[i]})["y"]
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for rep := 0; rep < 5; rep++ {
				res, err := e.Run(context.Background(), map[string]*tensor.Tensor{"x": inputs[i]}, nil)
				if err != nil {
					errs <- err
					return
				}
				if err := compare(res["y"], want[i], 0, 0); err != nil {
					errs <- fmt.Errorf("worker %d: %w", i, err)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Every Run said when it ended: the workers sleep between Runs.
	if n := e.threads.runs.Load(); n != 0 {
		t.Errorf("%d Runs still counted as in progress after all returned", n)
	}
	// A Run that stops midway (cancelled between nodes) ends too.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Run(ctx, map[string]*tensor.Tensor{"x": inputs[0]}, nil); err == nil {
		t.Error("a cancelled Run succeeded")
	}
	if n := e.threads.runs.Load(); n != 0 {
		t.Errorf("%d Runs counted as in progress after a failed one", n)
	}
}

func TestInitializerOverride(t *testing.T) {
	// Old IR: an initializer also listed as an input may be replaced.
	b := newGB(13).input("x", onnxpb.TensorProto_FLOAT, 2).input("w", onnxpb.TensorProto_FLOAT, 2).init("w", f32([]int{2}, 1, 1))
	b.node("Mul", []string{"x", "w"}, []string{"y"})
	e := b.output("y").open(t)
	if len(e.Inputs()) != 1 || e.Inputs()[0].Name != "x" {
		t.Fatalf("Inputs() = %+v, want only x", e.Inputs())
	}
	expectF32(t, run1(t, e, map[string]*tensor.Tensor{"x": f32([]int{2}, 2, 3)})["y"], []int{2}, 2, 3)
	expectF32(t, run1(t, e, map[string]*tensor.Tensor{"x": f32([]int{2}, 2, 3), "w": f32([]int{2}, 10, 0)})["y"], []int{2}, 20, 0)
}

// TestFusionKeepsIntermediates checks that Conv+activation fusion gives the
// unfused results and that the pre-activation tensor can still be requested.
func TestFusionKeepsIntermediates(t *testing.T) {
	for _, act := range []string{"Relu", "Clip6", "LeakyRelu", "HardSwish", "Sigmoid"} {
		t.Run(act, func(t *testing.T) {
			b := newGB(14).input("x", onnxpb.TensorProto_FLOAT, 1, 3, 9, 9).
				init("w", tensor.NewFloat32([]int{4, 3, 3, 3}, randSlice(108, 5))).
				init("dw", tensor.NewFloat32([]int{4, 1, 3, 3}, randSlice(36, 6)))
			b.node("Conv", []string{"x", "w"}, []string{"c"}, aInts("pads", 1, 1, 1, 1))
			op := act
			var ins []string
			if act == "Clip6" {
				op = "Clip"
				b.init("lo", f32([]int{}, 0)).init("hi", f32([]int{}, 0.5))
				ins = []string{"lo", "hi"}
			}
			b.node(op, append([]string{"c"}, ins...), []string{"y"})
			b.node("Conv", []string{"y", "dw"}, []string{"d"}, aInts("pads", 1, 1, 1, 1), aInt("group", 4))
			b.node(op, append([]string{"d"}, ins...), []string{"z"})
			e := b.output("z").open(t)
			if len(e.fused.nodes) != 2 {
				t.Fatalf("fused plan has %d nodes, want 2", len(e.fused.nodes))
			}
			x := tensor.NewFloat32([]int{1, 3, 9, 9}, randSlice(243, 7))
			fused := run1(t, e, map[string]*tensor.Tensor{"x": x})
			all := run1(t, e, map[string]*tensor.Tensor{"x": x}, "y", "z", "c", "d")
			sameTensor(t, fused["z"], all["z"])
			neg := false
			for _, v := range all["c"].F32 {
				neg = neg || v < 0
			}
			if !neg {
				t.Fatal("requested pre-activation tensor c has no negative values: activation applied?")
			}
			u := &unaryOp{kind: op, alpha: 0.01, lo: 0, hi: 0.5}
			want := make([]float32, len(all["c"].F32))
			u.applyRange(want, all["c"].F32)
			sameTensor(t, all["y"], tensor.NewFloat32(all["c"].Shape, want))
		})
	}
}
