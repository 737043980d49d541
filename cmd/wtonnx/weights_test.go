package main

import (
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/checkpoint"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/testmodels"
	"github.com/wtonnx/wtonnx/wtconvgraph"
)

// TestWeightsRoundTrip: convert --init random, weights, then convert --init
// import of that file gives back the random model's layers exactly.
func TestWeightsRoundTrip(t *testing.T) {
	fx, err := testmodels.Load("convnext")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	random := filepath.Join(dir, "random.onnx")
	w := filepath.Join(dir, "w.safetensors")
	imported := filepath.Join(dir, "imported.onnx")
	for _, args := range [][]string{
		// The 7x7 base and 5x5 wavelet convs keep their own sizes.
		{"convert", fx.ModelPath(), "--init", "random", "--seed", "5", "--levels", "2", "-o", random},
		{"weights", random, "-o", w},
		{"convert", fx.ModelPath(), "--init", "import", "--weights", w, "-o", imported},
	} {
		if code, out, errs := runCLI(args...); code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errs)
		}
	}
	find := func(p string) []wtconvgraph.Layer {
		m, err := onnxmodel.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		ls, err := wtconvgraph.Find(m, nil)
		if err != nil {
			t.Fatal(err)
		}
		return ls
	}
	a, b := find(random), find(imported)
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("%d layers before, %d after", len(a), len(b))
	}
	for i := range a {
		if a[i].Layer != b[i].Layer || !reflect.DeepEqual(a[i].Weights, b[i].Weights) {
			t.Errorf("layer %s: %+v differs from %+v or its weights do", a[i].Name, a[i].Layer, b[i].Layer)
		}
	}
	ck, err := checkpoint.Open(w)
	if err != nil {
		t.Fatal(err)
	}
	if !ck.Has(strings.TrimSuffix(a[0].TensorNames["base_conv.weight"], "weight")+"base_conv.weight") ||
		!ck.Has(a[0].ModulePath()+".wavelet_scale.1.weight") || !ck.Has(a[0].ModulePath()+".wt_filter") {
		t.Errorf("keys %v", ck.Names()[:5])
	}
}

func TestWeightsBadInputs(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(refDir, "basic_c4_k3_l1", "source.onnx")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"weights", src}, "-o"},
		{[]string{"weights", src, "-o", filepath.Join(dir, "w.safetensors")}, "no WTConv layer"},
		{[]string{"weights", filepath.Join(dir, "none.onnx"), "-o", filepath.Join(dir, "w.safetensors")}, "none.onnx"},
	} {
		code, _, errs := runCLI(c.args...)
		if code == 0 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, errs, c.want)
		}
	}
}

// TestWeightsOfExports: wtonnx weights on every shared export gives back
// the module's state_dict (weights.safetensors) within 1e-6.
func TestWeightsOfExports(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join(exportedDir, "*", "model.onnx"))
	if len(dirs) < 7 {
		t.Fatalf("found %d exports", len(dirs))
	}
	out := t.TempDir()
	for _, p := range dirs {
		w := filepath.Join(out, filepath.Base(filepath.Dir(p))+".safetensors")
		if code, _, errs := runCLI("weights", p, "-o", w); code != 0 {
			t.Fatalf("%s: exit %d: %s", p, code, errs)
		}
		got, err := checkpoint.Open(w)
		if err != nil {
			t.Fatal(err)
		}
		want, err := checkpoint.Open(filepath.Join(filepath.Dir(p), "weights.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Names(), want.Names()) {
			t.Errorf("%s: keys %v, want %v", p, got.Names(), want.Names())
			continue
		}
		worst := 0.0
		for _, name := range want.Names() {
			a, _ := got.Float32(name)
			b, _ := want.Float32(name)
			if !reflect.DeepEqual(a.Shape, b.Shape) {
				t.Errorf("%s: %s has shape %v, want %v", p, name, a.Shape, b.Shape)
				continue
			}
			for j := range b.F32 {
				worst = max(worst, math.Abs(float64(a.F32[j]-b.F32[j])))
			}
		}
		if worst > 1e-6 {
			t.Errorf("%s: largest difference %g", p, worst)
		}
	}
}
