package goexec

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/onnxpb"

	"github.com/wtonnx/wtonnx/tensor"
)

// TestConformance runs every ONNX backend test case in shared/onnx-conformance
// and requires each output to match (1e-5 relative, 1e-6 absolute). A case
// that computes in DOUBLE must be refused, naming the DOUBLE tensor: the
// engine computes float32 and never narrows silently.
func TestConformance(t *testing.T) {
	root := filepath.Join(sharedDir, "onnx-conformance")
	dirs, err := filepath.Glob(filepath.Join(root, "test_*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatalf("no conformance cases under %s", root)
	}
	sort.Strings(dirs)
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			m := loadModel(t, filepath.Join(dir, "model.onnx"))
			e, err := Open(m, Options{Threads: 2})
			if double := doubleTensor(m); double != "" {
				if err == nil || !strings.Contains(err.Error(), "DOUBLE") || !strings.Contains(err.Error(), fmt.Sprintf("%q", double)) {
					t.Fatalf("a model with the DOUBLE tensor %q was not refused by name: %v", double, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			data := filepath.Join(dir, "test_data_set_0")
			inputs := map[string]*tensor.Tensor{}
			for i, info := range e.Inputs() {
				inputs[info.Name] = loadTensorPB(t, filepath.Join(data, fmt.Sprintf("input_%d.pb", i)))
			}
			if _, err := os.Stat(filepath.Join(data, fmt.Sprintf("input_%d.pb", len(e.Inputs())))); err == nil {
				t.Fatalf("the case has more inputs than the engine reports (%d)", len(e.Inputs()))
			}
			res := run1(t, e, inputs)
			for i, info := range e.Outputs() {
				want := loadTensorPB(t, filepath.Join(data, fmt.Sprintf("output_%d.pb", i)))
				if err := compare(res[info.Name], want, 1e-5, 1e-6); err != nil {
					t.Errorf("output %q: %v", info.Name, err)
				}
			}
		})
	}
}

// doubleTensor names the first graph input, output or initializer of m
// whose element type is DOUBLE, or returns "".
func doubleTensor(m *onnxpb.ModelProto) string {
	g := m.GetGraph()
	for _, vi := range append(append([]*onnxpb.ValueInfoProto{}, g.GetInput()...), g.GetOutput()...) {
		if onnxpb.TensorProto_DataType(vi.GetType().GetTensorType().GetElemType()) == onnxpb.TensorProto_DOUBLE {
			return vi.GetName()
		}
	}
	for _, init := range g.GetInitializer() {
		if onnxpb.TensorProto_DataType(init.GetDataType()) == onnxpb.TensorProto_DOUBLE {
			return init.GetName()
		}
	}
	return ""
}
