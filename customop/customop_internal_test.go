package customop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeRepo makes a directory tree with a wtonnx go.mod and, when withLib,
// a library file in the cache; it returns the root and a sub-directory.
func fakeRepo(t *testing.T, module string, withLib bool) (root, sub string) {
	t.Helper()
	root = t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module "+module+"\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sub = filepath.Join(root, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if withLib {
		dir := filepath.Join(root, CacheDir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, LibraryFile), []byte("not really ELF"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root, sub
}

func TestFindLibraryOrder(t *testing.T) {
	root, sub := fakeRepo(t, ModulePath, true)
	cached := filepath.Join(root, CacheDir, LibraryFile)
	other := filepath.Join(t.TempDir(), "other.so")
	if err := os.WriteFile(other, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	// The flag wins over the environment and the cache.
	if got, err := findLibrary(other, cached, sub, ""); err != nil || got != other {
		t.Errorf("flag: got %q, %v; want %q", got, err, other)
	}
	// Then the environment.
	if got, err := findLibrary("", other, sub, ""); err != nil || got != other {
		t.Errorf("env: got %q, %v; want %q", got, err, other)
	}
	// Then the repository cache above the working directory...
	if got, err := findLibrary("", "", sub, ""); err != nil || got != cached {
		t.Errorf("cache from cwd: got %q, %v; want %q", got, err, cached)
	}
	// ...or above the executable.
	if got, err := findLibrary("", "", t.TempDir(), filepath.Join(sub, "wtonnx")); err != nil || got != cached {
		t.Errorf("cache from executable: got %q, %v; want %q", got, err, cached)
	}
}

func TestFindLibraryErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.so")
	_, err := findLibrary(missing, "", "", "")
	if err == nil || !strings.Contains(err.Error(), "command line") || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing flag file: %v", err)
	}
	_, err = findLibrary("", missing, "", "")
	if err == nil || !strings.Contains(err.Error(), EnvLibrary) {
		t.Errorf("missing env file: %v", err)
	}
	dir := t.TempDir()
	_, err = findLibrary(dir, "", "", "")
	if err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory as library: %v", err)
	}

	// A repository without the built library: the message names the path
	// looked at and says how to build it.
	root, sub := fakeRepo(t, ModulePath, false)
	_, err = findLibrary("", "", sub, "")
	if err == nil {
		t.Fatal("no error without a built library")
	}
	for _, want := range []string{"make customop", filepath.Join(root, CacheDir, LibraryFile), EnvLibrary} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}

	// Another module's go.mod is not the wtonnx repository.
	_, sub = fakeRepo(t, "example.com/other", true)
	_, err = findLibrary("", "", sub, "")
	if err == nil || !strings.Contains(err.Error(), "no wtonnx repository") {
		t.Errorf("foreign module: %v", err)
	}
}
