package wtconvgraph_test

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/checkpoint"
	"github.com/wtonnx/wtonnx/graph"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/testmodels/reference"
	"github.com/wtonnx/wtonnx/wtconvgraph"
)

func exports(t *testing.T) []reference.Export {
	t.Helper()
	es, err := reference.Exports()
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// TestRecognizesExports checks every PyTorch export of the authors' module
// (shared and testmodels/exported): exactly the layers of case.json, with
// the state_dict's weights, also once every node is renamed.
func TestRecognizesExports(t *testing.T) {
	for _, c := range exports(t) {
		t.Run(c.Name, func(t *testing.T) {
			m, err := onnxmodel.Load(c.ModelPath())
			if err != nil {
				t.Fatal(err)
			}
			ck, err := checkpoint.Open(c.WeightsPath())
			if err != nil {
				t.Fatal(err)
			}
			for pass, mm := range []*onnxpb.ModelProto{m, renameAll(m)} {
				shapes, _ := graph.InferShapes(mm, nil)
				r, err := wtconvgraph.Recognize(mm, shapes)
				if err != nil {
					t.Fatal(err)
				}
				if len(r.Layers) != len(c.Layers) || len(r.NearMisses) != 0 {
					t.Fatalf("pass %d: %d layers, near misses %+v; want %d layers", pass, len(r.Layers), r.NearMisses, len(c.Layers))
				}
				for i, l := range r.Layers {
					// Graph order may differ from the modules' order: match
					// by module path (from the initializer names, which
					// renaming nodes leaves alone).
					w := c.Layer(l.Name)
					if w == nil {
						t.Errorf("pass %d: layer %d is named %q, not a module of case.json", pass, i, l.Name)
						continue
					}
					if l.Form != wtconvgraph.FormPyTorch || l.Layer.Channels != w.C || l.Layer.Kernel != w.Kernel || l.BaseKernel != [2]int{w.Kernel, w.Kernel} ||
						l.Layer.Levels != w.Levels || l.Layer.Stride != w.Stride || l.Layer.Bias != w.Bias || l.Layer.WaveletName() != w.Wavelet {
						t.Errorf("pass %d: layer %d is %s %+v, want %+v", pass, i, l.Form, l.Layer, w)
					}
					if l.Layer.Levels != w.Levels {
						continue
					}
					base, err := ck.Float32(w.Module + ".base_conv.weight")
					if err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(base.F32, l.Weights.Base) {
						t.Errorf("layer %s: base weights differ from the state_dict", w.Module)
					}
					for j := 0; j < w.Levels; j++ {
						s, err := ck.Float32(w.Module + ".wavelet_scale." + itoa(j) + ".weight")
						if err != nil {
							t.Fatal(err)
						}
						if !slices.Equal(s.F32, l.Weights.WaveletScale[j]) {
							t.Errorf("layer %s: wavelet_scale.%d differs from the state_dict", w.Module, j)
						}
					}
				}
			}
		})
	}
}

func itoa(i int) string { return string(rune('0' + i)) }

// renameAll gives every node a meaningless name (every third none at all).
func renameAll(m *onnxpb.ModelProto) *onnxpb.ModelProto {
	c := proto.Clone(m).(*onnxpb.ModelProto)
	for i, n := range c.GetGraph().GetNode() {
		if i%3 == 0 {
			n.Name = nil
		} else {
			n.Name = proto.String("node" + itoa(i%10) + "_" + string(rune('a'+i%26)))
		}
	}
	return c
}

// TestBrokenExportWiringIsANearMiss breaks PyTorch's synthesis wiring in ways
// that keep every shape valid: the recogniser must report them, not accept
// a layer that computes something else.
func TestBrokenExportWiringIsANearMiss(t *testing.T) {
	load := func() *onnxpb.ModelProto {
		m, err := onnxmodel.Load("../../shared/reference/exported/e01_single_c16_k5_l3/model.onnx")
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	cases := []struct {
		name string
		edit func(m *onnxpb.ModelProto) bool
		want string
	}{
		{"LL of the wrong band", func(m *onnxpb.ModelProto) bool {
			// The Add before the level-1 synthesis takes band 1 of Y_2 for its LL.
			m.Graph.Initializer = append(m.Graph.Initializer, onnxmodel.NewInt64Tensor("band1", nil, []int64{1}))
			ix := graph.NewIndex(m.GetGraph())
			for _, n := range m.GetGraph().GetNode() {
				if n.GetOpType() != "Add" {
					continue
				}
				for _, in := range n.GetInput() {
					if p := ix.Producer(in); p != nil && p.GetOpType() == "Gather" {
						p.Input[1] = "band1"
						return true
					}
				}
			}
			return false
		}, "closest"},
		{"synthesis skips a crop's source", func(m *onnxpb.ModelProto) bool {
			// The last synthesis reads the level-2 merge instead of level 1's.
			var cts []*onnxpb.NodeProto
			for _, n := range m.GetGraph().GetNode() {
				if n.GetOpType() == "ConvTranspose" {
					cts = append(cts, n)
				}
			}
			if len(cts) < 3 {
				return false
			}
			cts[2].Input[0] = cts[1].Input[0]
			return true
		}, "no tensor computes base + synthesis"},
		{"an inner tensor read outside", func(m *onnxpb.ModelProto) bool {
			// A second consumer of a level conv's output: the layer cannot
			// be replaced whole, so it is not recognised.
			for _, n := range m.GetGraph().GetNode() {
				if n.GetOpType() == "Conv" && strings.Contains(n.GetOutput()[0], "wavelet_convs.0") {
					m.Graph.Node = append(m.Graph.Node, &onnxpb.NodeProto{OpType: proto.String("Relu"),
						Input: []string{n.GetOutput()[0]}, Output: []string{"probe"}})
					m.Graph.Output = append(m.Graph.Output, &onnxpb.ValueInfoProto{Name: proto.String("probe")})
					return true
				}
			}
			return false
		}, "also read by"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := load()
			if !tc.edit(m) {
				t.Fatal("the edit found nothing to break")
			}
			r, err := wtconvgraph.Recognize(m, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Layers) != 0 || len(r.NearMisses) != 1 || !strings.Contains(r.NearMisses[0].Reason, tc.want) {
				t.Fatalf("%d layers, near misses %+v; want one near miss saying %q", len(r.Layers), r.NearMisses, tc.want)
			}
			t.Log(r.NearMisses[0].Reason)
		})
	}
}

// TestStateDictOfExports compares the state_dict recovered from every
// export with the module's own (weights.safetensors): same keys, shapes and
// values within 1e-6.
func TestStateDictOfExports(t *testing.T) {
	for _, c := range exports(t) {
		t.Run(c.Name, func(t *testing.T) {
			m, err := onnxmodel.Load(c.ModelPath())
			if err != nil {
				t.Fatal(err)
			}
			ls, err := wtconvgraph.Find(m, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := wtconvgraph.StateDict(ls)
			if err != nil {
				t.Fatal(err)
			}
			ck, err := checkpoint.Open(c.WeightsPath())
			if err != nil {
				t.Fatal(err)
			}
			want, err := ck.Tensors()
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Errorf("%d tensors, the state_dict has %d", len(got), len(want))
			}
			worst := 0.0
			for name, w := range want {
				g := got[name]
				if g == nil {
					t.Errorf("missing %s", name)
					continue
				}
				if !reflect.DeepEqual(g.Shape, w.Shape) {
					t.Errorf("%s: shape %v, want %v", name, g.Shape, w.Shape)
					continue
				}
				for i := range w.F32 {
					worst = max(worst, math.Abs(float64(g.F32[i]-w.F32[i])))
				}
			}
			if worst > 1e-6 {
				t.Errorf("largest difference %g > 1e-6", worst)
			}
			t.Logf("%d tensors, largest difference %g", len(want), worst)
		})
	}
}
