package dlprobe

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/internal/libfind"
)

func repoFile(t *testing.T, rel string) string {
	t.Helper()
	root, ok := libfind.RepoRoot(".")
	if !ok {
		t.Fatal("no repository root")
	}
	return filepath.Join(root, rel)
}

// The CPU build `make setup` caches reports its version and the CPU
// provider through the C API table indices this package hard-codes.
func TestORTCPUBuild(t *testing.T) {
	lib := repoFile(t, ".cache/onnxruntime/libonnxruntime.so.1")
	if _, err := os.Stat(lib); err != nil {
		t.Fatalf("run `make ort` first: %v", err)
	}
	info, err := ORT(lib)
	if err != nil {
		t.Fatal(err)
	}
	if info.Version != "1.30.0" {
		t.Errorf("version %q, want 1.30.0", info.Version)
	}
	// onnxruntime-node's Linux build names CUDA and TensorRT too: their
	// provider libraries are separate downloads.
	for _, p := range []string{"CPUExecutionProvider", "CUDAExecutionProvider"} {
		if !slices.Contains(info.Providers, p) {
			t.Errorf("providers %q: want %s", info.Providers, p)
		}
	}
}

// The older releases `make ort-releases` caches answer the same probe.
func TestORTOlderReleases(t *testing.T) {
	for _, v := range []string{"1.17.3", "1.20.1", "1.24.3"} {
		lib := repoFile(t, filepath.Join(".cache/onnxruntime-releases", v, "libonnxruntime.so.1"))
		if _, err := os.Stat(lib); err != nil {
			t.Fatalf("run `make ort-releases` first: %v", err)
		}
		info, err := ORT(lib)
		if err != nil {
			t.Fatal(err)
		}
		if info.Version != v || !slices.Contains(info.Providers, "CPUExecutionProvider") {
			t.Errorf("%s: got %+v", v, info)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "libnope.so")
	err := Load(missing, false)
	var le *LoadError
	if !errors.As(err, &le) || !strings.Contains(le.Reason, "libnope.so") {
		t.Fatalf("Load(missing) = %v", err)
	}
	notELF := filepath.Join(dir, "libtext.so")
	if err := os.WriteFile(notELF, []byte("not a library"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Load(notELF, false); err == nil || !strings.Contains(err.Error(), "libtext.so") {
		t.Errorf("Load(text file) = %v", err)
	}
	if _, err := ORT(notELF); err == nil {
		t.Error("ORT(text file) succeeded")
	}
	if err := Load("libc.so.6", false); err != nil {
		t.Errorf("Load(libc.so.6) = %v", err)
	}
}

func TestMissing(t *testing.T) {
	for reason, want := range map[string]string{
		"libcublasLt.so.13: cannot open shared object file: No such file or directory":                       "libcublasLt.so.13",
		"/x/libonnxruntime_providers_cuda.so: libcudart.so.13: cannot open shared object file: No such file": "libcudart.so.13",
		"/x/lib.so: invalid ELF header": "",
	} {
		if got := (&LoadError{Reason: reason}).Missing(); got != want {
			t.Errorf("Missing(%q) = %q, want %q", reason, got, want)
		}
	}
}

// Without an NVIDIA driver the loader names libcuda.so.1; with one, the
// driver reports a version (and an error naming the failing call when it
// has no GPU).
func TestCUDA(t *testing.T) {
	d, err := CUDA()
	var le *LoadError
	switch {
	case errors.As(err, &le):
		if le.Missing() != "libcuda.so.1" {
			t.Errorf("no driver: %v", err)
		}
	case err != nil:
		if d.Version <= 0 || !strings.Contains(err.Error(), "CUresult") {
			t.Errorf("driver without a GPU: %+v, %v", d, err)
		}
	default:
		if d.Version <= 0 || len(d.Devices) == 0 {
			t.Errorf("driver: %+v", d)
		}
	}
}
