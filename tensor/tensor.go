// Package tensor holds the dense host tensors that wtonnx's engines, verifier
// and command line exchange, and reads and writes them as NumPy .npy files.
//
// A Tensor is deliberately plain: a shape and one backing slice for its element
// type. Engines convert to and from their own representations at the edges.
package tensor

import (
	"fmt"
	"math"
)

// DType is an element type. The values match ONNX's TensorProto.DataType so
// that conversion from a model's declarations is a cast.
type DType int32

const (
	Float32 DType = 1
	Int64   DType = 7
)

func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Int64:
		return "int64"
	}
	return fmt.Sprintf("dtype(%d)", int32(d))
}

// Tensor is a dense row-major tensor. Exactly one of F32 and I64 is used,
// chosen by DType.
type Tensor struct {
	DType DType
	Shape []int
	F32   []float32
	I64   []int64
}

// NewFloat32 returns a float32 tensor of the given shape. data may be nil, in
// which case zeroed storage is allocated.
func NewFloat32(shape []int, data []float32) *Tensor {
	n := NumElements(shape)
	if data == nil {
		data = make([]float32, n)
	}
	return &Tensor{DType: Float32, Shape: append([]int(nil), shape...), F32: data}
}

// NewInt64 returns an int64 tensor of the given shape. data may be nil.
func NewInt64(shape []int, data []int64) *Tensor {
	n := NumElements(shape)
	if data == nil {
		data = make([]int64, n)
	}
	return &Tensor{DType: Int64, Shape: append([]int(nil), shape...), I64: data}
}

// NumElements is the product of shape (1 for a scalar).
func NumElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Len is the number of elements.
func (t *Tensor) Len() int { return NumElements(t.Shape) }

// Validate checks that the backing slice matches the shape and dtype.
func (t *Tensor) Validate() error {
	for i, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("tensor: dimension %d is negative (%d)", i, d)
		}
	}
	n := t.Len()
	switch t.DType {
	case Float32:
		if len(t.F32) != n {
			return fmt.Errorf("tensor: shape %v needs %d float32 values, have %d", t.Shape, n, len(t.F32))
		}
	case Int64:
		if len(t.I64) != n {
			return fmt.Errorf("tensor: shape %v needs %d int64 values, have %d", t.Shape, n, len(t.I64))
		}
	default:
		return fmt.Errorf("tensor: unsupported dtype %v", t.DType)
	}
	return nil
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	c := &Tensor{DType: t.DType, Shape: append([]int(nil), t.Shape...)}
	if t.F32 != nil {
		c.F32 = append([]float32(nil), t.F32...)
	}
	if t.I64 != nil {
		c.I64 = append([]int64(nil), t.I64...)
	}
	return c
}

// Float64s returns the elements widened to float64, whatever the dtype.
func (t *Tensor) Float64s() []float64 {
	out := make([]float64, t.Len())
	switch t.DType {
	case Float32:
		for i, v := range t.F32 {
			out[i] = float64(v)
		}
	case Int64:
		for i, v := range t.I64 {
			out[i] = float64(v)
		}
	}
	return out
}

// SameShape reports whether a and b have equal shapes.
func SameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// MaxAbs is the largest absolute element (0 for an empty tensor); NaN wins.
func (t *Tensor) MaxAbs() float64 {
	m := 0.0
	for _, v := range t.Float64s() {
		if math.IsNaN(v) {
			return v
		}
		m = math.Max(m, math.Abs(v))
	}
	return m
}
