package verify

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/wtonnx/wtonnx/tensor"
)

// Tolerance bounds the difference allowed between a result a and a
// reference b, element by element:
//
//	|a-b| <= Atol + Scale*max|b| + Rtol*|b|
//
// where max|b| is the largest finite magnitude of the reference output the
// element belongs to. Scale makes the absolute part follow the output's own
// size: an output whose values are around 1e-8 is judged at 1e-8, not
// against a fixed absolute bound ten thousand times larger than it. Rtol is
// the elementwise relative rule beside it, for outputs with a wide range of
// magnitudes. An absolute Atol, when given, is added as it stands.
type Tolerance struct {
	Atol  float64 `json:"atol"`
	Rtol  float64 `json:"rtol"`
	Scale float64 `json:"scale"`
}

// DefaultTolerance is the tolerance of the command line's defaults: errors
// up to 1e-4 of the output's largest magnitude, plus 1e-3 of each element's.
var DefaultTolerance = Tolerance{Rtol: 1e-3, Scale: 1e-4}

// Allowed returns the absolute part of the bound for an output whose largest
// finite reference magnitude is maxAbsB: Atol + Scale*maxAbsB.
func (t Tolerance) Allowed(maxAbsB float64) float64 {
	return t.Atol + t.Scale*maxAbsB
}

// Validate refuses negative or non-finite tolerances; the error starts with
// the field's name in lower case ("atol -1: ...").
func (t Tolerance) Validate() error {
	for _, v := range []struct {
		name string
		x    float64
	}{{"atol", t.Atol}, {"rtol", t.Rtol}, {"tol", t.Scale}} {
		if v.x < 0 || math.IsNaN(v.x) || math.IsInf(v.x, 0) {
			return fmt.Errorf("%s %g: a tolerance must be finite and not negative", v.name, v.x)
		}
	}
	return nil
}

// String writes the rule out, as the verdict lines print it.
func (t Tolerance) String() string {
	var parts []string
	if t.Atol != 0 || t.Scale == 0 && t.Rtol == 0 {
		parts = append(parts, fmt.Sprintf("%g", t.Atol))
	}
	if t.Scale != 0 {
		parts = append(parts, fmt.Sprintf("%g*max|b|", t.Scale))
	}
	if t.Rtol != 0 {
		parts = append(parts, fmt.Sprintf("%g*|b|", t.Rtol))
	}
	return "|a-b| <= " + strings.Join(parts, " + ")
}

// OutputStats is the comparison of one tensor present in a (the result) and
// b (the reference).
//
// The error statistics are computed over the positions where both values are
// finite, so they are always finite numbers. Non-finite values are handled
// explicitly: a position where both sides hold NaN, or both hold the same
// infinity, agrees; any other position with a NaN or an infinity on either
// side is a mismatch, counted in NonFiniteMismatches and in Outside. The
// relative error leaves out positions where b is 0 (there only Atol applies).
type OutputStats struct {
	Name string `json:"name"`
	Pass bool   `json:"pass"`
	// Message says why a comparison failed without numbers (missing
	// tensor, shape or dtype mismatch); empty otherwise.
	Message string `json:"message,omitempty"`
	DTypeA  string `json:"dtype_a,omitempty"`
	DTypeB  string `json:"dtype_b,omitempty"`
	ShapeA  []int  `json:"shape_a"`
	ShapeB  []int  `json:"shape_b"`

	Elements         int     `json:"elements"`
	MaxAbsError      float64 `json:"max_abs_error"`
	MaxRelError      float64 `json:"max_rel_error"`
	MeanAbsError     float64 `json:"mean_abs_error"`
	CosineSimilarity float64 `json:"cosine_similarity"`
	// MaxAbsB is the largest finite |b|: the scale the errors relate to.
	MaxAbsB float64 `json:"max_abs_b"`
	// AllowedAbs is the absolute part of the bound at this output,
	// Atol + Scale*MaxAbsB; MaxScaledError is MaxAbsError/MaxAbsB (0 when
	// b is all zeros), the error at the output's own scale.
	AllowedAbs     float64 `json:"allowed_abs"`
	MaxScaledError float64 `json:"max_scaled_error"`
	// Note says when the verdict means less than it seems: the reference is
	// all zeros, or the absolute bound is as large as the output itself
	// (then any values of that size pass).
	Note string `json:"note,omitempty"`
	// WorstIndex is the position of the largest absolute error.
	WorstIndex []int `json:"worst_index,omitempty"`
	// Outside counts elements beyond tolerance; OutsideShare is
	// Outside/Elements.
	Outside      int     `json:"outside"`
	OutsideShare float64 `json:"outside_share"`

	NaNA                int `json:"nan_a"`
	NaNB                int `json:"nan_b"`
	InfA                int `json:"inf_a"`
	InfB                int `json:"inf_b"`
	NonFiniteMismatches int `json:"nonfinite_mismatches"`
}

// Compare compares every tensor of a with the tensor of the same name in b
// (the reference). The result lists the names of a in sorted order, then the
// names found only in b; a name missing on one side is a failing entry.
func Compare(a, b map[string]*tensor.Tensor, tol Tolerance) []OutputStats {
	names := make([]string, 0, len(a))
	for name := range a {
		names = append(names, name)
	}
	sort.Strings(names)
	var onlyB []string
	for name := range b {
		if _, ok := a[name]; !ok {
			onlyB = append(onlyB, name)
		}
	}
	sort.Strings(onlyB)
	out := make([]OutputStats, 0, len(names)+len(onlyB))
	for _, name := range names {
		tb, ok := b[name]
		if !ok {
			ta := a[name]
			out = append(out, OutputStats{Name: name, Message: "missing from b", DTypeA: dtypeOf(ta), ShapeA: shapeOf(ta)})
			continue
		}
		out = append(out, CompareTensors(name, a[name], tb, tol))
	}
	for _, name := range onlyB {
		tb := b[name]
		out = append(out, OutputStats{Name: name, Message: "missing from a", DTypeB: dtypeOf(tb), ShapeB: shapeOf(tb)})
	}
	return out
}

func dtypeOf(t *tensor.Tensor) string {
	if t == nil {
		return ""
	}
	return t.DType.String()
}

func shapeOf(t *tensor.Tensor) []int {
	if t == nil {
		return nil
	}
	return append([]int{}, t.Shape...)
}

// CompareTensors compares one tensor a with its reference b.
func CompareTensors(name string, a, b *tensor.Tensor, tol Tolerance) OutputStats {
	s := OutputStats{Name: name, DTypeA: dtypeOf(a), DTypeB: dtypeOf(b), ShapeA: shapeOf(a), ShapeB: shapeOf(b)}
	switch {
	case a == nil || b == nil:
		s.Message = "tensor is nil"
		return s
	case a.Validate() != nil:
		s.Message = fmt.Sprintf("a is malformed: %v", a.Validate())
		return s
	case b.Validate() != nil:
		s.Message = fmt.Sprintf("b is malformed: %v", b.Validate())
		return s
	case a.DType != b.DType:
		s.Message = fmt.Sprintf("dtype mismatch: %s vs %s", a.DType, b.DType)
		return s
	case !tensor.SameShape(a.Shape, b.Shape):
		s.Message = fmt.Sprintf("shape mismatch: %v vs %v", a.Shape, b.Shape)
		return s
	}
	n := a.Len()
	s.Elements = n
	var acc accum
	if a.DType == tensor.Int64 {
		s.MaxAbsB = maxAbs(b.I64)
		s.AllowedAbs = tol.Allowed(s.MaxAbsB)
		acc = accumulate(&s, a.I64, b.I64, tol)
	} else {
		s.MaxAbsB = maxAbs(b.F32)
		s.AllowedAbs = tol.Allowed(s.MaxAbsB)
		acc = accumulate(&s, a.F32, b.F32, tol)
	}
	if s.MaxAbsB > 0 {
		s.MaxScaledError = s.MaxAbsError / s.MaxAbsB
	}
	s.Note = scaleNote(s, tol)
	sumAbs, dot, na2, nb2, finite, worst := acc.sumAbs, acc.dot, acc.na2, acc.nb2, acc.finite, acc.worst
	if finite > 0 {
		s.MeanAbsError = sumAbs / float64(finite)
	}
	switch {
	case na2 == 0 && nb2 == 0:
		s.CosineSimilarity = 1
	case na2 == 0 || nb2 == 0:
		s.CosineSimilarity = 0
	default:
		s.CosineSimilarity = dot / (math.Sqrt(na2) * math.Sqrt(nb2))
	}
	if n > 0 {
		s.OutsideShare = float64(s.Outside) / float64(n)
	}
	if worst >= 0 && s.MaxAbsError > 0 {
		s.WorstIndex = unravel(worst, a.Shape)
	}
	s.Pass = s.Outside == 0
	return s
}

// maxAbs returns the largest finite magnitude in x.
func maxAbs[T float32 | int64](x []T) float64 {
	m := 0.0
	for _, v := range x {
		f := math.Abs(float64(v))
		if f > m && !math.IsInf(f, 0) {
			m = f
		}
	}
	return m
}

// scaleNote says when a comparison's verdict is weaker than it looks.
func scaleNote(s OutputStats, tol Tolerance) string {
	switch {
	case s.Elements == 0:
		return ""
	case s.MaxAbsB == 0:
		if tol.Atol == 0 {
			return "reference is all zeros: only exact zeros pass (give --atol to allow an absolute error)"
		}
		return fmt.Sprintf("reference is all zeros: judged by the absolute bound %g alone", tol.Atol)
	case s.AllowedAbs >= s.MaxAbsB:
		return fmt.Sprintf("tolerance %.3g is not below the output's largest |b| %.3g: any values of the output's size pass", s.AllowedAbs, s.MaxAbsB)
	}
	return ""
}

func unravel(i int, shape []int) []int {
	idx := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] > 0 {
			idx[d] = i % shape[d]
			i /= shape[d]
		}
	}
	return idx
}

// AllPass reports whether every entry passed.
func AllPass(stats []OutputStats) bool {
	for _, s := range stats {
		if !s.Pass {
			return false
		}
	}
	return true
}

type accum struct {
	sumAbs, dot, na2, nb2 float64
	finite, worst         int
}

// accumulate walks the elements once, filling the maxima and counts of s and
// returning the sums the other statistics need.
func accumulate[T float32 | int64](s *OutputStats, xa, xb []T, tol Tolerance) accum {
	acc := accum{worst: -1}
	for i := range xa {
		x, y := float64(xa[i]), float64(xb[i])
		if x-x != 0 || y-y != 0 { // NaN or Inf on either side
			xNaN, yNaN := math.IsNaN(x), math.IsNaN(y)
			xInf, yInf := math.IsInf(x, 0), math.IsInf(y, 0)
			if xNaN {
				s.NaNA++
			}
			if yNaN {
				s.NaNB++
			}
			if xInf {
				s.InfA++
			}
			if yInf {
				s.InfB++
			}
			if !(xNaN && yNaN) && !(xInf && yInf && x == y) {
				s.NonFiniteMismatches++
				s.Outside++
			}
			continue
		}
		acc.finite++
		d := math.Abs(x - y)
		ay := math.Abs(y)
		acc.sumAbs += d
		if d > s.MaxAbsError || acc.worst < 0 {
			s.MaxAbsError = d
			acc.worst = i
		}
		if ay > 0 && d > s.MaxRelError*ay {
			s.MaxRelError = d / ay
		}
		if d > s.AllowedAbs+tol.Rtol*ay {
			s.Outside++
		}
		acc.dot += x * y
		acc.na2 += x * x
		acc.nb2 += y * y
	}
	return acc
}
