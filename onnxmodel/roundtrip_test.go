package onnxmodel

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"
)

// sharedModels lists the ONNX models in ../shared that every round-trip test
// covers.
func sharedModels(t *testing.T) []string {
	t.Helper()
	var paths []string
	for _, pattern := range []string{
		"../../shared/onnx-conformance/*/model.onnx",
		"../../shared/reference/wtconv-official/*/source.onnx",
		"../testmodels/*/model.onnx",
	} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, m...)
	}
	if len(paths) < 50 {
		t.Fatalf("found only %d shared models; is ../shared beside the repository?", len(paths))
	}
	return paths
}

func TestRoundTripSharedModels(t *testing.T) {
	dir := t.TempDir()
	for _, p := range sharedModels(t) {
		m, err := Load(p)
		if err != nil {
			t.Fatalf("load: %v", err)
		}
		out := filepath.Join(dir, filepath.Base(filepath.Dir(p))+".onnx")
		if err := Save(m, out, SaveOptions{}); err != nil {
			t.Fatalf("%s: save: %v", p, err)
		}
		back, err := Load(out)
		if err != nil {
			t.Fatalf("%s: reload: %v", p, err)
		}
		if !proto.Equal(m, back) {
			t.Fatalf("%s: reloaded model differs", p)
		}
		// Saving is deterministic.
		out2 := out + ".2"
		if err := Save(back, out2, SaveOptions{}); err != nil {
			t.Fatal(err)
		}
		a, _ := os.ReadFile(out)
		b, _ := os.ReadFile(out2)
		if string(a) != string(b) {
			t.Fatalf("%s: two saves differ", p)
		}
	}
}
