package fuse_test

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/convert"
	"github.com/wtonnx/wtonnx/fuse"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/runtime"
	"github.com/wtonnx/wtonnx/runtime/engines"
	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/testmodels/reference"
	"github.com/wtonnx/wtonnx/wtconvgraph"
)

var formats = []convert.Format{convert.FormatCustomOp, convert.FormatFunction, convert.FormatOps}

type exportCase struct {
	reference.Export
	x, y *tensor.Tensor
}

func exportCases(t *testing.T) []exportCase {
	es, err := reference.Exports()
	if err != nil {
		t.Fatal(err)
	}
	var out []exportCase
	for _, e := range es {
		x, y, err := e.Data()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, exportCase{e, x, y})
	}
	return out
}

func open(t *testing.T, engine string, m *onnxpb.ModelProto) runtime.Engine {
	t.Helper()
	e, err := engines.Open(engine, engines.Model{Proto: m}, engines.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func run(t *testing.T, e runtime.Engine, x *tensor.Tensor) *tensor.Tensor {
	t.Helper()
	out, err := e.Run(context.Background(), map[string]*tensor.Tensor{e.Inputs()[0].Name: x}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out[e.Outputs()[0].Name]
}

func maxDiff(a, b *tensor.Tensor) float64 {
	if !tensor.SameShape(a.Shape, b.Shape) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a.F32 {
		d = max(d, math.Abs(float64(a.F32[i]-b.F32[i])))
	}
	return d
}

// TestFuseReproducesExports fuses every export in every form and checks
// PyTorch's output on both engines; the customop form must hold one fused
// node per layer and no ConvTranspose. db2 and db3 layers included.
func TestFuseReproducesExports(t *testing.T) {
	for _, c := range exportCases(t) {
		src, err := onnxmodel.Load(c.ModelPath())
		if err != nil {
			t.Fatal(err)
		}
		orig, _ := onnxmodel.Marshal(src)
		for _, f := range formats {
			t.Run(c.Name+"/"+string(f), func(t *testing.T) {
				out, rep, err := fuse.Fuse(src, fuse.Options{Format: f})
				if err != nil {
					t.Fatal(err)
				}
				if len(rep.Fused) != len(c.Layers) {
					t.Fatalf("fused %d layers, want %d", len(rep.Fused), len(c.Layers))
				}
				for _, l := range rep.Fused {
					if l.CheckMaxDiff > 1e-5*l.CheckMaxAbs {
						t.Errorf("layer %s: check diff %g of max %g", l.Name, l.CheckMaxDiff, l.CheckMaxAbs)
					}
				}
				fusedNodes, convT := 0, 0
				for _, n := range out.GetGraph().GetNode() {
					if n.GetDomain() == convert.CustomDomain && n.GetOpType() == convert.CustomOpType {
						fusedNodes++
					}
					if n.GetOpType() == "ConvTranspose" {
						convT++
					}
					// The exports hold shape arithmetic only inside their
					// layers: none of it may outlive them.
					switch n.GetOpType() {
					case "Shape", "Mod", "ConstantOfShape", "Pad":
						if f == convert.FormatCustomOp {
							t.Errorf("%s node %s left over", n.GetOpType(), n.GetName())
						}
					}
				}
				if f == convert.FormatCustomOp && (fusedNodes != len(c.Layers) || convT != 0) {
					t.Errorf("customop form: %d fused nodes (want %d), %d ConvTranspose (want 0)", fusedNodes, len(c.Layers), convT)
				}
				scale := c.y.MaxAbs()
				for _, engine := range []string{"ort", "go"} {
					got := run(t, open(t, engine, out), c.x)
					d := maxDiff(got, c.y)
					t.Logf("%s: max diff %.3g of max|y| %.3g (%.2g)", engine, d, scale, d/scale)
					if d > 1e-5*scale {
						t.Errorf("%s: max diff %g > 1e-5 * %g", engine, d, scale)
					}
				}
				again, _, err := fuse.Fuse(src, fuse.Options{Format: f})
				if err != nil {
					t.Fatal(err)
				}
				a, _ := onnxmodel.Marshal(out)
				b, _ := onnxmodel.Marshal(again)
				if !bytes.Equal(a, b) {
					t.Error("fusing twice gives different bytes")
				}
			})
		}
		if now, _ := onnxmodel.Marshal(src); !bytes.Equal(now, orig) {
			t.Errorf("%s: the input model was modified", c.Name)
		}
	}
}

// TestNothingToFuse returns the model itself with a warning.
func TestNothingToFuse(t *testing.T) {
	src, err := onnxmodel.Load("../../shared/reference/wtconv-official/basic_c4_k3_l1/source.onnx")
	if err != nil {
		t.Fatal(err)
	}
	out, rep, err := fuse.Fuse(src, fuse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if out != src || len(rep.Fused) != 0 || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "nothing fused") {
		t.Fatalf("report %+v", rep)
	}
}

// TestCheckSeesAWrongReplacement gives the check a replacement whose
// level-1 weight differs in one value from the graph's: it must report the
// difference the tolerance refuses.
func TestCheckSeesAWrongReplacement(t *testing.T) {
	src, err := onnxmodel.Load("../../shared/reference/exported/e01_single_c16_k5_l3/model.onnx")
	if err != nil {
		t.Fatal(err)
	}
	ls, err := wtconvgraph.Find(src, nil)
	if err != nil || len(ls) != 1 {
		t.Fatalf("%d layers, %v", len(ls), err)
	}
	l := ls[0]
	r := convert.Replacement{Nodes: l.NodeIndex, LayerSpec: convert.LayerSpec{Name: l.Name, Input: l.Input, Output: l.Output,
		Layer: l.Layer, Weights: l.Weights.Clone(), InputHW: []int64{56, 56}}}
	for _, f := range formats {
		_, diff, maxAbs, err := fuse.Check(src, r, f, 1)
		if err != nil || diff > 1e-5*maxAbs {
			t.Fatalf("%s: unchanged weights: diff %g of %g, %v", f, diff, maxAbs, err)
		}
	}
	r.Weights.Wavelet[0][12] += 0.5
	_, diff, maxAbs, err := fuse.Check(src, r, convert.FormatCustomOp, 1)
	if err != nil || diff <= fuse.DefaultTolerance*maxAbs {
		t.Fatalf("a changed weight: diff %g of %g (%v), want more than the tolerance", diff, maxAbs, err)
	}
}

// TestVariantsOfExports edits exports the way other tools and older
// versions of the module write them, and checks that fuse still reproduces
// PyTorch's output on both engines: a graph optimiser that folded a level
// scale into its conv's weight, a stride written as a strided 1x1 conv of
// ones (an older WTConv2d's stride_filter), band selection as Slice +
// Squeeze instead of Gather.
func TestVariantsOfExports(t *testing.T) {
	cases := []struct {
		dir    string
		edit   func(t *testing.T, m *onnxpb.ModelProto)
		layers int
	}{
		{"e01_single_c16_k5_l3", foldFirstLevelScale, 1},
		{"e03_stride2_k5_l2", strideAsConv, 1},
		{"e05_pair_residual", bandAsSliceSqueeze, 2},
	}
	for _, c := range cases {
		t.Run(c.dir, func(t *testing.T) {
			dir := filepath.Join("../../shared/reference/exported", c.dir)
			m, err := onnxmodel.Load(filepath.Join(dir, "model.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			c.edit(t, m)
			if c.dir == "e03_stride2_k5_l2" {
				ls, err := wtconvgraph.Find(m, nil)
				if err != nil || len(ls) != 1 {
					t.Fatalf("%d layers, %v", len(ls), err)
				}
				sd, err := wtconvgraph.StateDict(ls)
				if err != nil || sd["wt.stride_filter"] == nil || ls[0].Layer.Stride != 2 {
					t.Errorf("stride %d, state_dict without wt.stride_filter (%v)", ls[0].Layer.Stride, err)
				}
			}
			x, _ := tensor.ReadNPY(filepath.Join(dir, "x.npy"))
			y, _ := tensor.ReadNPY(filepath.Join(dir, "y.npy"))
			if d := maxDiff(run(t, open(t, "go", m), x), y); d > 1e-5*y.MaxAbs() {
				t.Fatalf("the edited export computes something else (%g)", d)
			}
			out, rep, err := fuse.Fuse(m, fuse.Options{Format: convert.FormatCustomOp})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Fused) != c.layers {
				t.Fatalf("fused %d layers, near misses %+v", len(rep.Fused), rep.NearMisses)
			}
			for _, engine := range []string{"go", "ort"} {
				if d := maxDiff(run(t, open(t, engine, out), x), y); d > 1e-5*y.MaxAbs() {
					t.Errorf("%s: max diff %g", engine, d)
				}
			}
		})
	}
}

func producerOf(m *onnxpb.ModelProto, name string) *onnxpb.NodeProto {
	for _, n := range m.GetGraph().GetNode() {
		for _, o := range n.GetOutput() {
			if o == name {
				return n
			}
		}
	}
	return nil
}

func initializer(m *onnxpb.ModelProto, name string) *onnxpb.TensorProto {
	for _, t := range m.GetGraph().GetInitializer() {
		if t.GetName() == name {
			return t
		}
	}
	return nil
}

// foldFirstLevelScale multiplies level 1's wavelet_scale into its conv's
// weight and removes the Mul.
func foldFirstLevelScale(t *testing.T, m *onnxpb.ModelProto) {
	g := m.GetGraph()
	for i, n := range g.GetNode() {
		if n.GetOpType() != "Mul" {
			continue
		}
		conv := producerOf(m, n.GetInput()[1])
		scale := initializer(m, n.GetInput()[0])
		if conv == nil || conv.GetOpType() != "Conv" || scale == nil || len(scale.GetDims()) != 4 {
			continue
		}
		w := initializer(m, conv.GetInput()[1])
		wv, _ := onnxmodel.Float32s(w)
		sv, _ := onnxmodel.Float32s(scale)
		per := len(wv) / len(sv)
		for j := range wv {
			wv[j] *= sv[j/per]
		}
		folded := onnxmodel.NewFloat32Tensor("folded", w.GetDims(), wv)
		g.Initializer = append(g.Initializer, folded)
		conv.Input[1] = "folded"
		out := n.GetOutput()[0]
		for _, c := range g.GetNode() {
			for j, in := range c.GetInput() {
				if in == out {
					c.Input[j] = conv.GetOutput()[0]
				}
			}
		}
		g.Node = append(g.Node[:i], g.Node[i+1:]...)
		return
	}
	t.Fatal("no level scale to fold")
}

// strideAsConv replaces the AveragePool(kernel 1, stride 2) by a grouped
// 1x1 conv of ones with stride 2.
func strideAsConv(t *testing.T, m *onnxpb.ModelProto) {
	g := m.GetGraph()
	for _, n := range g.GetNode() {
		if n.GetOpType() != "AveragePool" {
			continue
		}
		const C = 8
		ones := make([]float32, C)
		for i := range ones {
			ones[i] = 1
		}
		g.Initializer = append(g.Initializer, onnxmodel.NewFloat32Tensor("wt.stride_filter", []int64{C, 1, 1, 1}, ones))
		n.OpType = strPtr("Conv")
		n.Input = append(n.Input, "wt.stride_filter")
		n.Attribute = []*onnxpb.AttributeProto{
			{Name: strPtr("group"), Type: onnxpb.AttributeProto_INT.Enum(), I: int64Ptr(C)},
			{Name: strPtr("strides"), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: []int64{2, 2}},
			{Name: strPtr("kernel_shape"), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: []int64{1, 1}},
		}
		return
	}
	t.Fatal("no AveragePool")
}

// bandAsSliceSqueeze writes every x[:, :, 0] (a Gather on the band axis)
// as a one-band Slice and a Squeeze.
func bandAsSliceSqueeze(t *testing.T, m *onnxpb.ModelProto) {
	g := m.GetGraph()
	g.Initializer = append(g.Initializer,
		onnxmodel.NewInt64Tensor("v_zero", []int64{1}, []int64{0}),
		onnxmodel.NewInt64Tensor("v_one", []int64{1}, []int64{1}),
		onnxmodel.NewInt64Tensor("v_two", []int64{1}, []int64{2}))
	var nodes []*onnxpb.NodeProto
	n := 0
	for _, nd := range g.GetNode() {
		if nd.GetOpType() == "Gather" && len(nd.GetAttribute()) == 1 && nd.GetAttribute()[0].GetI() == 2 {
			mid := nd.GetOutput()[0] + "_band"
			nodes = append(nodes,
				&onnxpb.NodeProto{OpType: strPtr("Slice"), Input: []string{nd.GetInput()[0], "v_zero", "v_one", "v_two"}, Output: []string{mid}},
				&onnxpb.NodeProto{OpType: strPtr("Squeeze"), Input: []string{mid, "v_two"}, Output: nd.GetOutput()})
			n++
			continue
		}
		nodes = append(nodes, nd)
	}
	if n == 0 {
		t.Fatal("no band Gather")
	}
	g.Node = nodes
}

func strPtr(s string) *string { return &s }
func int64Ptr(v int64) *int64 { return &v }
