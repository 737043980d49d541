package onnxmodel

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/onnxpb"
)

// tinyModel is a valid model: y = Relu(x + W), x and W of shape [1, 3].
func tinyModel() *onnxpb.ModelProto {
	return &onnxpb.ModelProto{
		IrVersion:    proto.Int64(8),
		ProducerName: proto.String("wtonnx-test"),
		OpsetImport:  []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph: &onnxpb.GraphProto{
			Name: proto.String("tiny"),
			Node: []*onnxpb.NodeProto{
				node("add", "Add", []string{"x", "W"}, []string{"h"}),
				node("relu", "Relu", []string{"h"}, []string{"y"}),
			},
			Initializer: []*onnxpb.TensorProto{NewFloat32Tensor("W", []int64{1, 3}, []float32{1, -2, 3})},
			Input:       []*onnxpb.ValueInfoProto{valueInfo("x", 1, 3)},
			Output:      []*onnxpb.ValueInfoProto{valueInfo("y", 1, 3)},
		},
	}
}

func node(name, op string, in, out []string) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{Name: proto.String(name), OpType: proto.String(op), Input: in, Output: out}
}

func valueInfo(name string, dims ...int64) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	return &onnxpb.ValueInfoProto{
		Name: proto.String(name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
			Shape:    shape,
		}}},
	}
}

func mustMarshal(t testing.TB, m *onnxpb.ModelProto) []byte {
	t.Helper()
	b, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// listDir returns the names in dir, sorted.
func listDir(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// wantError fails unless err is non-nil and mentions every part.
func wantError(t testing.TB, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one mentioning %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not mention %q", err, p)
		}
	}
}

// pythonWithOnnx returns the Python interpreter to run scripts/onnx_check.py
// with (env WTONNX_PYTHON, else /usr/bin/python3), failing the test when it
// cannot import onnx.
func pythonWithOnnx(t testing.TB) string {
	t.Helper()
	py := os.Getenv("WTONNX_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	if out, err := exec.Command(py, "-c", "import onnx.checker").CombinedOutput(); err != nil {
		t.Fatalf("%s cannot import onnx (%v: %s); install it with `apt-get install python3-onnx` "+
			"or point WTONNX_PYTHON at a Python that has the onnx package", py, err, strings.TrimSpace(string(out)))
	}
	return py
}

// onnxCheck runs scripts/onnx_check.py on paths and returns its output lines.
func onnxCheck(t testing.TB, paths ...string) []string {
	t.Helper()
	py := pythonWithOnnx(t)
	out, err := exec.Command(py, append([]string{"../scripts/onnx_check.py"}, paths...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("onnx checker rejected saved models (%v):\n%s", err, out)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}
