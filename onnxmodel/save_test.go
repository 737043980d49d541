package onnxmodel

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/onnxpb"
)

func TestSaveRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "model.onnx")
	writeFile(t, out, []byte("precious"))
	wantError(t, Save(tinyModel(), out, SaveOptions{}), out, "already exists (refusing to overwrite it)")
	if b, _ := os.ReadFile(out); string(b) != "precious" {
		t.Fatalf("existing file changed to %q", b)
	}
	if got := listDir(t, dir); len(got) != 1 {
		t.Fatalf("refused save left files: %v", got)
	}

	// A symbolic link counts as an existing file, even a dangling one.
	link := filepath.Join(dir, "link.onnx")
	if err := os.Symlink("nowhere.onnx", link); err != nil {
		t.Fatal(err)
	}
	wantError(t, Save(tinyModel(), link, SaveOptions{}), "already exists")
	if _, err := os.Stat(filepath.Join(dir, "nowhere.onnx")); err == nil {
		t.Fatal("save wrote through a dangling symbolic link")
	}

	// With Overwrite the file is replaced by the model.
	if err := Save(tinyModel(), out, SaveOptions{Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	back, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(back, tinyModel()) {
		t.Fatal("overwritten file does not hold the model")
	}

	// An existing external data file is not replaced either, and then the
	// model is not written.
	out2 := filepath.Join(dir, "big.onnx")
	writeFile(t, out2+".data", []byte("precious"))
	before := listDir(t, dir)
	wantError(t, Save(bigModel(), out2, SaveOptions{ExternalDataThreshold: 100}), out2+".data", "already exists")
	if b, _ := os.ReadFile(out2 + ".data"); string(b) != "precious" {
		t.Fatalf("existing data file changed to %q", b)
	}
	if got := listDir(t, dir); !equalStrings(got, before) {
		t.Fatalf("refused save changed the folder: %v -> %v", before, got)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestSaveFailureLeavesNothing checks that a Save that fails leaves neither
// the output file nor a temporary or external data file behind.
func TestSaveFailureLeavesNothing(t *testing.T) {
	badInit := func() *onnxpb.ModelProto {
		m := bigModel()
		// The first initializer is large and valid, so it is already in the
		// external data file when the broken one is reached.
		m.Graph.Initializer[2].RawData = m.Graph.Initializer[2].RawData[:5]
		return m
	}
	unloaded := func() *onnxpb.ModelProto {
		m := tinyModel()
		externalW(m, "location", "weights.bin")
		return m
	}
	badAttr := func() *onnxpb.ModelProto {
		m := tinyModel()
		c := node("const", "Constant", nil, []string{"c"})
		bad := NewFloat32Tensor("value", []int64{2, 2}, []float32{1, 2, 3})
		c.Attribute = []*onnxpb.AttributeProto{{Name: proto.String("value"), T: bad}}
		m.Graph.Node = append(m.Graph.Node, c)
		return m
	}
	cases := []struct {
		name  string
		model *onnxpb.ModelProto
		path  func(dir string) string
		opts  SaveOptions
		want  []string
	}{
		{"tensor that cannot be encoded", badInit(), func(d string) string { return filepath.Join(d, "m.onnx") },
			SaveOptions{ExternalDataThreshold: 100}, []string{`tensor "B": dims [64] of FLOAT need 256 bytes of raw data, found 5`}},
		{"tensor that cannot be encoded, no external data", badInit(), func(d string) string { return filepath.Join(d, "m.onnx") },
			SaveOptions{}, []string{`initializer: tensor "B"`}},
		{"attribute tensor that cannot be encoded", badAttr(), func(d string) string { return filepath.Join(d, "m.onnx") },
			SaveOptions{}, []string{`node "const" (Constant) attribute "value": tensor "value": dims [2 2] of FLOAT need 16 bytes`}},
		{"external data never loaded", unloaded(), func(d string) string { return filepath.Join(d, "m.onnx") },
			SaveOptions{}, []string{`tensor "W" refers to external data that was never loaded`}},
		{"destination is a folder", tinyModel(), func(d string) string {
			if err := os.Mkdir(filepath.Join(d, "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(d, "sub")
		}, SaveOptions{Overwrite: true}, []string{"is a directory; give a file name"}},
		{"parent is a file", tinyModel(), func(d string) string {
			writeFile(t, filepath.Join(d, "file"), []byte("x"))
			return filepath.Join(d, "file", "m.onnx")
		}, SaveOptions{}, []string{"not a directory"}},
		{"missing folder", tinyModel(), func(d string) string { return filepath.Join(d, "nope", "m.onnx") },
			SaveOptions{}, []string{"does not exist"}},
		{"external data name with a folder", bigModel(), func(d string) string { return filepath.Join(d, "m.onnx") },
			SaveOptions{ExternalDataThreshold: 100, ExternalDataName: "../w.bin"}, []string{`external data name "../w.bin" must be a plain file name`}},
		{"external data name equal to the model's", bigModel(), func(d string) string { return filepath.Join(d, "m.onnx") },
			SaveOptions{ExternalDataThreshold: 100, ExternalDataName: "m.onnx", Overwrite: true}, []string{"is the model's own name"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := c.path(dir)
			before := listDir(t, dir)
			wantError(t, Save(c.model, path, c.opts), c.want...)
			if got := listDir(t, dir); !equalStrings(got, before) {
				t.Fatalf("failed save changed the folder: %v -> %v", before, got)
			}
		})
	}

	// A read-only folder (not read-only for root, who may write anyway).
	dir := t.TempDir()
	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(ro, 0o755)
	if f, err := os.CreateTemp(ro, "probe"); err == nil {
		f.Close()
		os.Remove(f.Name())
		t.Logf("running as a user who may write into a mode 0555 folder; read-only case not applicable")
	} else {
		wantError(t, Save(bigModel(), filepath.Join(ro, "m.onnx"), SaveOptions{ExternalDataThreshold: 100}), "permission denied")
		if got := listDir(t, ro); len(got) != 0 {
			t.Fatalf("failed save left %v", got)
		}
	}
}

// TestSaveMatchesMarshal checks that the streaming Save writes exactly the
// bytes of Marshal, and that Marshal is stable across a reload.
func TestSaveMatchesMarshal(t *testing.T) {
	dir := t.TempDir()
	models := map[string]*onnxpb.ModelProto{"tiny": tinyModel(), "big": bigModel()}
	for _, p := range sharedModels(t) {
		m, err := Load(p)
		if err != nil {
			t.Fatal(err)
		}
		models[p] = m
	}
	for name, m := range models {
		out := filepath.Join(dir, "out.onnx")
		if err := Save(m, out, SaveOptions{Overwrite: true}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		want := mustMarshal(t, m)
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: Save wrote %d bytes that differ from Marshal's %d", name, len(got), len(want))
		}
		back, err := Parse(got)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(mustMarshal(t, back), want) {
			t.Fatalf("%s: Marshal after Parse differs", name)
		}
	}
}

// Saved files are readable by others, like files os.Create makes, not
// private like the temporary files they are written through.
func TestSavedFilesAreWorldReadable(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "model.onnx")
	if err := Save(bigModel(), out, SaveOptions{ExternalDataThreshold: 100}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{out, out + ".data"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != 0o644 {
			t.Errorf("%s has mode %v, want -rw-r--r--", p, got)
		}
	}
}
