package convert_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/checkpoint"
	"github.com/wtonnx/wtonnx/convert"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/testmodels/reference"
	"github.com/wtonnx/wtonnx/wtconv"
)

// safetensors encodes float32 tensors in the safetensors format (keys
// sorted, offsets in order).
func safetensors(t testing.TB, ts map[string]*tensor.Tensor) []byte {
	t.Helper()
	keys := make([]string, 0, len(ts))
	for k := range ts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	head := map[string]any{}
	var data bytes.Buffer
	for _, k := range keys {
		start := data.Len()
		if err := binary.Write(&data, binary.LittleEndian, ts[k].F32); err != nil {
			t.Fatal(err)
		}
		head[k] = map[string]any{"dtype": "F32", "shape": ts[k].Shape, "data_offsets": []int{start, data.Len()}}
	}
	h, err := json.Marshal(head)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	binary.Write(&out, binary.LittleEndian, uint64(len(h)))
	out.Write(h)
	out.Write(data.Bytes())
	return out.Bytes()
}

// withoutFixedFilters is the checkpoint less its Haar wt_filter and
// iwt_filter, so that its trainable tensors can be imported into a layer of
// another wavelet (a db2 variant of an official case).
func withoutFixedFilters(t testing.TB, ck *checkpoint.Checkpoint) *checkpoint.Checkpoint {
	t.Helper()
	all, err := ck.Tensors()
	if err != nil {
		t.Fatal(err)
	}
	keep := map[string]*tensor.Tensor{}
	for k, v := range all {
		if !strings.HasSuffix(k, "wt_filter") {
			keep[k] = v
		}
	}
	out, err := checkpoint.ParseSafetensors("variant.safetensors", safetensors(t, keep))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkForms converts src with opts in the three forms and requires each,
// on ONNX Runtime and on the Go engine, to reproduce want within 1e-5 of
// max|want|. It returns the largest relative error seen.
func checkForms(t *testing.T, src *onnxpb.ModelProto, opts convert.Options, x, want *tensor.Tensor) float64 {
	t.Helper()
	worst := 0.0
	for _, format := range allFormats {
		opts.Format = format
		m, rep, err := convert.Convert(src, opts)
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if len(rep.Converted) != 1 {
			t.Fatalf("%s: converted %d layers, want 1", format, len(rep.Converted))
		}
		for name, e := range engines(t, m, format) {
			d := maxAbsDiff(t, runOne(t, e, x), want) / want.MaxAbs()
			worst = max(worst, d)
			if d > 1e-5 {
				t.Errorf("%s on %s: max abs error %.3g of max|y| exceeds 1e-5", format, name, d)
			}
		}
	}
	return worst
}

// TestOfficialCasesEveryFormBothEngines: the authors' cases, imported, in
// every form on ONNX Runtime and the Go engine; then their db2 variants
// (the same trainable tensors with db2 filters) against wtconv.Forward.
func TestOfficialCasesEveryFormBothEngines(t *testing.T) {
	for _, rc := range referenceCases(t) {
		t.Run(rc.Name, func(t *testing.T) {
			src := sourceModel(t, rc)
			ck, x, y := caseData(t, rc)
			opts := convert.Options{Levels: rc.L, Kernel: rc.K, Init: convert.InitImport, Weights: ck}
			t.Logf("db1 vs the authors' output: worst %.3g of max|y|", checkForms(t, src, opts, x, y))

			l := rc.Layer()
			l.Wavelet = "db2"
			wt, err := rc.Weights()
			if err != nil {
				t.Fatal(err)
			}
			ref, oh, ow, err := wtconv.Forward(l, wt, x.F32, rc.N, rc.H, rc.W)
			if err != nil {
				t.Fatal(err)
			}
			want := tensor.NewFloat32([]int{rc.N, rc.C, oh, ow}, ref)
			if maxAbsDiff(t, want, y) < 1e-3*y.MaxAbs() {
				t.Fatal("the db2 variant computes what db1 computes: it tests nothing")
			}
			opts.Weights, opts.Wavelet = withoutFixedFilters(t, ck), "db2"
			t.Logf("db2 vs wtconv.Forward: worst %.3g of max|y|", checkForms(t, src, opts, x, want))
		})
	}
}

// exportedDB2Dir is the shared export of the authors' module with db2.
var exportedDB2Dir = filepath.Join("..", "..", "shared", "reference", "exported", "e07_db2_wavelet")

// TestImportExportedDB2 rebuilds the db2 export's network with a plain
// depthwise conv in place of its WTConv2d (input -> 1x1 conv "pre" ->
// depthwise 5x5 "wt" -> ReLU -> 1x1 conv "post"), converts that conv with
// --wavelet db2 --init import of the export's state_dict, and requires every
// form on both engines to reproduce PyTorch's y.npy. Importing the same
// state_dict as Haar is refused (its wt_filter holds db2 filters).
func TestImportExportedDB2(t *testing.T) {
	exp, err := onnxmodel.Load(filepath.Join(exportedDB2Dir, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoint.Open(filepath.Join(exportedDB2Dir, "weights.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	x, err := tensor.ReadNPY(filepath.Join(exportedDB2Dir, "x.npy"))
	if err != nil {
		t.Fatal(err)
	}
	y, err := tensor.ReadNPY(filepath.Join(exportedDB2Dir, "y.npy"))
	if err != nil {
		t.Fatal(err)
	}
	g := exp.GetGraph()
	var pre, relu, post *onnxpb.NodeProto
	for _, n := range g.GetNode() {
		switch n.GetName() {
		case "/pre/Conv":
			pre = n
		case "/Relu":
			relu = n
		case "/post/Conv":
			post = n
		}
	}
	if pre == nil || relu == nil || post == nil {
		t.Fatal("the export lacks /pre/Conv, /Relu or /post/Conv")
	}
	const C = 8
	dw := &onnxpb.NodeProto{OpType: ptr("Conv"), Name: ptr("/wt/Conv"), Input: []string{pre.GetOutput()[0], "wt.weight", "wt.bias"},
		Output: []string{relu.GetInput()[0]}, Attribute: []*onnxpb.AttributeProto{
			{Name: ptr("group"), Type: ptr(onnxpb.AttributeProto_INT), I: ptr(int64(C))},
			{Name: ptr("kernel_shape"), Type: ptr(onnxpb.AttributeProto_INTS), Ints: []int64{5, 5}},
			{Name: ptr("pads"), Type: ptr(onnxpb.AttributeProto_INTS), Ints: []int64{2, 2, 2, 2}},
		}}
	var inits []*onnxpb.TensorProto
	for _, in := range g.GetInitializer() {
		if strings.HasPrefix(in.GetName(), "pre.") || strings.HasPrefix(in.GetName(), "post.") {
			inits = append(inits, in)
		}
	}
	inits = append(inits, onnxmodel.NewFloat32Tensor("wt.weight", []int64{C, 1, 5, 5}, make([]float32, C*25)),
		onnxmodel.NewFloat32Tensor("wt.bias", []int64{C}, make([]float32, C)))
	src := &onnxpb.ModelProto{IrVersion: exp.IrVersion, OpsetImport: exp.GetOpsetImport(), Graph: &onnxpb.GraphProto{
		Name: g.Name, Input: g.GetInput(), Output: g.GetOutput(), Initializer: inits,
		Node: []*onnxpb.NodeProto{pre, dw, relu, post}}}

	opts := convert.Options{Levels: 2, Init: convert.InitImport, Weights: ck, Wavelet: "db2"}
	t.Logf("db2 export: worst %.3g of max|y|", checkForms(t, src, opts, x, y))

	opts.Wavelet, opts.Format = "", convert.FormatOps
	if _, _, err := convert.Convert(src, opts); err == nil || !strings.Contains(err.Error(), "wt_filter") || !strings.Contains(err.Error(), "--wavelet") {
		t.Errorf("importing the db2 state_dict as Haar: got %v, want an error naming wt_filter", err)
	}
}

// TestWaveletNamed: the function name and the fused attribute carry the
// wavelet, the analysis filters are n x n with pads n/2-1 after the odd
// end pad, and an unsupported wavelet is refused by name.
func TestWaveletNamed(t *testing.T) {
	src := depthwiseModel(1, 4, 13, 11, 7)
	for _, tc := range []struct {
		wav  string
		n, p int64
	}{{"db1", 2, 0}, {"haar", 2, 0}, {"db2", 4, 1}, {"DB3", 6, 2}} {
		canon, _ := wtconv.CanonicalWaveletName(tc.wav)
		fn, _, err := convert.Convert(src, convert.Options{Levels: 2, Init: convert.InitRandom, Wavelet: tc.wav, Format: convert.FormatFunction})
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("WTConv_%s_C4_B7_K5_L2_S1_nobias", canon)
		if got := fn.GetGraph().GetNode()[0].GetOpType(); got != want {
			t.Errorf("%s: function %q, want %q", tc.wav, got, want)
		}
		fused, _, err := convert.Convert(src, convert.Options{Levels: 2, Init: convert.InitRandom, Wavelet: tc.wav, Format: convert.FormatCustomOp})
		if err != nil {
			t.Fatal(err)
		}
		n := fused.GetGraph().GetNode()[0]
		for _, a := range n.GetAttribute() {
			if a.GetName() == "wavelet" && string(a.GetS()) != canon {
				t.Errorf("%s: fused wavelet attribute %q, want %q", tc.wav, a.GetS(), canon)
			}
		}
		// base_weight 4x1x7x7 and wavelet_weight 2x16x1x5x5: each at its own size
		shapes := map[string][]int64{}
		for _, in := range fused.GetGraph().GetInitializer() {
			shapes[in.GetName()] = in.GetDims()
		}
		if b, w := shapes[n.GetInput()[1]], shapes[n.GetInput()[4]]; !slices.Equal(b, []int64{4, 1, 7, 7}) || !slices.Equal(w, []int64{2, 16, 1, 5, 5}) {
			t.Errorf("%s: fused base_weight %v, wavelet_weight %v", tc.wav, b, w)
		}
		ops, _, err := convert.Convert(src, convert.Options{Levels: 2, Init: convert.InitRandom, Wavelet: tc.wav})
		if err != nil {
			t.Fatal(err)
		}
		for _, node := range ops.GetGraph().GetNode() {
			if strings.HasSuffix(node.GetName(), "/level1/analysis") {
				for _, a := range node.GetAttribute() {
					if a.GetName() == "pads" && !slices.Equal(a.GetInts(), []int64{tc.p, tc.p, tc.p + 1, tc.p + 1}) {
						t.Errorf("%s: analysis pads %v", tc.wav, a.GetInts())
					}
					if a.GetName() == "kernel_shape" && !slices.Equal(a.GetInts(), []int64{tc.n, tc.n}) {
						t.Errorf("%s: analysis kernel %v", tc.wav, a.GetInts())
					}
				}
			}
		}
	}
	_, _, err := convert.Convert(src, convert.Options{Levels: 2, Wavelet: "sym4"})
	if err == nil || !strings.Contains(err.Error(), `unsupported wavelet "sym4"`) {
		t.Errorf("sym4: got %v", err)
	}
}

// TestDynamicSizeAllForms: a 7x7 depthwise conv on a dynamic H x W input
// (levels fixed through --input-shape, so the ops form crops with Slice at
// run time) becomes a Haar or db2 layer with random wavelet weights; every
// form on both engines computes what wtconv.Forward computes with the
// original kernel as a 7x7 base and 5x5 wavelet convs, on odd and even
// sizes and on sizes where the deeper levels' input is below 2 x 2 (3x2,
// 1x1), which every form computes as the authors' module does.
func TestDynamicSizeAllForms(t *testing.T) {
	for _, wav := range []string{"db1", "db2"} {
		t.Run(wav, func(t *testing.T) { testDynamicSize(t, wav) })
	}
}

func testDynamicSize(t *testing.T, wav string) {
	const C = 3
	src := depthwiseModel(1, C, 13, 11, 7)
	for _, vi := range []*onnxpb.ValueInfoProto{src.GetGraph().GetInput()[0], src.GetGraph().GetOutput()[0]} {
		for _, d := range vi.GetType().GetTensorType().GetShape().GetDim()[2:] {
			d.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "hw"}
		}
	}
	opts := convert.Options{Levels: 3, Init: convert.InitRandom, Seed: 5, Wavelet: wav,
		InputShapes: map[string][]int64{"x": {1, C, 13, 11}}}
	// The layer's weights, as convert draws them, read back from the fused form.
	opts.Format = convert.FormatCustomOp
	fused, _, err := convert.Convert(src, opts)
	if err != nil {
		t.Fatal(err)
	}
	get := map[string][]float32{}
	for _, in := range fused.GetGraph().GetInitializer() {
		v, err := onnxmodel.Float32s(in)
		if err != nil {
			t.Fatal(err)
		}
		get[in.GetName()] = v
	}
	n := fused.GetGraph().GetNode()[0]
	l := wtconv.Layer{Channels: C, BaseKernel: 7, Kernel: 5, Levels: 3, Stride: 1, Wavelet: wav}
	wt := &wtconv.Weights{Base: get[n.GetInput()[1]], BaseScale: get[n.GetInput()[3]]}
	for i := 0; i < 3; i++ {
		wt.Wavelet = append(wt.Wavelet, get[n.GetInput()[4]][i*4*C*25:(i+1)*4*C*25])
		wt.WaveletScale = append(wt.WaveletScale, get[n.GetInput()[5]][i*4*C:(i+1)*4*C])
	}
	for _, hw := range [][2]int{{13, 11}, {16, 16}, {9, 20}, {3, 2}, {1, 1}} {
		x := tensor.NewFloat32([]int{1, C, hw[0], hw[1]}, nil)
		for i := range x.F32 {
			x.F32[i] = float32((i*7919)%97)/48 - 1
		}
		ref, oh, ow, err := wtconv.Forward(l, wt, x.F32, 1, hw[0], hw[1])
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%dx%d: worst %.3g of max|y|", hw[0], hw[1], checkForms(t, src, opts, x, tensor.NewFloat32([]int{1, C, oh, ow}, ref)))
	}
}

// TestEmitLayers writes an official case's layer, from its wtconv.Layer and
// weights alone, into an empty model (x -> y) in every form, Haar and db2,
// and runs it on both engines against wtconv.Forward (and, for Haar, the
// authors' output). Emitting a second layer of the same signature into the
// same model reuses the function and the domain import.
func TestEmitLayers(t *testing.T) {
	var rc reference.Case
	for _, c := range referenceCases(t) {
		if c.Name == "even_c6_k5_l2" {
			rc = c
		}
	}
	if rc.Name == "" {
		t.Fatal("no official case even_c6_k5_l2")
	}
	_, x, y := caseData(t, rc)
	wt, err := rc.Weights()
	if err != nil {
		t.Fatal(err)
	}
	for _, wav := range []string{"db1", "db2"} {
		l := rc.Layer()
		l.Wavelet = wav
		ref, oh, ow, err := wtconv.Forward(l, wt, x.F32, rc.N, rc.H, rc.W)
		if err != nil {
			t.Fatal(err)
		}
		want := tensor.NewFloat32([]int{rc.N, rc.C, oh, ow}, ref)
		if wav == "db1" && maxAbsDiff(t, want, y) > 1e-5*y.MaxAbs() {
			t.Fatal("wtconv.Forward does not match the authors' output")
		}
		for _, format := range allFormats {
			for _, hw := range [][]int64{{int64(rc.H), int64(rc.W)}, nil} {
				m := depthwiseModel(rc.N, rc.C, rc.H, rc.W, 1)
				m.GetGraph().Node, m.GetGraph().Initializer = nil, nil
				specs := []convert.LayerSpec{
					{Name: "wt", Layer: l, Weights: wt, Input: "x", Output: "mid", InputHW: hw},
					{Name: "wt2", Layer: l, Weights: wt, Input: "x", Output: "mid2", InputHW: hw},
				}
				if err := convert.EmitLayers(m, format, specs); err != nil {
					t.Fatalf("%s %s: %v", wav, format, err)
				}
				// y = mid + 0 * mid2 keeps both layers live; the output is the first.
				g := m.GetGraph()
				g.Initializer = append(g.Initializer, onnxmodel.NewFloat32Tensor("zero", nil, []float32{0}))
				g.Node = append(g.Node,
					&onnxpb.NodeProto{OpType: ptr("Mul"), Input: []string{"mid2", "zero"}, Output: []string{"z2"}},
					&onnxpb.NodeProto{OpType: ptr("Add"), Input: []string{"mid", "z2"}, Output: []string{"y"}})
				if n := len(m.GetFunctions()); format == convert.FormatFunction && n != 1 {
					t.Errorf("%s function: %d functions, want 1 shared", wav, n)
				}
				imports := 0
				for _, o := range m.GetOpsetImport() {
					if o.GetDomain() != "" {
						imports++
					}
				}
				if format != convert.FormatOps && imports != 1 {
					t.Errorf("%s %s: %d custom domain imports, want 1", wav, format, imports)
				}
				for name, e := range engines(t, m, format) {
					if d := maxAbsDiff(t, runOne(t, e, x), want); d > 1e-5*want.MaxAbs() {
						t.Errorf("%s %s (static %v) on %s: max abs error %.3g of max|y| %.3g", wav, format, hw != nil, name, d, want.MaxAbs())
					}
				}
			}
		}
	}
	if err := convert.EmitLayers(depthwiseModel(1, 6, 8, 8, 1), convert.FormatOps, []convert.LayerSpec{
		{Name: "bad", Layer: wtconv.Layer{Channels: 6, Kernel: 5, Levels: 2, Stride: 1}, Weights: &wtconv.Weights{}, Input: "x", Output: "q"},
	}); err == nil || !strings.Contains(err.Error(), `layer "bad"`) {
		t.Errorf("bad weights: got %v", err)
	}
}
