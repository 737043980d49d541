package doctor

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/internal/libfind"
	"github.com/wtonnx/wtonnx/runtime/goexec"
	"github.com/wtonnx/wtonnx/runtime/ort"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, ok := libfind.RepoRoot(".")
	if !ok {
		t.Fatal("no repository root")
	}
	return root
}

func findSet(r Report, path string) *ORTSet {
	for i := range r.ONNXRuntime {
		if resolve(r.ONNXRuntime[i].Path) == resolve(path) {
			return &r.ONNXRuntime[i]
		}
	}
	return nil
}

// The CPU library of `make setup`: version 1.30.0, used for --ep cpu, and
// no GPU provider because their libraries are not beside it.
func TestCPUSet(t *testing.T) {
	lib := filepath.Join(repoRoot(t), ort.CacheDir, ort.LibraryFile)
	if _, err := os.Stat(lib); err != nil {
		t.Fatalf("run `make ort`: %v", err)
	}
	r := Gather(Options{})
	s := findSet(r, lib)
	if s == nil {
		t.Fatalf("%s not in the report: %+v", lib, r.ONNXRuntime)
	}
	if s.Version != "1.30.0" || s.Source != "make setup" || !slices.Contains(s.DefaultFor, ort.EPCPU) || s.Error != "" {
		t.Errorf("CPU set: %+v", s)
	}
	if !slices.Contains(s.CompiledIn, "CPUExecutionProvider") {
		t.Errorf("compiled in: %q", s.CompiledIn)
	}
	if len(s.Providers) != 2 {
		t.Fatalf("providers: %+v", s.Providers)
	}
	for _, p := range s.Providers {
		if p.Loads || !slices.Contains(p.Missing, "libonnxruntime_providers_"+p.EP+".so") {
			t.Errorf("%s: %+v: want its provider library reported missing", p.Name, p)
		}
	}
}

// The GPU set of `make setup-gpu` names CUDA and TensorRT as compiled in; on
// a machine without CUDA the loader's reason names the first missing CUDA
// library. CI runs `make setup-gpu` and sets WTONNX_REQUIRE_GPU_SET=1.
func TestGPUSet(t *testing.T) {
	lib := filepath.Join(repoRoot(t), ort.GPUCacheDir, ort.LibraryFile)
	if _, err := os.Stat(lib); err != nil {
		if os.Getenv("WTONNX_REQUIRE_GPU_SET") == "1" {
			t.Fatalf("WTONNX_REQUIRE_GPU_SET=1 but the GPU set is missing (make setup-gpu): %v", err)
		}
		t.Skipf("no GPU set: run `make setup-gpu` (%v)", err)
	}
	r := Gather(Options{})
	s := findSet(r, lib)
	if s == nil {
		t.Fatalf("%s not in the report", lib)
	}
	if s.Version != "1.29.0" || s.Source != "make setup-gpu" {
		t.Errorf("GPU set: %+v", s)
	}
	for _, ep := range []string{ort.EPCUDA, ort.EPTensorRT, ort.EPAuto} {
		if os.Getenv(ort.EnvLibrary) == "" && !slices.Contains(s.DefaultFor, ep) {
			t.Errorf("GPU set is not the default for --ep %s: %q", ep, s.DefaultFor)
		}
	}
	for _, p := range s.Providers {
		if !p.CompiledIn || len(p.Missing) > 0 {
			t.Errorf("%s: %+v", p.Name, p)
		}
		if p.Loads {
			t.Logf("%s loads here (CUDA is installed)", p.Name)
			continue
		}
		if !strings.Contains(p.Reason, "cannot open shared object file") || !strings.HasPrefix(p.FailedLibrary, "libonnxruntime_providers_") {
			t.Errorf("%s: failed %q, reason %q: want the loader's missing-library message", p.Name, p.FailedLibrary, p.Reason)
		}
	}
}

// A library named explicitly is listed first; one that does not exist is
// reported with the loader's error instead of dropped.
func TestNamedLibrary(t *testing.T) {
	missing := filepath.Join(t.TempDir(), ort.LibraryFile)
	r := Gather(Options{ORTLibrary: missing})
	if len(r.ONNXRuntime) == 0 || r.ONNXRuntime[0].Path != missing || r.ONNXRuntime[0].Source != "flag" {
		t.Fatalf("sets: %+v", r.ONNXRuntime)
	}
	if s := r.ONNXRuntime[0]; s.Error == "" || !strings.Contains(s.Error, missing) {
		t.Errorf("error %q does not name %s", s.Error, missing)
	}
	var b strings.Builder
	if err := WriteText(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "cannot be probed") {
		t.Errorf("text report:\n%s", b.String())
	}
}

func TestCustomOpAndGoEngine(t *testing.T) {
	r := Gather(Options{})
	if r.CustomOp.Error != "" || r.CustomOp.APIMin != 17 || r.CustomOp.APIMax < 29 {
		t.Errorf("custom op: %+v (run `make customop`)", r.CustomOp)
	}
	wantBuild := map[bool]string{true: "vector", false: "portable"}[goexec.VectorKernels]
	if r.GoEngine.Build != wantBuild || r.GoEngine.Kernels == "" {
		t.Errorf("go engine: %+v", r.GoEngine)
	}
	bad := filepath.Join(t.TempDir(), "libwtonnx_customop.so")
	if err := os.WriteFile(bad, []byte("not a library"), 0o644); err != nil {
		t.Fatal(err)
	}
	if c := Gather(Options{CustomOpLibrary: bad}).CustomOp; c.Error == "" || c.APIMax != 0 {
		t.Errorf("a text file as custom-op library: %+v", c)
	}
}

// The driver section either names GPUs or says why there are none.
func TestGPUDriver(t *testing.T) {
	g := Gather(Options{}).GPU
	if (g.Error == "") == (len(g.Devices) == 0) {
		t.Errorf("gpu: %+v: want devices or an error", g)
	}
	if g.DriverCUDA == "" && !strings.Contains(g.Error, "libcuda.so.1") {
		t.Errorf("no driver, but the error %q does not name libcuda.so.1", g.Error)
	}
}
