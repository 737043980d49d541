package onnxmodel

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/onnxpb"
)

// bigModel is a valid model with initializers of several sizes:
// z = Reshape(MatMul(MatMul(x, W) + B, V), shape), x [1, 64].
func bigModel() *onnxpb.ModelProto {
	seq := func(n int, scale float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = scale * float32(i%97-48)
		}
		return v
	}
	return &onnxpb.ModelProto{
		IrVersion:    proto.Int64(8),
		ProducerName: proto.String("wtonnx-test"),
		OpsetImport:  []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(17)}},
		Graph: &onnxpb.GraphProto{
			Name: proto.String("big"),
			Node: []*onnxpb.NodeProto{
				node("mm1", "MatMul", []string{"x", "W"}, []string{"a"}),
				node("bias", "Add", []string{"a", "B"}, []string{"b"}),
				node("mm2", "MatMul", []string{"b", "V"}, []string{"y"}),
				node("reshape", "Reshape", []string{"y", "shape"}, []string{"z"}),
			},
			Initializer: []*onnxpb.TensorProto{
				NewFloat32Tensor("W", []int64{64, 64}, seq(64*64, 0.01)),  // 16384 bytes
				NewInt64Tensor("shape", []int64{2}, []int64{33, 1}),       // 16 bytes
				NewFloat32Tensor("B", []int64{64}, seq(64, 0.5)),          // 256 bytes
				NewFloat32Tensor("V", []int64{64, 33}, seq(64*33, -0.02)), // 8448 bytes
			},
			Input:  []*onnxpb.ValueInfoProto{valueInfo("x", 1, 64)},
			Output: []*onnxpb.ValueInfoProto{valueInfo("z", 33, 1)},
		},
	}
}

func TestExternalDataRoundTrip(t *testing.T) {
	for _, name := range []string{"", "weights.bin"} {
		dir := t.TempDir()
		out := filepath.Join(dir, "model.onnx")
		m := bigModel()
		if err := Save(m, out, SaveOptions{ExternalDataThreshold: 100, ExternalDataName: name}); err != nil {
			t.Fatal(err)
		}
		dataName := name
		if dataName == "" {
			dataName = "model.onnx.data"
		}
		if got := listDir(t, dir); !equalStrings(got, []string{"model.onnx", dataName}) {
			t.Fatalf("folder holds %v", got)
		}
		mst, _ := os.Stat(out)
		dst, _ := os.Stat(filepath.Join(dir, dataName))
		if mst.Size() > 1024 || dst.Size() < 16384+256+8448 {
			t.Fatalf("model file %d bytes, data file %d bytes", mst.Size(), dst.Size())
		}

		// The saved model refers to the data file, aligned, except for the
		// small tensor.
		raw, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		saved := &onnxpb.ModelProto{}
		if err := proto.Unmarshal(raw, saved); err != nil {
			t.Fatal(err)
		}
		external := 0
		for _, tp := range saved.Graph.Initializer {
			if tp.GetDataLocation() != onnxpb.TensorProto_EXTERNAL {
				if tp.GetName() != "shape" {
					t.Fatalf("tensor %q of %d bytes was kept inline", tp.GetName(), len(tp.GetRawData()))
				}
				continue
			}
			external++
			ref, err := parseExternalRef(tp)
			if err != nil {
				t.Fatal(err)
			}
			if ref.location != dataName || ref.offset%externalAlign != 0 {
				t.Fatalf("tensor %q: location %q offset %d", tp.GetName(), ref.location, ref.offset)
			}
		}
		if external != 3 {
			t.Fatalf("%d external tensors, want 3", external)
		}
		// Parse refuses it (the bytes alone do not hold the data).
		wantError(t, func() error { _, err := Parse(raw); return err }(), `tensor "W" keeps its data in an external file`)

		back, err := Load(out)
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(back, m) {
			t.Fatal("model loaded from external data differs from the original")
		}
		onnxCheck(t, out)
	}
}

// TestLoadPythonExternalData loads a model whose external data file the onnx
// Python package wrote (testdata/python_external/gen.py) and checks the
// values that script put there.
func TestLoadPythonExternalData(t *testing.T) {
	m, err := Load("testdata/python_external/model.onnx")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]func(i int) float32{
		"S": func(i int) float32 { return float32(i + 1) },
		"W": func(i int) float32 { return 0.25*float32(i) - 100 },
		"B": func(i int) float32 { return -0.5 * float32(i) },
	}
	sizes := map[string]int{"S": 4, "W": 1200, "B": 300}
	for _, tp := range m.Graph.Initializer {
		if tp.GetDataLocation() == onnxpb.TensorProto_EXTERNAL || len(tp.GetExternalData()) > 0 {
			t.Fatalf("tensor %q still refers to external data", tp.GetName())
		}
		v, err := Float32s(tp)
		if err != nil {
			t.Fatal(err)
		}
		f := want[tp.GetName()]
		if f == nil || len(v) != sizes[tp.GetName()] {
			t.Fatalf("tensor %q with %d values", tp.GetName(), len(v))
		}
		for i, x := range v {
			if x != f(i) {
				t.Fatalf("tensor %q[%d] = %v, want %v", tp.GetName(), i, x, f(i))
			}
		}
		delete(want, tp.GetName())
	}
	if len(want) != 0 {
		t.Fatalf("tensors missing: %v", want)
	}

	// Saved again, inline and external, it passes the reference checker.
	dir := t.TempDir()
	inline := filepath.Join(dir, "inline.onnx")
	ext := filepath.Join(dir, "external.onnx")
	if err := Save(m, inline, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := Save(m, ext, SaveOptions{ExternalDataThreshold: 1024}); err != nil {
		t.Fatal(err)
	}
	for _, line := range onnxCheck(t, inline, ext) {
		if !strings.HasPrefix(line, "OK") {
			t.Fatalf("checker: %s", line)
		}
	}
}

// TestExternalDataWithoutFile checks that a threshold no tensor reaches
// creates no data file.
func TestExternalDataWithoutFile(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "m.onnx")
	if err := Save(bigModel(), out, SaveOptions{ExternalDataThreshold: 1 << 30}); err != nil {
		t.Fatal(err)
	}
	if got := listDir(t, dir); !equalStrings(got, []string{"m.onnx"}) {
		t.Fatalf("folder holds %v", got)
	}
	back, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(back, bigModel()) {
		t.Fatal("reloaded model differs")
	}
}
