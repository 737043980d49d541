package goexec

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/wtonnx/wtonnx/tensor"
)

// TestConformance runs every ONNX backend test case in shared/onnx-conformance
// and requires each output to match (1e-5 relative, 1e-6 absolute).
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
