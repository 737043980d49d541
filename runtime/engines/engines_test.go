package engines_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/runtime/engines"
	"github.com/wtonnx/wtonnx/runtime/ort"
	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/testmodels"
)

func load(t *testing.T, name string) (engines.Model, testmodels.Fixture) {
	t.Helper()
	f, err := testmodels.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnxmodel.Load(f.ModelPath())
	if err != nil {
		t.Fatal(err)
	}
	return engines.Model{Path: f.ModelPath(), Proto: m}, f
}

// Both kinds open the same model through one function and compute the
// PyTorch reference output.
func TestOpenBothKinds(t *testing.T) {
	m, f := load(t, "constweights")
	x, err := tensor.ReadNPY(f.InputPath())
	if err != nil {
		t.Fatal(err)
	}
	want, err := tensor.ReadNPY(f.OutputPath())
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range engines.Kinds {
		e, err := engines.Open(kind, m, engines.Options{Threads: 1})
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		out, err := e.Run(context.Background(), map[string]*tensor.Tensor{f.Meta.InputName: x}, nil)
		e.Close()
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		got := out[f.Meta.OutputName]
		worst := 0.0
		for i, v := range want.F32 {
			worst = max(worst, float64(abs(got.F32[i]-v)))
		}
		if worst > 1e-4 {
			t.Errorf("%s: max abs error %g against PyTorch", kind, worst)
		}
	}
}

func abs(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

func TestOpenRefuses(t *testing.T) {
	m, _ := load(t, "constweights")
	for _, c := range []struct {
		kind string
		opts engines.Options
		want string
	}{
		{"tvm", engines.Options{}, `unknown engine "tvm"`},
		{"go", engines.Options{EP: "cuda"}, "CPU only"},
	} {
		if _, err := engines.Open(c.kind, m, c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %+v: %v, want %q", c.kind, c.opts, err, c.want)
		}
	}
	if _, err := engines.Open("go", engines.Model{}, engines.Options{}); err == nil {
		t.Error("no model: no error")
	}
}

// With EP auto and no GPU provider libraries, the ONNX Runtime engine
// returns its fallbacks as values, and Open turns them into one note.
func TestAutoFallbackIsAValue(t *testing.T) {
	lib, err := ort.FindLibrary("")
	if err != nil {
		t.Fatalf("ONNX Runtime is needed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(lib), "libonnxruntime_providers_cuda.so")); err == nil {
		t.Skip("GPU provider libraries are installed beside ONNX Runtime; EP auto may use them")
	}
	m, _ := load(t, "constweights")
	var notes []string
	e, err := engines.Open(engines.ORT, m, engines.Options{EP: "auto", Logf: func(format string, args ...any) {
		notes = append(notes, fmt.Sprintf(format, args...))
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	oe, ok := e.(*ort.Engine)
	if !ok {
		t.Fatalf("the ort kind opened a %T", e)
	}
	fb := oe.Fallbacks()
	if oe.Provider() != ort.EPCPU || len(fb) != 2 || fb[0].EP != ort.EPTensorRT || fb[0].Next != ort.EPCUDA || fb[1].EP != ort.EPCUDA || fb[1].Next != ort.EPCPU || fb[1].Reason == "" {
		t.Fatalf("provider %s, fallbacks %+v", oe.Provider(), fb)
	}
	if len(notes) != 1 || notes[0] != engines.FallbackNote("auto", ort.EPCPU, fb) || !strings.Contains(notes[0], "running on the CPU") {
		t.Errorf("notes %q", notes)
	}
	if engines.FallbackNote("cpu", ort.EPCPU, nil) != "" {
		t.Error("a note without fallbacks")
	}
}
