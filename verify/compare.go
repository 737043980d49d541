package verify

import (
	"fmt"
	"math"
	"sort"

	"github.com/wtonnx/wtonnx/tensor"
)

// Tolerance bounds the difference allowed between a result a and a
// reference b, element by element: |a-b| <= Atol + Rtol*|b|.
type Tolerance struct {
	Atol float64 `json:"atol"`
	Rtol float64 `json:"rtol"`
}

// DefaultTolerance is the tolerance of the command line's defaults.
var DefaultTolerance = Tolerance{Atol: 1e-4, Rtol: 1e-3}

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
		acc = accumulate(&s, a.I64, b.I64, tol)
	} else {
		acc = accumulate(&s, a.F32, b.F32, tol)
	}
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
		if ay > s.MaxAbsB {
			s.MaxAbsB = ay
		}
		if ay > 0 && d > s.MaxRelError*ay {
			s.MaxRelError = d / ay
		}
		if d > tol.Atol+tol.Rtol*ay {
			s.Outside++
		}
		acc.dot += x * y
		acc.na2 += x * x
		acc.nb2 += y * y
	}
	return acc
}
