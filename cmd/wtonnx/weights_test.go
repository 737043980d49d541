package main

import (
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
		// --kernel 7 = the base's: convert --init import reads one kernel
		// size per layer until wtconv.Layer carries the base's apart.
		{"convert", fx.ModelPath(), "--init", "random", "--seed", "5", "--levels", "2", "--kernel", "7", "-o", random},
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
