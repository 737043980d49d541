package wtconvgraph_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/checkpoint"
	"github.com/wtonnx/wtonnx/convert"
	"github.com/wtonnx/wtonnx/graph"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/testmodels"
	"github.com/wtonnx/wtonnx/wtconv"
	"github.com/wtonnx/wtonnx/wtconvgraph"
)

var formats = []convert.Format{convert.FormatOps, convert.FormatFunction, convert.FormatCustomOp}

func wantForm(f convert.Format) wtconvgraph.Form {
	switch f {
	case convert.FormatCustomOp:
		return wtconvgraph.FormFused
	case convert.FormatFunction:
		return wtconvgraph.FormFunction
	}
	return wtconvgraph.FormOps
}

// convnext loads the ConvNeXt fixture.
func convnext(t *testing.T) (testmodels.Fixture, *onnxpb.ModelProto) {
	t.Helper()
	fx, err := testmodels.Load("convnext")
	if err != nil {
		t.Fatal(err)
	}
	src, err := onnxmodel.Load(fx.ModelPath())
	if err != nil {
		t.Fatal(err)
	}
	return fx, src
}

func find(t *testing.T, m *onnxpb.ModelProto) []wtconvgraph.Layer {
	t.Helper()
	shapes, err := graph.InferShapes(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := wtconvgraph.Find(m, shapes)
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

// TestFindRecoversImportedOfficialLayers converts the authors' cases with
// their weights imported, recovers the layer from each form, and checks that
// the weights are the checkpoint's and that the reference forward on the
// recovered layer reproduces the official module's output.
func TestFindRecoversImportedOfficialLayers(t *testing.T) {
	dirs, _ := filepath.Glob("../../shared/reference/wtconv-official/*/case.json")
	if len(dirs) < 3 {
		t.Fatalf("found %d reference cases; is ../shared beside the repository?", len(dirs))
	}
	for _, p := range dirs {
		dir := filepath.Dir(p)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			var c struct {
				C, K, L, S, N, H, W int
				Bias                bool
			}
			if err := json.Unmarshal(b, &c); err != nil {
				t.Fatal(err)
			}
			src, err := onnxmodel.Load(filepath.Join(dir, "source.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			ck, err := checkpoint.Open(filepath.Join(dir, "weights.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			want := wtconv.Layer{Channels: c.C, Kernel: c.K, Levels: c.L, Stride: c.S, Bias: c.Bias, Wavelet: wtconv.DefaultWavelet}
			wantW, err := ck.LayerWeights("layer.", want)
			if err != nil {
				t.Fatal(err)
			}
			x, _ := tensor.ReadNPY(filepath.Join(dir, "x.npy"))
			y, _ := tensor.ReadNPY(filepath.Join(dir, "y.npy"))
			for _, f := range formats {
				m, _, err := convert.Convert(src, convert.Options{Levels: c.L, Kernel: c.K, Init: convert.InitImport, Weights: ck, Format: f})
				if err != nil {
					t.Fatal(err)
				}
				ls := find(t, m)
				if len(ls) != 1 {
					t.Fatalf("%s: found %d layers, want 1", f, len(ls))
				}
				l := ls[0]
				if l.Form != wantForm(f) || l.Layer != want || l.BaseKernel != [2]int{c.K, c.K} {
					t.Fatalf("%s: found %s %+v base %v, want %+v", f, l.Form, l.Layer, l.BaseKernel, want)
				}
				if !reflect.DeepEqual(l.Weights, wantW) {
					t.Errorf("%s: recovered weights differ from the checkpoint's", f)
				}
				if l.InputHW == nil || l.InputHW[0] != int64(c.H) || l.Output != "y" || l.Input != "x" {
					t.Errorf("%s: input %q %v, output %q", f, l.Input, l.InputHW, l.Output)
				}
				el, ew := l.Embedded()
				got, _, _, err := wtconv.Forward(el, ew, x.F32, c.N, c.H, c.W)
				if err != nil {
					t.Fatal(err)
				}
				tol := 1e-5 * y.MaxAbs()
				for i := range got {
					if d := math.Abs(float64(got[i] - y.F32[i])); d > tol {
						t.Fatalf("%s: output[%d] = %g, the official module gives %g", f, i, got[i], y.F32[i])
					}
				}
			}
		})
	}
}

// TestFindConvNeXtForms converts the ConvNeXt fixture (7x7 depthwise convs
// become 7x7 base + 5x5 wavelet convs) in every form and checks that the
// recovered layers agree with the converter's report and with each other.
func TestFindConvNeXtForms(t *testing.T) {
	fx, src := convnext(t)
	if n := len(find(t, src)); n != 0 {
		t.Fatalf("the original model has %d WTConv layers", n)
	}
	var ref []wtconvgraph.Layer
	for _, f := range formats {
		m, rep, err := convert.Convert(src, convert.Options{Levels: convert.AutoLevels, Init: convert.InitRandom, Seed: 3, Format: f})
		if err != nil {
			t.Fatal(err)
		}
		ls := find(t, m)
		if len(ls) != len(rep.Converted) || len(ls) != len(fx.Meta.DepthwiseConvs) {
			t.Fatalf("%s: found %d layers, converted %d", f, len(ls), len(rep.Converted))
		}
		for i, l := range ls {
			r := rep.Converted[i]
			if l.Name != r.Node || l.Layer.Levels != r.Levels || l.Layer.Channels != r.Channels || l.Layer.Stride != r.Stride {
				t.Errorf("%s: layer %d is %s %+v, report %+v", f, i, l.Name, l.Layer, r)
			}
			// Every form keeps the 7x7 base and 5x5 wavelet kernels at their
			// own sizes: the costs are the report's (RF 2^L*5, not 2^L*7).
			hw := l.InputHW
			if l.BaseKernel != [2]int{7, 7} || l.Layer.Kernel != 5 || l.Params() != r.ParamsAfter ||
				l.FLOPs(int(hw[0]), int(hw[1])).Total != r.FLOPsAfter || l.ReceptiveField() != r.RFAfter {
				t.Errorf("%s: %s: base %v k %d params %d flops %d rf %d; report %+v", f, l.Name, l.BaseKernel, l.Layer.Kernel,
					l.Params(), l.FLOPs(int(hw[0]), int(hw[1])).Total, l.ReceptiveField(), r)
			}
			if f == convert.FormatOps {
				hasAdd := false
				for _, n := range l.Nodes {
					if !strings.HasPrefix(n, l.Name+"/wtconv/") {
						t.Errorf("%s: node %s is not the layer's", l.Name, n)
					}
					hasAdd = hasAdd || strings.HasPrefix(n, l.Name+"/wtconv/add")
				}
				if len(l.FixedTensors) == 0 || !hasAdd {
					t.Errorf("%s: nodes %v fixed %v", l.Name, l.Nodes, l.FixedTensors)
				}
			}
		}
		// Names play no part: renamed (and unnamed) nodes give the same layers.
		renamed := proto.Clone(m).(*onnxpb.ModelProto)
		for i, n := range renamed.GetGraph().GetNode() {
			if i%2 == 0 {
				n.Name = proto.String(fmt.Sprintf("n%d", i))
			} else {
				n.Name = nil
			}
		}
		rs := find(t, renamed)
		if len(rs) != len(ls) {
			t.Fatalf("%s: renamed nodes: %d layers, want %d", f, len(rs), len(ls))
		}
		for i := range rs {
			if rs[i].Layer != ls[i].Layer || rs[i].Input != ls[i].Input || rs[i].Output != ls[i].Output ||
				!reflect.DeepEqual(rs[i].Weights, ls[i].Weights) || !reflect.DeepEqual(rs[i].NodeIndex, ls[i].NodeIndex) {
				t.Errorf("%s: renamed nodes: layer %d differs", f, i)
			}
		}
		if ref == nil {
			ref = ls
			continue
		}
		for i := range ls {
			al, aw := ref[i].Embedded()
			bl, bw := ls[i].Embedded()
			if al != bl || !reflect.DeepEqual(aw, bw) {
				t.Errorf("%s: layer %s differs from the ops form's once embedded", f, ls[i].Name)
			}
		}
	}
}

func TestFindErrors(t *testing.T) {
	fx, src := convnext(t)
	conv := func(f convert.Format) *onnxpb.ModelProto {
		m, _, err := convert.Convert(src, convert.Options{Levels: 2, Init: convert.InitRandom, Format: f})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	node := func(m *onnxpb.ModelProto, suffix string) *onnxpb.NodeProto {
		for _, n := range m.GetGraph().GetNode() {
			if strings.HasSuffix(n.GetName(), suffix) {
				return n
			}
		}
		t.Fatalf("no node ending %s", suffix)
		return nil
	}
	init := func(m *onnxpb.ModelProto, name string) *onnxpb.TensorProto {
		for _, x := range m.GetGraph().GetInitializer() {
			if x.GetName() == name {
				return x
			}
		}
		t.Fatalf("no initializer %s", name)
		return nil
	}
	first := fx.Meta.DepthwiseConvs[0]
	cases := []struct {
		name   string
		format convert.Format
		edit   func(m *onnxpb.ModelProto)
		want   string
	}{
		{"fused input missing", convert.FormatCustomOp, func(m *onnxpb.ModelProto) {
			n := node(m, first+"/wtconv")
			n.Input = n.Input[:5]
		}, "5 inputs"},
		{"fused levels attribute", convert.FormatCustomOp, func(m *onnxpb.ModelProto) {
			n := node(m, first+"/wtconv")
			for _, a := range n.GetAttribute() {
				if a.GetName() == "levels" {
					a.I = proto.Int64(3)
				}
			}
		}, "wavelet_weight"},
		{"fused scale not constant", convert.FormatCustomOp, func(m *onnxpb.ModelProto) {
			node(m, first+"/wtconv").Input[5] = "input"
		}, "wavelet_scale"},
	}
	nearMisses := []struct {
		name string
		edit func(m *onnxpb.ModelProto)
		want string
	}{
		{"level conv weight shape", func(m *onnxpb.ModelProto) {
			n := node(m, first+"/wtconv/level1/conv")
			w := init(m, n.GetInput()[1])
			v, _ := onnxmodel.Float32s(w)
			*w = *onnxmodel.NewFloat32Tensor(w.GetName(), []int64{int64(len(v) / 25), 1, 25}, v)
		}, "is not depthwise"},
		{"analysis filter not Haar", func(m *onnxpb.ModelProto) {
			n := node(m, first+"/wtconv/level2/analysis")
			w := init(m, n.GetInput()[1])
			v, _ := onnxmodel.Float32s(w)
			v[1] = -v[1]
			m.Graph.Initializer = append(m.Graph.Initializer, onnxmodel.NewFloat32Tensor("not_haar", w.GetDims(), v))
			n.Input[1] = "not_haar"
		}, "stopped at"},
		{"scale reads something else", func(m *onnxpb.ModelProto) {
			node(m, first+"/wtconv/level1/scale_1").Input[0] = "x"
		}, "no tensor computes base + synthesis"},
		{"synthesis reads the wrong level", func(m *onnxpb.ModelProto) {
			// level 1's synthesis fed level 2's bands: a broken wiring.
			l2 := node(m, first+"/wtconv/level2/scale_1")
			node(m, first+"/wtconv/level1/synthesis").Input[0] = l2.GetOutput()[0]
		}, "no tensor computes base + synthesis"},
	}
	for _, tc := range nearMisses {
		t.Run(tc.name, func(t *testing.T) {
			m := conv(convert.FormatOps)
			before := len(find(t, m))
			tc.edit(m)
			r, err := wtconvgraph.Recognize(m, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Layers) != before-1 || len(r.NearMisses) != 1 || !strings.Contains(r.NearMisses[0].Reason, tc.want) {
				t.Fatalf("%d layers (want %d), near misses %+v, want one saying %q", len(r.Layers), before-1, r.NearMisses, tc.want)
			}
			t.Logf("%s: %s", r.NearMisses[0].Node, r.NearMisses[0].Reason)
		})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := conv(tc.format)
			tc.edit(m)
			_, err := wtconvgraph.Find(m, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), first) {
				t.Fatalf("error %v, want one naming %s and saying %q", err, first, tc.want)
			}
		})
	}
}

// TestFunctionFormByItsBody renames the function-form layers' function (as a
// new naming scheme would) and breaks one body: layers are read from the
// body, whatever the function is called, and a body that computes
// something else is a near miss.
func TestFunctionFormByItsBody(t *testing.T) {
	_, src := convnext(t)
	m, rep, err := convert.Convert(src, convert.Options{Levels: 2, Init: convert.InitRandom, Format: convert.FormatFunction})
	if err != nil {
		t.Fatal(err)
	}
	want := find(t, m)
	renamed := map[string]string{}
	for i, f := range m.GetFunctions() {
		name := fmt.Sprintf("Layer%d_db1", i)
		renamed[f.GetName()] = name
		f.Name = proto.String(name)
	}
	for _, n := range m.GetGraph().GetNode() {
		if r, ok := renamed[n.GetOpType()]; ok {
			n.OpType = proto.String(r)
		}
	}
	got := find(t, m)
	if len(got) != len(rep.Converted) || len(got) != len(want) {
		t.Fatalf("%d layers after renaming the functions, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].Form != wtconvgraph.FormFunction || got[i].Layer != want[i].Layer || !reflect.DeepEqual(got[i].Weights, want[i].Weights) {
			t.Errorf("layer %d: %s %+v, want %+v", i, got[i].Form, got[i].Layer, want[i].Layer)
		}
	}
	// Break the first function's synthesis: level 1 reads level 2's bands.
	f := m.GetFunctions()[0]
	var cts []*onnxpb.NodeProto
	for _, n := range f.GetNode() {
		if n.GetOpType() == "ConvTranspose" && len(n.GetInput()) > 0 {
			cts = append(cts, n)
		}
	}
	cts[len(cts)-2].Input[0] = cts[0].Input[0]
	r, err := wtconvgraph.Recognize(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Layers) >= len(want) || len(r.NearMisses) == 0 || !strings.Contains(r.NearMisses[0].Reason, "calls function") {
		t.Fatalf("%d layers, near misses %+v", len(r.Layers), r.NearMisses)
	}
	t.Log(r.NearMisses[0].Reason)
}
