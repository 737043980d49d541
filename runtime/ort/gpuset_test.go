package ort

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/internal/libfind"
)

// gpuSetLibrary returns the core library of `make setup-gpu`'s GPU set, or
// skips (fails when CI sets WTONNX_REQUIRE_GPU_SET=1).
func gpuSetLibrary(t *testing.T) string {
	t.Helper()
	root, ok := libfind.RepoRoot(".")
	if !ok {
		t.Fatal("no repository root")
	}
	lib := filepath.Join(root, GPUCacheDir, LibraryFile)
	if _, err := os.Stat(lib); err != nil {
		if os.Getenv("WTONNX_REQUIRE_GPU_SET") == "1" {
			t.Fatalf("WTONNX_REQUIRE_GPU_SET=1 but the GPU set is missing (make setup-gpu): %v", err)
		}
		t.Skipf("no GPU set: run `make setup-gpu` (%v)", err)
	}
	return lib
}

// With the GPU set, --ep cuda and tensorrt fail with the loader's reason
// (the first CUDA library it cannot find) and point to `wtonnx doctor`;
// "auto" falls back to the CPU with one line per provider. ONNX Runtime is
// process-global and this package's other tests load the CPU build, so the
// check runs in a child process of this test binary.
func TestGPUSetProvidersOnThisMachine(t *testing.T) {
	lib := gpuSetLibrary(t)
	if DiagnoseProvider(filepath.Dir(lib), EPCUDA).Loads {
		t.Skip("the CUDA provider loads here: scripts/gpu-check.sh covers GPU machines")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestGPUSetChild$", "-test.v")
	cmd.Env = append(os.Environ(), "WTONNX_GPU_SET_CHILD="+lib)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestGPUSetChild") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func TestGPUSetChild(t *testing.T) {
	lib := os.Getenv("WTONNX_GPU_SET_CHILD")
	if lib == "" {
		t.Skip("run by TestGPUSetProvidersOnThisMachine")
	}
	path := filepath.Join(conformanceDir, "test_Conv2d", "model.onnx")
	for _, ep := range []string{EPCUDA, EPTensorRT} {
		_, err := OpenFile(path, Options{LibraryPath: lib, EP: ep})
		if err == nil {
			t.Fatalf("%s opened without CUDA", ep)
		}
		msg := err.Error()
		for _, w := range []string{epLabel(ep) + " execution provider is not available", "the loader cannot load libonnxruntime_providers_",
			"cannot open shared object file", "wtonnx doctor"} {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: %q does not mention %q", ep, msg, w)
			}
		}
	}
	var notes []string
	e, err := OpenFile(path, Options{LibraryPath: lib, EP: EPAuto, Logf: func(f string, a ...any) {
		notes = append(notes, strings.TrimSpace(f))
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.Name() != "ort/cpu" || e.Version() != "1.29.0" || len(notes) != 2 {
		t.Errorf("auto: %s %s, notes %q", e.Name(), e.Version(), notes)
	}
}

// --ep cuda, tensorrt and auto prefer the GPU set; cpu prefers the CPU
// library and takes the GPU set when it is the only one. LibrarySets lists
// each file once with where it came from.
func TestFindLibraryForEP(t *testing.T) {
	root := t.TempDir()
	write := func(p string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module github.com/wtonnx/wtonnx\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cpu := filepath.Join(root, CacheDir, LibraryFile)
	gpu := filepath.Join(root, GPUCacheDir, LibraryFile)
	write(gpu)
	for _, ep := range []string{EPCPU, EPCUDA, EPAuto} {
		if got, err := findLibraryFor("", "", root, "", ep); err != nil || got != gpu {
			t.Errorf("only the GPU set, --ep %s: %q, %v", ep, got, err)
		}
	}
	write(cpu)
	for ep, want := range map[string]string{EPCPU: cpu, "": cpu, EPCUDA: gpu, EPTensorRT: gpu, EPAuto: gpu, "CUDA": gpu} {
		if got, err := findLibraryFor("", "", root, "", ep); err != nil || got != want {
			t.Errorf("--ep %q: %q, %v; want %q", ep, got, err, want)
		}
	}
	env := filepath.Join(t.TempDir(), LibraryFile)
	if got, _ := findLibraryFor("", env, root, "", EPCUDA); got != "" {
		t.Errorf("a missing $%s file was not an error: %q", EnvLibrary, got)
	}
	sets := librarySets("", cpu, root, filepath.Join(root, "wtonnx"))
	if len(sets) != 2 || sets[0].Path != cpu || sets[0].Source != "env "+EnvLibrary || sets[1].Path != gpu || sets[1].Source != "make setup-gpu" {
		t.Errorf("LibrarySets: %+v", sets)
	}
}
