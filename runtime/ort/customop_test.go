package ort

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
)

// buildDoubleOp compiles testdata/doubleop.c into a custom-op library with
// the machine's C compiler and the ONNX Runtime header shipped in the
// onnxruntime_go module.
func buildDoubleOp(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/yalue/onnxruntime_go").Output()
	if err != nil {
		t.Fatalf("locating the onnxruntime_go module for onnxruntime_c_api.h: %v", err)
	}
	include := strings.TrimSpace(string(out))
	lib := filepath.Join(t.TempDir(), "libdoubleop.so")
	cc := exec.Command("gcc", "-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-I", include,
		"-o", lib, filepath.Join("testdata", "doubleop.c"))
	if msg, err := cc.CombinedOutput(); err != nil {
		t.Fatalf("building the custom-op library: %v\n%s", err, msg)
	}
	return lib
}

// A model using an op from a custom-op library runs once the library is
// registered, and fails clearly without it.
// doubleOpModel is z = Relu(Double(x)), Double being testdata/doubleop.c's
// op in domain test.wtonnx.
func doubleOpModel(t *testing.T) []byte {
	t.Helper()
	n := node("Double", []string{"x"}, []string{"y"})
	n.Domain = proto.String("test.wtonnx")
	data := model(t, &onnxpb.GraphProto{
		Node:   []*onnxpb.NodeProto{n, node("Relu", []string{"y"}, []string{"z"})},
		Input:  []*onnxpb.ValueInfoProto{valueInfo("x", onnxpb.TensorProto_FLOAT, "n", 3)},
		Output: []*onnxpb.ValueInfoProto{valueInfo("z", onnxpb.TensorProto_FLOAT, "n", 3)},
	})
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	m.OpsetImport = append(m.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: proto.String("test.wtonnx"), Version: proto.Int64(1)})
	data, err := proto.Marshal(&m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestCustomOpLibrary(t *testing.T) {
	lib := testLibrary(t)
	ops := buildDoubleOp(t)
	data := doubleOpModel(t)
	if _, err := Open(data, Options{LibraryPath: lib}); err == nil || !strings.Contains(err.Error(), "Double") {
		t.Errorf("without the library: err = %v, want it to name the op", err)
	}
	// Through "auto" too: each provider attempt registers the library.
	e := openBytes(t, data, Options{LibraryPath: lib, EP: "auto", CustomOpLibraries: []string{ops}})
	x := tensor.NewFloat32([]int{2, 3}, []float32{1, -2, 3, 0.5, -0.25, 4})
	want := tensor.NewFloat32([]int{2, 3}, []float32{2, 0, 6, 1, 0, 8})
	for i := 0; i < 3; i++ {
		got, err := e.Run(context.Background(), map[string]*tensor.Tensor{"x": x}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := closeTo(got["z"], want, 0, 0); err != nil {
			t.Error(err)
		}
	}
}
