package verify_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/verify"
)

func TestCompareStats(t *testing.T) {
	a := tensor.NewFloat32([]int{2, 2}, []float32{1, 2, 3, 4})
	b := tensor.NewFloat32([]int{2, 2}, []float32{1, 2.5, 3, 0})
	s := verify.CompareTensors("t", a, b, verify.Tolerance{Atol: 0.1, Rtol: 0.1})
	// Differences 0, 0.5, 0, 4; tolerance per element 0.2, 0.35, 0.4, 0.1.
	if s.Pass || s.Outside != 2 || s.OutsideShare != 0.5 {
		t.Errorf("pass %v outside %d share %v, want false 2 0.5", s.Pass, s.Outside, s.OutsideShare)
	}
	if s.MaxAbsError != 4 || s.MeanAbsError != 1.125 {
		t.Errorf("max abs %v mean abs %v, want 4 1.125", s.MaxAbsError, s.MeanAbsError)
	}
	// b = 0 is left out of the relative error: 0.5/2.5.
	if !close(s.MaxRelError, 0.2, 1e-12) {
		t.Errorf("max rel %v, want 0.2", s.MaxRelError)
	}
	wantCos := (1 + 5 + 9.0) / (math.Sqrt(30) * math.Sqrt(1+6.25+9))
	if !close(s.CosineSimilarity, wantCos, 1e-12) {
		t.Errorf("cosine %v, want %v", s.CosineSimilarity, wantCos)
	}
	if fmt.Sprint(s.WorstIndex) != "[1 1]" || s.MaxAbsB != 3 {
		t.Errorf("worst index %v max |b| %v", s.WorstIndex, s.MaxAbsB)
	}

	s = verify.CompareTensors("t", a, a.Clone(), verify.Tolerance{})
	if !s.Pass || s.MaxAbsError != 0 || s.CosineSimilarity != 1 || s.WorstIndex != nil {
		t.Errorf("identical tensors: %+v", s)
	}
	zero := tensor.NewFloat32([]int{3}, nil)
	if s := verify.CompareTensors("z", zero, zero.Clone(), verify.Tolerance{}); !s.Pass || s.CosineSimilarity != 1 {
		t.Errorf("zero tensors: %+v", s)
	}
	ints := verify.CompareTensors("i", tensor.NewInt64([]int{2}, []int64{5, 7}), tensor.NewInt64([]int{2}, []int64{5, 9}), verify.Tolerance{Atol: 1})
	if ints.Pass || ints.MaxAbsError != 2 {
		t.Errorf("int64: %+v", ints)
	}
}

func TestCompareNonFinite(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	a := tensor.NewFloat32([]int{5}, []float32{nan, inf, 1, nan, -inf})
	b := tensor.NewFloat32([]int{5}, []float32{nan, inf, 1, 2, inf})
	s := verify.CompareTensors("t", a, b, verify.Tolerance{Atol: 1e-4})
	if s.NaNA != 2 || s.NaNB != 1 || s.InfA != 2 || s.InfB != 2 {
		t.Errorf("counts nan %d/%d inf %d/%d", s.NaNA, s.NaNB, s.InfA, s.InfB)
	}
	// NaN==NaN and +Inf==+Inf agree; NaN vs 2 and -Inf vs +Inf do not.
	if s.Pass || s.NonFiniteMismatches != 2 || s.Outside != 2 {
		t.Errorf("pass %v mismatches %d outside %d", s.Pass, s.NonFiniteMismatches, s.Outside)
	}
	if s.MaxAbsError != 0 || math.IsNaN(s.CosineSimilarity) {
		t.Errorf("statistics over finite pairs: max abs %v cosine %v", s.MaxAbsError, s.CosineSimilarity)
	}
	ok := verify.CompareTensors("t", tensor.NewFloat32([]int{1}, []float32{nan}), tensor.NewFloat32([]int{1}, []float32{nan}), verify.Tolerance{})
	if !ok.Pass {
		t.Errorf("NaN against NaN should agree: %+v", ok)
	}
}

func TestCompareMismatches(t *testing.T) {
	f := func(shape ...int) *tensor.Tensor { return tensor.NewFloat32(shape, nil) }
	a := map[string]*tensor.Tensor{"y": f(2, 3), "z": f(4), "only_a": f(1)}
	b := map[string]*tensor.Tensor{"y": f(3, 2), "z": tensor.NewInt64([]int{4}, nil), "only_b": f(1)}
	stats := verify.Compare(a, b, verify.DefaultTolerance)
	got := map[string]string{}
	var order []string
	for _, s := range stats {
		if s.Pass {
			t.Errorf("%s passed", s.Name)
		}
		got[s.Name] = s.Message
		order = append(order, s.Name)
	}
	if strings.Join(order, ",") != "only_a,y,z,only_b" {
		t.Errorf("order %v", order)
	}
	for name, want := range map[string]string{"y": "shape mismatch: [2 3] vs [3 2]", "z": "dtype mismatch: float32 vs int64", "only_a": "missing from b", "only_b": "missing from a"} {
		if got[name] != want {
			t.Errorf("%s: message %q, want %q", name, got[name], want)
		}
	}
	if verify.AllPass(stats) {
		t.Error("AllPass is true")
	}
}

func ExampleCompareTensors() {
	ref := tensor.NewFloat32([]int{4}, []float32{1, -2, 0.5, 0})
	got := tensor.NewFloat32([]int{4}, []float32{1.00005, -2.001, 0.5, 0.0002})
	s := verify.CompareTensors("logits", got, ref, verify.Tolerance{Atol: 1e-4, Rtol: 1e-3})
	fmt.Printf("pass=%v outside=%d max_abs=%.4f worst=%v\n", s.Pass, s.Outside, s.MaxAbsError, s.WorstIndex)
	// Output: pass=false outside=1 max_abs=0.0010 worst=[1]
}

// BenchmarkCompareTensors compares two 1x96x112x112 activations.
func BenchmarkCompareTensors(b *testing.B) {
	shape := []int{1, 96, 112, 112}
	x := tensor.NewFloat32(shape, nil)
	y := tensor.NewFloat32(shape, nil)
	for i := range x.F32 {
		x.F32[i] = float32(i%251) * 0.01
		y.F32[i] = x.F32[i] + 1e-6
	}
	b.SetBytes(int64(8 * len(x.F32)))
	for b.Loop() {
		verify.CompareTensors("act", x, y, verify.DefaultTolerance)
	}
}

// The default tolerance judges an output at its own scale: outputs around
// 1e-8 that disagree in direction fail (the old absolute 1e-4 passed them),
// the same outputs with float rounding noise pass, and an absolute --atol
// larger than the output is flagged in the note.
func TestCompareAtOutputScale(t *testing.T) {
	ref := []float32{1.2e-8, -0.7e-8, 0.3e-8, 0.9e-8}
	other := []float32{0.4e-8, -1.1e-8, 0.9e-8, 0.2e-8}
	noisy := make([]float32, len(ref))
	for i, v := range ref {
		noisy[i] = v * (1 + 1e-6)
	}
	b := tensor.NewFloat32([]int{4}, ref)
	s := verify.CompareTensors("logits", tensor.NewFloat32([]int{4}, other), b, verify.DefaultTolerance)
	if s.Pass || s.Outside == 0 || !close(s.MaxAbsB, 1.2e-8, 1e-15) || !close(s.AllowedAbs, 1.2e-12, 1e-18) {
		t.Errorf("different 1e-8 outputs: pass %v outside %d max|b| %g allowed %g", s.Pass, s.Outside, s.MaxAbsB, s.AllowedAbs)
	}
	if s.MaxScaledError < 0.5 || s.Note != "" {
		t.Errorf("scaled error %g, note %q", s.MaxScaledError, s.Note)
	}
	if s := verify.CompareTensors("logits", tensor.NewFloat32([]int{4}, noisy), b, verify.DefaultTolerance); !s.Pass {
		t.Errorf("rounding noise at 1e-8 fails: %+v", s)
	}
	loose := verify.Tolerance{Atol: 1e-4, Rtol: 1e-3}
	s = verify.CompareTensors("logits", tensor.NewFloat32([]int{4}, other), b, loose)
	if !s.Pass || !strings.Contains(s.Note, "not below the output's largest |b|") {
		t.Errorf("absolute 1e-4: pass %v note %q", s.Pass, s.Note)
	}
	zero := tensor.NewFloat32([]int{3}, nil)
	s = verify.CompareTensors("z", zero, zero.Clone(), verify.DefaultTolerance)
	if !s.Pass || !strings.Contains(s.Note, "all zeros") {
		t.Errorf("zero reference: pass %v note %q", s.Pass, s.Note)
	}
	tiny := tensor.NewFloat32([]int{3}, []float32{0, 1e-30, 0})
	if s := verify.CompareTensors("z", tiny, zero, verify.DefaultTolerance); s.Pass {
		t.Error("a non-zero value against an all-zero reference passes without --atol")
	}
	if s := verify.CompareTensors("z", tiny, zero, verify.Tolerance{Atol: 1e-6}); !s.Pass || !strings.Contains(s.Note, "absolute bound 1e-06") {
		t.Errorf("zero reference with atol: pass %v note %q", s.Pass, s.Note)
	}
}

func TestToleranceString(t *testing.T) {
	for _, c := range []struct {
		tol  verify.Tolerance
		want string
	}{
		{verify.DefaultTolerance, "|a-b| <= 0.0001*max|b| + 0.001*|b|"},
		{verify.Tolerance{Atol: 1e-4, Rtol: 1e-3}, "|a-b| <= 0.0001 + 0.001*|b|"},
		{verify.Tolerance{}, "|a-b| <= 0"},
	} {
		if got := c.tol.String(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.tol, got, c.want)
		}
	}
	if err := (verify.Tolerance{Rtol: -1}).Validate(); err == nil || !strings.HasPrefix(err.Error(), "rtol -1") {
		t.Errorf("negative rtol: %v", err)
	}
}
