package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/wtconv"
)

const officialDir = "../../shared/reference/wtconv-official"

func officialFile(name string) string {
	return filepath.Join(officialDir, name, "weights.safetensors")
}

// stTensor is one tensor for the test writer.
type stTensor struct {
	name  string
	dtype string
	shape []int
	data  []byte
}

func f32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

// writeST lays tensors out back to back in the given order, as the format
// requires; header entries may be overridden afterwards by the caller.
func buildST(t testing.TB, ts []stTensor, edit func(map[string]any)) []byte {
	t.Helper()
	hdr := map[string]any{}
	var data []byte
	for _, x := range ts {
		hdr[x.name] = map[string]any{"dtype": x.dtype, "shape": x.shape, "data_offsets": []int{len(data), len(data) + len(x.data)}}
		data = append(data, x.data...)
	}
	if edit != nil {
		edit(hdr)
	}
	h, err := json.Marshal(hdr)
	if err != nil {
		t.Fatal(err)
	}
	return rawST(h, data)
}

func rawST(header, data []byte) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(out, header...), data...)
}

func writeTemp(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// officialTensors reads a reference file back as writer input, in name order.
func officialTensors(t testing.TB, caseName string) []stTensor {
	t.Helper()
	ck, err := Open(officialFile(caseName))
	if err != nil {
		t.Fatal(err)
	}
	var ts []stTensor
	for _, n := range ck.Names() {
		x, err := ck.Float32(n)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, stTensor{n, "F32", x.Shape, f32Bytes(x.F32)})
	}
	return ts
}

func TestOpenOfficial(t *testing.T) {
	ck, err := Open(officialFile("odd_c4_k3_l2"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"layer.base_conv.bias", "layer.base_conv.weight", "layer.base_scale.weight", "layer.iwt_filter",
		"layer.wavelet_convs.0.weight", "layer.wavelet_convs.1.weight", "layer.wavelet_scale.0.weight",
		"layer.wavelet_scale.1.weight", "layer.wt_filter"}
	if got := ck.Names(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("Names() = %v", got)
	}
	if ck.Format() != "safetensors" {
		t.Errorf("format %q", ck.Format())
	}
	// Cross-check the decoded values with an independent reading of the file.
	raw, err := os.ReadFile(officialFile("odd_c4_k3_l2"))
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(raw)
	var hdr map[string]struct {
		Shape   []int
		Offsets []int `json:"data_offsets"`
	}
	if err := json.Unmarshal(raw[8:8+n], &hdr); err != nil {
		t.Fatal(err)
	}
	for name, h := range hdr {
		x, err := ck.Tensor(name)
		if err != nil {
			t.Fatal(err)
		}
		if !tensor.SameShape(x.Shape, h.Shape) || x.DType != tensor.Float32 {
			t.Fatalf("%s: shape %v dtype %v, header says %v", name, x.Shape, x.DType, h.Shape)
		}
		for i, v := range x.F32 {
			off := 8 + int(n) + h.Offsets[0] + 4*i
			if math.Float32bits(v) != binary.LittleEndian.Uint32(raw[off:]) {
				t.Fatalf("%s[%d] decoded wrongly", name, i)
			}
		}
	}
}

func TestLayerInfoAndWeightsOfficial(t *testing.T) {
	for _, tc := range []struct {
		name    string
		c, k, l int
	}{{"basic_c4_k3_l1", 4, 3, 1}, {"even_c6_k5_l2", 6, 5, 2}, {"odd_c4_k3_l2", 4, 3, 2}} {
		ck, err := Open(officialFile(tc.name))
		if err != nil {
			t.Fatal(err)
		}
		for _, prefix := range []string{"layer.", "layer"} {
			info, err := ck.LayerInfo(prefix)
			if err != nil {
				t.Fatal(err)
			}
			want := Info{Channels: tc.c, Kernel: tc.k, Levels: tc.l, Bias: true, Naming: "official"}
			if info != want {
				t.Fatalf("%s: LayerInfo = %+v, want %+v", tc.name, info, want)
			}
			wt, err := ck.LayerWeights(prefix, info.Layer())
			if err != nil {
				t.Fatal(err)
			}
			base, _ := ck.Float32("layer.base_conv.weight")
			scale, _ := ck.Float32("layer.wavelet_scale.1.weight")
			if len(wt.Wavelet) != tc.l || wt.Base[5] != base.F32[5] || (tc.l > 1 && wt.WaveletScale[1][7] != scale.F32[7]) {
				t.Fatalf("%s: weights not taken from the right tensors", tc.name)
			}
		}
	}
}

// The fast-implementation names, in a NumPy .npz written by numpy.savez
// (testdata/gen_fast_npz.py), give the same weights as the official file.
func TestNPZFastNames(t *testing.T) {
	npzCk, err := Open("testdata/odd_c4_k3_l2_fast.npz")
	if err != nil {
		t.Fatal(err)
	}
	if npzCk.Format() != "npz" {
		t.Fatalf("format %q", npzCk.Format())
	}
	info, err := npzCk.LayerInfo("dw")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Info{Channels: 4, Kernel: 3, Levels: 2, Bias: true, Naming: "fast"}); info != want {
		t.Fatalf("LayerInfo = %+v, want %+v", info, want)
	}
	got, err := npzCk.LayerWeights("dw.", info.Layer())
	if err != nil {
		t.Fatal(err)
	}
	stCk, err := Open(officialFile("odd_c4_k3_l2"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := stCk.LayerWeights("layer.", info.Layer())
	if err != nil {
		t.Fatal(err)
	}
	eq := func(name string, a, b []float32) {
		if len(a) != len(b) {
			t.Fatalf("%s: %d vs %d values", name, len(a), len(b))
		}
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("%s[%d]: npz %v, safetensors %v", name, i, a[i], b[i])
			}
		}
	}
	eq("base", got.Base, want.Base)
	eq("bias", got.Bias, want.Bias)
	eq("base_scale", got.BaseScale, want.BaseScale)
	for i := range want.Wavelet {
		eq("wavelet", got.Wavelet[i], want.Wavelet[i])
		eq("wavelet_scale", got.WaveletScale[i], want.WaveletScale[i])
	}
	if npzCk.DType("dw.wt_scales.0") != "<f8" || npzCk.DType("dw.base_weight") != "<f4" {
		t.Errorf("dtypes %q %q", npzCk.DType("dw.wt_scales.0"), npzCk.DType("dw.base_weight"))
	}
}

func TestOtherFloatDTypes(t *testing.T) {
	vals := []float32{1, -2.5, 0.099975586, 65504, 6.1035156e-05, 5.9604645e-08, 0}
	f16 := []uint16{0x3c00, 0xc100, 0x2e66, 0x7bff, 0x0400, 0x0001, 0x0000}
	var b16, b64, bbf []byte
	for i, h := range f16 {
		b16 = binary.LittleEndian.AppendUint16(b16, h)
		b64 = binary.LittleEndian.AppendUint64(b64, math.Float64bits(float64(vals[i])))
		bbf = binary.LittleEndian.AppendUint16(bbf, uint16(math.Float32bits(vals[i])>>16))
	}
	data := buildST(t, []stTensor{
		{"h", "F16", []int{7}, b16}, {"d", "F64", []int{7}, b64}, {"bf", "BF16", []int{7}, bbf},
		{"n", "I64", []int{1}, binary.LittleEndian.AppendUint64(nil, 42)},
	}, nil)
	ck, err := ParseSafetensors("mem", data)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"h", "d"} {
		x, err := ck.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range x.F32 {
			if v != vals[i] {
				t.Errorf("%s[%d] = %v, want %v", name, i, v, vals[i])
			}
		}
	}
	bf, _ := ck.Float32("bf")
	for i, v := range bf.F32 {
		if want := math.Float32frombits(math.Float32bits(vals[i]) &^ 0xffff); v != want {
			t.Errorf("bf16[%d] = %v, want %v", i, v, want)
		}
	}
	if n, err := ck.Tensor("n"); err != nil || n.I64[0] != 42 {
		t.Errorf("I64: %v %v", n, err)
	}
	if _, err := ck.Float32("n"); err == nil || !strings.Contains(err.Error(), `"n" has dtype I64`) {
		t.Errorf("Float32 of an int tensor: %v", err)
	}
	if got := halfToFloat32(0x7c00); !math.IsInf(float64(got), 1) {
		t.Errorf("f16 +inf decoded as %v", got)
	}
	if got := halfToFloat32(0x7e00); !math.IsNaN(float64(got)) {
		t.Errorf("f16 NaN decoded as %v", got)
	}
}

func TestMalformedSafetensors(t *testing.T) {
	okT := []stTensor{{"a", "F32", []int{2}, f32Bytes([]float32{1, 2})}, {"b", "F32", []int{1, 3}, f32Bytes([]float32{3, 4, 5})}}
	good := buildST(t, okT, nil)
	setEntry := func(name, field string, v any) func(map[string]any) {
		return func(h map[string]any) { h[name].(map[string]any)[field] = v }
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty file", nil, "shorter than the 8-byte header length"},
		{"truncated header length", good[:5], "shorter than the 8-byte header length"},
		{"header beyond file", good[:30], "runs past the end of the file"},
		{"header over limit", append(binary.LittleEndian.AppendUint64(nil, MaxHeaderBytes+1), "{}"...), "exceeds the 104857600-byte limit"},
		{"bad JSON", rawST([]byte(`{"a": {"dtype": "F32",`), nil), "not valid JSON"},
		{"not an object", rawST([]byte(`[1,2]`), nil), "not a JSON object"},
		{"offsets out of range", buildST(t, okT, setEntry("b", "data_offsets", []int{8, 24})), `tensor "b": data_offsets [8, 24] out of range (data section has 20 bytes)`},
		{"offsets reversed", buildST(t, okT, setEntry("b", "data_offsets", []int{8, 4})), `tensor "b": data_offsets [8, 4] out of range`},
		{"negative offset", buildST(t, okT, setEntry("a", "data_offsets", []int{-4, 8})), `tensor "a": data_offsets [-4, 8] out of range`},
		{"three offsets", buildST(t, okT, setEntry("a", "data_offsets", []int{0, 4, 8})), `tensor "a": data_offsets must be [begin, end]`},
		{"overlapping offsets", buildST(t, []stTensor{{"a", "F32", []int{2}, f32Bytes([]float32{1, 2})}, {"b", "F32", []int{2}, f32Bytes([]float32{3, 4})}},
			setEntry("b", "data_offsets", []int{4, 12})), `overlap tensor "a"`},
		{"hole", buildST(t, okT, func(h map[string]any) {
			h["b"].(map[string]any)["data_offsets"] = []int{12, 20}
			h["b"].(map[string]any)["shape"] = []int{2}
		}), `tensor "b": data starts at 12, leaving bytes [8, 12) unused after tensor "a"`},
		{"uncovered tail", rawST(mustJSON(t, map[string]any{"a": map[string]any{"dtype": "F32", "shape": []int{1}, "data_offsets": []int{0, 4}}}), make([]byte, 8)),
			"the data section has 8 bytes but the tensors cover only 4"},
		{"unsupported dtype", buildST(t, okT, setEntry("a", "dtype", "F128")), `tensor "a": unknown dtype "F128"`},
		{"shape byte mismatch", buildST(t, okT, setEntry("b", "shape", []int{2, 3})), `tensor "b": shape [2 3] of F32 needs 24 bytes, data_offsets [8, 20] hold 12`},
		{"huge shape", buildST(t, okT, setEntry("b", "shape", []int64{1 << 40, 1 << 40, 1 << 40})), `tensor "b": shape [1099511627776 1099511627776 1099511627776] of F32 needs more bytes than the file holds`},
		{"negative dim", buildST(t, okT, setEntry("b", "shape", []int{-1, 3})), `tensor "b": negative dimension`},
		{"unknown field", buildST(t, okT, setEntry("a", "offsets", []int{0, 8})), `tensor "a": bad header entry`},
		{"entry not object", buildST(t, okT, func(h map[string]any) { h["a"] = 5 }), `tensor "a": bad header entry`},
		{"bad metadata", buildST(t, okT, func(h map[string]any) { h["__metadata__"] = map[string]any{"x": 1} }), "__metadata__ must map strings to strings"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeTemp(t, "bad.safetensors", tc.data)
			ck, err := Open(path)
			if err == nil {
				t.Fatalf("opened a malformed file: %v", ck.Names())
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q\nwant it to name the file and contain %q", err, tc.want)
			}
		})
	}
	// The well-formed base file opens, with metadata.
	withMeta := buildST(t, okT, func(h map[string]any) { h["__metadata__"] = map[string]string{"format": "pt"} })
	ck, err := Open(writeTemp(t, "ok.safetensors", withMeta))
	if err != nil {
		t.Fatal(err)
	}
	if ck.Metadata()["format"] != "pt" || len(ck.Names()) != 2 {
		t.Fatalf("metadata %v names %v", ck.Metadata(), ck.Names())
	}
	// Zero-sized tensors are legal.
	if _, err := ParseSafetensors("z", buildST(t, []stTensor{{"z", "F32", []int{0, 1 << 40}, nil}}, nil)); err != nil {
		t.Errorf("zero-sized tensor rejected: %v", err)
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "missing.safetensors")); err == nil || !strings.Contains(err.Error(), "missing.safetensors") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Open(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
	p := writeTemp(t, "bad.npz", []byte("PK\x03\x04 definitely not a zip"))
	if _, err := Open(p); err == nil || !strings.Contains(err.Error(), "not a valid .npz archive") || !strings.Contains(err.Error(), p) {
		t.Errorf("bad npz: %v", err)
	}
}

// layerFile writes the official odd_c4_k3_l2 tensors after edit.
func layerFile(t *testing.T, edit func([]stTensor) []stTensor) *Checkpoint {
	t.Helper()
	ts := edit(officialTensors(t, "odd_c4_k3_l2"))
	ck, err := Open(writeTemp(t, "w.safetensors", buildST(t, ts, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return ck
}

func drop(name string) func([]stTensor) []stTensor {
	return func(ts []stTensor) []stTensor {
		out := ts[:0]
		for _, x := range ts {
			if x.name != name {
				out = append(out, x)
			}
		}
		return out
	}
}

func modify(name string, f func(*stTensor)) func([]stTensor) []stTensor {
	return func(ts []stTensor) []stTensor {
		for i := range ts {
			if ts[i].name == name {
				f(&ts[i])
			}
		}
		return ts
	}
}

func add(x stTensor) func([]stTensor) []stTensor {
	return func(ts []stTensor) []stTensor { return append(ts, x) }
}

func TestLayerWeightsErrors(t *testing.T) {
	layer := wtconv.Layer{Channels: 4, Kernel: 3, Levels: 2, Stride: 1, Bias: true}
	ident := func(ts []stTensor) []stTensor { return ts }
	for _, tc := range []struct {
		name  string
		edit  func([]stTensor) []stTensor
		layer wtconv.Layer
		want  string
	}{
		{"missing key", drop("layer.wavelet_scale.1.weight"), layer, `missing tensor "layer.wavelet_scale.1.weight" (wavelet scale of level 2 of 2)`},
		{"missing bias", drop("layer.base_conv.bias"), layer, `missing tensor "layer.base_conv.bias"`},
		{"missing base", drop("layer.base_conv.weight"), layer, `missing tensor "layer.base_conv.weight"`},
		{"wrong shape", modify("layer.wavelet_convs.0.weight", func(x *stTensor) { x.shape = []int{4, 4, 3, 3} }), layer,
			`tensor "layer.wavelet_convs.0.weight" has shape [4 4 3 3], want [16 1 3 3]`},
		{"wrong channels", ident, wtconv.Layer{Channels: 6, Kernel: 3, Levels: 2, Stride: 1, Bias: true},
			`tensor "layer.base_conv.weight" has shape [4 1 3 3], want [6 1 3 3] (C=6, k=3)`},
		{"wrong kernel", ident, wtconv.Layer{Channels: 4, Kernel: 5, Levels: 2, Stride: 1, Bias: true},
			`tensor "layer.base_conv.weight" has shape [4 1 3 3], want [4 1 5 5]`},
		{"extra level", ident, wtconv.Layer{Channels: 4, Kernel: 3, Levels: 1, Stride: 1, Bias: true},
			`tensor "layer.wavelet_convs.1.weight" belongs to wavelet level 2, but the layer has 1 levels`},
		{"missing level", ident, wtconv.Layer{Channels: 4, Kernel: 3, Levels: 3, Stride: 1, Bias: true},
			`missing tensor "layer.wavelet_convs.2.weight" (wavelet conv of level 3 of 3)`},
		{"bias on bias-less layer", ident, wtconv.Layer{Channels: 4, Kernel: 3, Levels: 2, Stride: 1},
			`tensor "layer.base_conv.bias" is a bias, but the layer has no bias`},
		{"wrong wt_filter", modify("layer.wt_filter", func(x *stTensor) {
			v := make([]float32, 64)
			for i := range v {
				v[i] = 0.25 // not Haar
			}
			x.data = f32Bytes(v)
		}), layer, `tensor "layer.wt_filter" does not hold the db1 analysis filters: element 0 is 0.25, want 0.5`},
		{"wrong iwt_filter band order", modify("layer.iwt_filter", func(x *stTensor) {
			h := wtconv.Haar().SynthesisWeight(4)
			h[6], h[10] = h[10], h[6] // swap element (1,0) of band 1 (-0.5) and band 2 (+0.5)
			x.data = f32Bytes(h)
		}), layer, `tensor "layer.iwt_filter" does not hold the db1 synthesis filters`},
		{"wt_filter shape", modify("layer.wt_filter", func(x *stTensor) { x.shape = []int{4, 4, 2, 2} }), layer,
			`tensor "layer.wt_filter" has shape [4 4 2 2], want [16 1 2 2]`},
		{"int dtype", modify("layer.base_scale.weight", func(x *stTensor) { x.dtype = "I32" }), layer,
			`tensor "layer.base_scale.weight": dtype I32 is not supported`},
		{"nan", modify("layer.base_conv.bias", func(x *stTensor) {
			x.data = f32Bytes([]float32{1, float32(math.NaN()), 0, 0})
		}), layer, "bias[1] is NaN"},
		{"unknown key", add(stTensor{"layer.wavelet_convs.0.bias", "F32", []int{1}, f32Bytes([]float32{1})}), layer,
			`tensor "layer.wavelet_convs.0.bias" is not part of a WTConv layer`},
		{"mixed naming", add(stTensor{"layer.base_weight", "F32", []int{4, 1, 3, 3}, make([]byte, 144)}), layer,
			`mixes official names (layer.base_conv.weight) and fast names (layer.base_weight)`},
		{"stride filter on stride 1", add(stTensor{"layer.stride_filter", "F32", []int{4, 1, 1, 1}, f32Bytes([]float32{1, 1, 1, 1})}), layer,
			`tensor "layer.stride_filter" marks a strided layer, but the layer has stride 1`},
		{"bad stride filter", add(stTensor{"layer.stride_filter", "F32", []int{4, 1, 1, 1}, f32Bytes([]float32{1, 1, 2, 1})}),
			wtconv.Layer{Channels: 4, Kernel: 3, Levels: 2, Stride: 2, Bias: true}, `tensor "layer.stride_filter" does not hold the stride filter (ones): element 2 is 2`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ck := layerFile(t, tc.edit)
			wt, err := ck.LayerWeights("layer.", tc.layer)
			if err == nil {
				t.Fatalf("accepted: %d levels", len(wt.Wavelet))
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), ck.Path()) {
				t.Fatalf("error %q\nwant it to name the file and contain %q", err, tc.want)
			}
		})
	}
	// Wrong prefix: nothing under it.
	ck := layerFile(t, ident)
	if _, err := ck.LayerWeights("stages.0.", layer); err == nil || !strings.Contains(err.Error(), `no tensors under the prefix "stages.0."`) {
		t.Errorf("wrong prefix: %v", err)
	}
	// Scales given as plain vectors are accepted.
	ck = layerFile(t, modify("layer.base_scale.weight", func(x *stTensor) { x.shape = []int{4} }))
	if _, err := ck.LayerWeights("layer.", layer); err != nil {
		t.Errorf("scale of shape [C] rejected: %v", err)
	}
}

func TestLayerInfoErrors(t *testing.T) {
	ck := layerFile(t, drop("layer.wavelet_scale.0.weight"))
	if _, err := ck.LayerInfo("layer."); err == nil || !strings.Contains(err.Error(), `missing tensor "layer.wavelet_scale.0.weight"`) {
		t.Errorf("gap in levels: %v", err)
	}
	ck = layerFile(t, modify("layer.base_conv.weight", func(x *stTensor) { x.shape = []int{4, 9} }))
	if _, err := ck.LayerInfo("layer."); err == nil || !strings.Contains(err.Error(), `has shape [4 9], want C x 1 x k x k`) {
		t.Errorf("bad base shape: %v", err)
	}
	ck = layerFile(t, add(stTensor{"layer.stride_filter", "F32", []int{4, 1, 1, 1}, f32Bytes([]float32{1, 1, 1, 1})}))
	if info, err := ck.LayerInfo("layer."); err != nil || !info.Strided {
		t.Errorf("strided layer: %+v %v", info, err)
	}
}

func TestMalformedNPZ(t *testing.T) {
	good, err := os.ReadFile("testdata/odd_c4_k3_l2_fast.npz")
	if err != nil {
		t.Fatal(err)
	}
	// Truncating the archive breaks its central directory.
	p := writeTemp(t, "cut.npz", good[:len(good)/2])
	if _, err := Open(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("truncated npz: %v", err)
	}
	// An .npy member whose header claims more data than it holds.
	var buf bytes.Buffer
	if err := tensor.EncodeNPY(&buf, tensor.NewFloat32([]int{2, 2}, []float32{1, 2, 3, 4})); err != nil {
		t.Fatal(err)
	}
	member := bytes.Replace(buf.Bytes(), []byte("(2, 2)"), []byte("(9, 9)"), 1)
	p = writeTemp(t, "short.npz", zipOf(t, map[string][]byte{"x.npy": member}))
	if _, err := Open(p); err == nil || !strings.Contains(err.Error(), `tensor "x"`) || !strings.Contains(err.Error(), "needs 324 data bytes, the member holds 16") {
		t.Errorf("short member: %v", err)
	}
	// A PyTorch zip checkpoint is recognised, not misread.
	p = writeTemp(t, "model.pth", zipOf(t, map[string][]byte{"archive/data.pkl": []byte("\x80\x02"), "archive/data/0": make([]byte, 8)}))
	if _, err := Open(p); err == nil || !strings.Contains(err.Error(), "a PyTorch .pt/.pth archive") {
		t.Errorf("torch checkpoint: %v", err)
	}
	// A member that is not .npy at all.
	p = writeTemp(t, "junk.npz", zipOf(t, map[string][]byte{"x.npy": []byte("hello")}))
	if _, err := Open(p); err == nil || !strings.Contains(err.Error(), `tensor "x": not a valid .npy array`) {
		t.Errorf("junk member: %v", err)
	}
	// Round trip of a well-formed archive built here.
	p = writeTemp(t, "ok.npz", zipOf(t, map[string][]byte{"x.npy": buf.Bytes()}))
	ck, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	x, err := ck.Float32("x")
	if err != nil || x.F32[3] != 4 || !tensor.SameShape(x.Shape, []int{2, 2}) {
		t.Errorf("round trip: %v %v", x, err)
	}
	all, err := ck.Tensors()
	if err != nil || len(all) != 1 || all["x"].F32[2] != 3 {
		t.Errorf("Tensors() = %v, %v", all, err)
	}
}

func zipOf(t testing.TB, members map[string][]byte) []byte {
	t.Helper()
	var names []string
	for n := range members {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	zw := newZipWriter(&buf)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(members[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
