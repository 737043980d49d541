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
