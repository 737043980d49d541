package ort

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/wtonnx/wtonnx/tensor"
)

// profiledRun opens the model at path with the profiler on, runs it once
// and returns the profile's node placements.
func profiledRun(t *testing.T, path string, opts Options, inputs map[string]*tensor.Tensor) []NodePlacement {
	t.Helper()
	opts.ProfilePrefix = filepath.Join(t.TempDir(), "profile")
	e, err := OpenFile(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Run(context.Background(), inputs, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadProfileFrom(opts.ProfilePrefix); err == nil {
		t.Error("a profile before Close")
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	nodes, err := ReadProfileFrom(opts.ProfilePrefix)
	if err != nil {
		t.Fatal(err)
	}
	return nodes
}

// On the CPU every node, the fused ai.wtonnx one included, runs on the CPU
// execution provider, and the profile names each node once.
func TestNodeProviders(t *testing.T) {
	lib := testLibrary(t)
	dir := filepath.Join(conformanceDir, "test_Conv2d_depthwise")
	_, x := readPB(t, filepath.Join(dir, "test_data_set_0", "input_0.pb"))
	path := filepath.Join(dir, "model.onnx")
	e := openFile(t, path, Options{LibraryPath: lib})
	nodes := profiledRun(t, path, Options{LibraryPath: lib}, map[string]*tensor.Tensor{e.Inputs()[0].Name: x})
	if len(nodes) == 0 {
		t.Fatal("no nodes in the profile")
	}
	for _, n := range nodes {
		if n.Provider != "CPUExecutionProvider" || n.Node == "" || n.OpType == "" {
			t.Errorf("node %+v", n)
		}
	}

	// A custom-op node runs on the CPU provider too.
	ops := buildDoubleOp(t)
	data := doubleOpModel(t)
	mpath := filepath.Join(t.TempDir(), "double.onnx")
	if err := os.WriteFile(mpath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	in := map[string]*tensor.Tensor{"x": tensor.NewFloat32([]int{2, 3}, []float32{1, -2, 3, 0.5, -0.25, 4})}
	nodes = profiledRun(t, mpath, Options{LibraryPath: lib, CustomOpLibraries: []string{ops}}, in)
	if len(nodes) != 2 || nodes[0].OpType != "Double" || nodes[1].OpType != "Relu" {
		t.Fatalf("custom-op model: %+v", nodes)
	}
	for _, n := range nodes {
		if n.Provider != "CPUExecutionProvider" {
			t.Errorf("node %+v", n)
		}
	}
	if got := FormatCounts(nodes); got != "CPUExecutionProvider 2" {
		t.Errorf("FormatCounts = %q", got)
	}
}

func TestReadProfileErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "p.json")
	os.WriteFile(bad, []byte("{not json"), 0o644)
	if _, err := ReadProfile(bad); err == nil {
		t.Error("garbage profile accepted")
	}
	if _, err := ReadProfileFrom(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("missing profile accepted")
	}
}
