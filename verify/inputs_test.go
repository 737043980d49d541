package verify_test

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/verify"
)

func TestInputsGenerated(t *testing.T) {
	m := twoInputModel()
	spec := verify.InputSpec{Seed: 7, Shapes: map[string][]int64{"x": {4000, 3}}}
	in, infos, err := verify.InputsWithInfo(m, spec)
	if err != nil {
		t.Fatal(err)
	}
	x, ids := in["x"], in["ids"]
	if x.DType != tensor.Float32 || !tensor.SameShape(x.Shape, []int{4000, 3}) {
		t.Fatalf("x: %v %v", x.DType, x.Shape)
	}
	if ids.DType != tensor.Int64 || !tensor.SameShape(ids.Shape, []int{2}) || ids.I64[0] != 0 || ids.I64[1] != 0 {
		t.Fatalf("ids: %+v, want two int64 zeros", ids)
	}
	var sum float64
	lo, hi := 1.0, -1.0
	for _, v := range x.F32 {
		if v < -1 || v >= 1 {
			t.Fatalf("uniform value %v outside [-1, 1)", v)
		}
		lo, hi = math.Min(lo, float64(v)), math.Max(hi, float64(v))
		sum += float64(v)
	}
	if mean := sum / float64(len(x.F32)); math.Abs(mean) > 0.05 || lo > -0.99 || hi < 0.99 {
		t.Errorf("uniform values: mean %v, range [%v, %v]; want about 0 and about [-1, 1)", mean, lo, hi)
	}
	if infos[0].Name != "x" || infos[0].Source != "random:uniform:seed=7" || infos[1].Source != "zeros" {
		t.Errorf("infos: %+v", infos)
	}

	again, err := verify.Inputs(m, spec)
	if err != nil {
		t.Fatal(err)
	}
	for i := range x.F32 {
		if again["x"].F32[i] != x.F32[i] {
			t.Fatalf("same seed gave a different value at %d", i)
		}
	}
	spec.Seed = 8
	other, err := verify.Inputs(m, spec)
	if err != nil {
		t.Fatal(err)
	}
	same := 0
	for i := range x.F32 {
		if other["x"].F32[i] == x.F32[i] {
			same++
		}
	}
	if same > len(x.F32)/100 {
		t.Errorf("seeds 7 and 8 agree on %d of %d values", same, len(x.F32))
	}

	spec.Dist = verify.DistNormal
	normal, err := verify.Inputs(m, spec)
	if err != nil {
		t.Fatal(err)
	}
	var s1, s2 float64
	for _, v := range normal["x"].F32 {
		s1 += float64(v)
		s2 += float64(v) * float64(v)
	}
	n := float64(len(normal["x"].F32))
	if mean, sd := s1/n, math.Sqrt(s2/n-(s1/n)*(s1/n)); math.Abs(mean) > 0.05 || math.Abs(sd-1) > 0.05 {
		t.Errorf("normal values: mean %v, sd %v", mean, sd)
	}
}

func TestInputsErrors(t *testing.T) {
	m := twoInputModel()
	dir := t.TempDir()
	good := filepath.Join(dir, "x.npy")
	if err := tensor.WriteNPY(good, tensor.NewFloat32([]int{2, 3}, nil)); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.npy")
	if err := tensor.WriteNPY(bad, tensor.NewFloat32([]int{2, 4}, nil)); err != nil {
		t.Fatal(err)
	}
	ints := filepath.Join(dir, "ints.npy")
	if err := tensor.WriteNPY(ints, tensor.NewInt64([]int{2, 3}, nil)); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		spec verify.InputSpec
		want []string
	}{
		{"dynamic dim without value", verify.InputSpec{}, []string{`input "x"`, `dimension 0 ("batch") is dynamic`}},
		{"unknown input file", verify.InputSpec{Files: map[string]string{"nope": good}}, []string{`"nope"`, "not an input", "x, ids"}},
		{"unknown input shape", verify.InputSpec{Shapes: map[string][]int64{"nope": {1}}}, []string{`"nope"`, "not an input"}},
		{"fixed dim disagrees", verify.InputSpec{Shapes: map[string][]int64{"x": {2, 5}}}, []string{`input "x"`, "dimension 1 is 5", "fixes it at 3"}},
		{"rank disagrees", verify.InputSpec{Shapes: map[string][]int64{"x": {2, 3, 1}}}, []string{`input "x"`, "3 dimensions", "declares 2"}},
		{"file shape disagrees", verify.InputSpec{Files: map[string]string{"x": bad}}, []string{bad, `input "x"`, "dimension 1 is 4"}},
		{"file dtype disagrees", verify.InputSpec{Files: map[string]string{"x": ints}}, []string{ints, "int64", "float"}},
		{"missing file", verify.InputSpec{Files: map[string]string{"x": filepath.Join(dir, "missing.npy")}}, []string{"missing.npy", `input "x"`}},
		{"unnamed file, two inputs", verify.InputSpec{Files: map[string]string{"": good}}, []string{good, "2 inputs"}},
		{"bad distribution", verify.InputSpec{Dist: "cauchy", Shapes: map[string][]int64{"x": {1, 3}}}, []string{`"cauchy"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := verify.Inputs(m, c.spec)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}

	// A file gives the dynamic size; the fixed one is checked.
	in, err := verify.Inputs(m, verify.InputSpec{Files: map[string]string{"x": good}})
	if err != nil {
		t.Fatal(err)
	}
	if !tensor.SameShape(in["x"].Shape, []int{2, 3}) {
		t.Errorf("x from file has shape %v", in["x"].Shape)
	}
}
