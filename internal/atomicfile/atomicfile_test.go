package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.txt")
	write := func(s string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
	}
	if err := WriteFile(p, Options{}, write("one")); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("stat: %v, mode %v", err, st.Mode())
	}
	// Without Overwrite the file stays.
	err = WriteFile(p, Options{ForceFlag: "--force"}, write("two"))
	if !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), "use --force") {
		t.Fatalf("second write: %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "one" {
		t.Fatalf("content %q", b)
	}
	if err := WriteFile(p, Options{Overwrite: true}, write("three")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "three" {
		t.Fatalf("content %q", b)
	}
	// A failing writer leaves the old file and no temporary file.
	if err := WriteFile(p, Options{Overwrite: true}, func(w io.Writer) error {
		io.WriteString(w, "partial")
		return errors.New("boom")
	}); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("failing writer: %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "three" {
		t.Fatalf("content %q after a failed write", b)
	}
	if got := listDir(t, dir); len(got) != 1 {
		t.Fatalf("folder holds %v", got)
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub.png")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	exists := filepath.Join(dir, "x.png")
	if err := os.WriteFile(exists, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	png := []string{".png", ".jpg"}
	for _, c := range []struct {
		path string
		opts Options
		want string // "" for no error
	}{
		{filepath.Join(dir, "new.png"), Options{Exts: png}, ""},
		{filepath.Join(dir, "NEW.PNG"), Options{Exts: png}, ""},
		{filepath.Join(dir, "new.gif"), Options{Exts: png}, "must end in .png or .jpg"},
		{sub, Options{Overwrite: true, Exts: png}, "is a directory"},
		{exists, Options{Exts: png}, "already exists"},
		{exists, Options{Overwrite: true, Exts: png}, ""},
		{filepath.Join(dir, "no", "x.png"), Options{}, "does not exist"},
		{"", Options{}, "no output file"},
	} {
		err := Check(c.path, c.opts)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("Check(%q, %+v) = %v, want %q", c.path, c.opts, err, c.want)
		}
	}
}

func TestCommitRefusesFileThatAppeared(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m.onnx")
	f, err := Create(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, "mine")
	if err := os.WriteFile(p, []byte("theirs"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("commit: %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "theirs" {
		t.Fatalf("content %q", b)
	}
	if got := listDir(t, dir); len(got) != 1 {
		t.Fatalf("folder holds %v", got)
	}
}

func TestRemoveUndoesCommit(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m.onnx.data")
	f, err := Create(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, "data")
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	f.Remove()
	f.Abort() // harmless afterwards
	if got := listDir(t, dir); len(got) != 0 {
		t.Fatalf("folder holds %v", got)
	}
}

func ExampleWriteFile() {
	dir, _ := os.MkdirTemp("", "atomicfile")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "hello.txt")
	opts := Options{Exts: []string{".txt"}, ForceFlag: "--force"}
	write := func(w io.Writer) error { _, err := fmt.Fprintln(w, "hello"); return err }
	fmt.Println(WriteFile(path, opts, write))
	err := WriteFile(path, opts, write)
	fmt.Println(strings.TrimPrefix(err.Error(), dir+string(filepath.Separator)))
	// Output:
	// <nil>
	// hello.txt already exists (use --force to overwrite it)
}
