package synth

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
)

func TestConvNeXtTiny(t *testing.T) {
	m := ConvNeXtTiny(1)
	n := ParamCount(m)
	t.Logf("%d parameters, %d nodes, %d initializers", n, len(m.GetGraph().GetNode()), len(m.GetGraph().GetInitializer()))
	if n < 27_000_000 || n > 30_000_000 {
		t.Errorf("%d parameters, want 27M..30M", n)
	}
	if m.GetIrVersion() != 8 || len(m.GetOpsetImport()) != 1 || m.GetOpsetImport()[0].GetVersion() != 17 {
		t.Errorf("IR %d, opsets %v; want IR 8, opset 17", m.GetIrVersion(), m.GetOpsetImport())
	}
	checkWellFormed(t, m)
	out := checkShapes(t, m)
	if !slices.Equal(out, []int64{1, 1000}) {
		t.Errorf("output shape %v, want [1 1000]", out)
	}
	if err := onnxmodel.Validate(m); err != nil {
		t.Errorf("onnxmodel.Validate: %v", err)
	}
	var dw []string
	for _, nd := range m.GetGraph().GetNode() {
		if nd.GetOpType() == "Conv" && attr(nd, "group").GetI() > 1 {
			dw = append(dw, nd.GetName())
		}
	}
	if len(dw) != 18 || dw[0] != "stage0/block0/dwconv" || dw[17] != "stage3/block2/dwconv" {
		t.Errorf("depthwise convs %v, want 18 from stage0/block0 to stage3/block2", dw)
	}
}

func TestDeterministic(t *testing.T) {
	c := Config{Depths: []int{1, 2}, Dims: []int{8, 16}, Classes: 10, Image: 32, Seed: 7}
	marshal := func(c Config) []byte {
		m, err := ConvNeXt(c)
		if err != nil {
			t.Fatal(err)
		}
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b := marshal(c), marshal(c)
	if !bytes.Equal(a, b) {
		t.Error("same seed, different models")
	}
	c.Seed = 8
	if bytes.Equal(a, marshal(c)) {
		t.Error("different seeds, same model")
	}
}

func TestSmallConfigShapes(t *testing.T) {
	c := Config{Depths: []int{1, 1, 2}, Dims: []int{8, 16, 24}, Classes: 5, Image: 48, Seed: 3}
	m, err := ConvNeXt(c)
	if err != nil {
		t.Fatal(err)
	}
	checkWellFormed(t, m)
	if out := checkShapes(t, m); !slices.Equal(out, []int64{1, 5}) {
		t.Errorf("output shape %v, want [1 5]", out)
	}
	// Params by formula: stem, blocks, downsamplings, head.
	want := int64(3*8*16 + 8 + 2*8)
	block := func(c int64) int64 { return 49*c + c + 2*c + 4*c*c + 4*c + 4*c*c + c + c }
	want += block(8) + block(16) + 2*block(24)
	want += (2*8 + 4*8*16 + 16) + (2*16 + 4*16*24 + 24)
	want += 2*24 + 24*5 + 5 + 3 // head norm, fc, GELU scalars
	if got := ParamCount(m); got != want {
		t.Errorf("%d parameters, want %d", got, want)
	}
}

func TestWeightStatistics(t *testing.T) {
	m, err := ConvNeXt(Config{Depths: []int{1}, Dims: []int{64}, Classes: 3, Image: 8, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range m.GetGraph().GetInitializer() {
		if in.GetName() != "stage0/block0/pwconv1.weight" {
			continue
		}
		v, err := onnxmodel.Float32s(in)
		if err != nil {
			t.Fatal(err)
		}
		// He-uniform with fan-in 64: variance 2/64.
		var sum, sq float64
		for _, x := range v {
			sum += float64(x)
			sq += float64(x) * float64(x)
		}
		mean, variance := sum/float64(len(v)), sq/float64(len(v))
		if mean < -0.005 || mean > 0.005 || variance < 0.9*2/64 || variance > 1.1*2/64 {
			t.Errorf("pwconv1 weights: mean %g, variance %g; want about 0 and %g", mean, variance, 2.0/64)
		}
		return
	}
	t.Fatal("no stage0/block0/pwconv1.weight")
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{
		{},
		{Depths: []int{1}, Dims: []int{8, 16}, Classes: 1, Image: 8},
		{Depths: []int{0}, Dims: []int{8}, Classes: 1, Image: 8},
		{Depths: []int{1}, Dims: []int{8}, Classes: 0, Image: 8},
		{Depths: []int{1, 1}, Dims: []int{8, 8}, Classes: 1, Image: 12},
	} {
		if _, err := ConvNeXt(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

// checkWellFormed: unique node names, every input defined before use (the
// node order is topological), every output produced once.
func checkWellFormed(t *testing.T, m *onnxpb.ModelProto) {
	t.Helper()
	g := m.GetGraph()
	defined := map[string]bool{}
	for _, in := range g.GetInput() {
		defined[in.GetName()] = true
	}
	for _, in := range g.GetInitializer() {
		if defined[in.GetName()] {
			t.Errorf("initializer %q defined twice", in.GetName())
		}
		defined[in.GetName()] = true
	}
	names := map[string]bool{}
	for _, n := range g.GetNode() {
		if n.GetName() == "" || names[n.GetName()] {
			t.Errorf("node name %q empty or repeated", n.GetName())
		}
		names[n.GetName()] = true
		for _, in := range n.GetInput() {
			if !defined[in] {
				t.Errorf("node %s reads %q before anything defines it", n.GetName(), in)
			}
		}
		for _, out := range n.GetOutput() {
			if defined[out] {
				t.Errorf("node %s redefines %q", n.GetName(), out)
			}
			defined[out] = true
		}
	}
	for _, out := range g.GetOutput() {
		if !defined[out.GetName()] {
			t.Errorf("graph output %q is not produced", out.GetName())
		}
	}
}

// checkShapes propagates static shapes through the operators synth uses,
// checking every weight against its input, and returns the graph output's
// shape.
func checkShapes(t *testing.T, m *onnxpb.ModelProto) []int64 {
	t.Helper()
	g := m.GetGraph()
	shape := map[string][]int64{}
	for _, in := range g.GetInitializer() {
		shape[in.GetName()] = in.GetDims()
		want := int64(4)
		for _, d := range in.GetDims() {
			want *= d
		}
		if int64(len(in.GetRawData())) != want {
			t.Errorf("initializer %s: %d raw bytes for dims %v", in.GetName(), len(in.GetRawData()), in.GetDims())
		}
	}
	for _, in := range g.GetInput() {
		for _, d := range in.GetType().GetTensorType().GetShape().GetDim() {
			shape[in.GetName()] = append(shape[in.GetName()], d.GetDimValue())
		}
	}
	for _, n := range g.GetNode() {
		s, err := infer(n, shape)
		if err != nil {
			t.Fatalf("node %s (%s): %v", n.GetName(), n.GetOpType(), err)
		}
		shape[n.GetOutput()[0]] = s
	}
	return shape[g.GetOutput()[0].GetName()]
}

func infer(n *onnxpb.NodeProto, shape map[string][]int64) ([]int64, error) {
	in := make([][]int64, len(n.GetInput()))
	for i, name := range n.GetInput() {
		s, ok := shape[name]
		if !ok {
			return nil, fmt.Errorf("input %q has no shape", name)
		}
		in[i] = s
	}
	x := in[0]
	switch n.GetOpType() {
	case "Conv":
		w, group := in[1], attr(n, "group").GetI()
		k, st, p := attr(n, "kernel_shape").GetInts(), attr(n, "strides").GetInts(), attr(n, "pads").GetInts()
		if len(x) != 4 || len(w) != 4 || x[1] != w[1]*group || w[0]%group != 0 || w[2] != k[0] || w[3] != k[1] {
			return nil, fmt.Errorf("input %v, weight %v, group %d, kernel %v disagree", x, w, group, k)
		}
		if len(in) > 2 && !slices.Equal(in[2], []int64{w[0]}) {
			return nil, fmt.Errorf("bias %v for %d outputs", in[2], w[0])
		}
		h := (x[2]+p[0]+p[2]-k[0])/st[0] + 1
		wd := (x[3]+p[1]+p[3]-k[1])/st[1] + 1
		return []int64{x[0], w[0], h, wd}, nil
	case "Transpose":
		perm := attr(n, "perm").GetInts()
		out := make([]int64, len(perm))
		for i, p := range perm {
			out[i] = x[p]
		}
		return out, nil
	case "LayerNormalization":
		c := x[len(x)-1]
		if attr(n, "axis").GetI() != -1 || !slices.Equal(in[1], []int64{c}) || !slices.Equal(in[2], []int64{c}) {
			return nil, fmt.Errorf("input %v, scale %v, bias %v", x, in[1], in[2])
		}
		return x, nil
	case "Div", "Add", "Mul":
		return broadcast(x, in[1])
	case "Erf":
		return x, nil
	case "GlobalAveragePool":
		return []int64{x[0], x[1], 1, 1}, nil
	case "Flatten":
		rest := int64(1)
		for _, d := range x[1:] {
			rest *= d
		}
		return []int64{x[0], rest}, nil
	case "Gemm":
		w := in[1]
		if attr(n, "transB").GetI() != 1 || len(x) != 2 || x[1] != w[1] || !slices.Equal(in[2], []int64{w[0]}) {
			return nil, fmt.Errorf("input %v, weight %v, bias %v", x, w, in[2])
		}
		return []int64{x[0], w[0]}, nil
	}
	return nil, fmt.Errorf("operator not expected in synth models")
}

func broadcast(a, b []int64) ([]int64, error) {
	if len(b) > len(a) {
		a, b = b, a
	}
	out := slices.Clone(a)
	off := len(a) - len(b)
	for i, d := range b {
		switch {
		case d == out[off+i] || d == 1:
		case out[off+i] == 1:
			out[off+i] = d
		default:
			return nil, fmt.Errorf("cannot broadcast %v with %v", a, b)
		}
	}
	return out, nil
}

func attr(n *onnxpb.NodeProto, name string) *onnxpb.AttributeProto {
	for _, a := range n.GetAttribute() {
		if a.GetName() == name {
			return a
		}
	}
	return nil
}

func BenchmarkConvNeXtTiny(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		m := ConvNeXtTiny(1)
		b.SetBytes(4 * ParamCount(m))
	}
}
