package onnxmodel

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
)

// MaxElements bounds the element count of any one tensor. A file claiming
// more is treated as corrupt rather than allocated.
const MaxElements = 1 << 34

// ElemSize returns the byte size of one element of an ONNX data type, or 0
// for types without a fixed size (strings) or unknown types.
func ElemSize(dt int32) int {
	switch onnxpb.TensorProto_DataType(dt) {
	case onnxpb.TensorProto_FLOAT, onnxpb.TensorProto_INT32, onnxpb.TensorProto_UINT32:
		return 4
	case onnxpb.TensorProto_DOUBLE, onnxpb.TensorProto_INT64, onnxpb.TensorProto_UINT64, onnxpb.TensorProto_COMPLEX64:
		return 8
	case onnxpb.TensorProto_COMPLEX128:
		return 16
	case onnxpb.TensorProto_FLOAT16, onnxpb.TensorProto_BFLOAT16, onnxpb.TensorProto_INT16, onnxpb.TensorProto_UINT16:
		return 2
	case onnxpb.TensorProto_INT8, onnxpb.TensorProto_UINT8, onnxpb.TensorProto_BOOL,
		onnxpb.TensorProto_FLOAT8E4M3FN, onnxpb.TensorProto_FLOAT8E4M3FNUZ,
		onnxpb.TensorProto_FLOAT8E5M2, onnxpb.TensorProto_FLOAT8E5M2FNUZ:
		return 1
	}
	return 0
}

// NumElements returns the element count implied by dims, with an error for
// negative dims or a count beyond MaxElements (checked without overflow).
func NumElements(dims []int64) (int64, error) {
	n := int64(1)
	for i, d := range dims {
		if d < 0 {
			return 0, fmt.Errorf("dimension %d is negative (%d)", i, d)
		}
		if d == 0 {
			n = 0
			continue
		}
		if n > MaxElements/d {
			return 0, fmt.Errorf("dims %v hold more than %d elements", dims, int64(MaxElements))
		}
		n *= d
	}
	return n, nil
}

// tensorLabel names a tensor in error messages.
func tensorLabel(t *onnxpb.TensorProto) string {
	if t.GetName() == "" {
		return "unnamed tensor"
	}
	return fmt.Sprintf("tensor %q", t.GetName())
}

// CheckTensor verifies that a tensor's payload agrees with its dims and data
// type. External tensors are checked when they are loaded.
func CheckTensor(t *onnxpb.TensorProto) error {
	n, err := NumElements(t.GetDims())
	if err != nil {
		return fmt.Errorf("%s: %w", tensorLabel(t), err)
	}
	if t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
		return nil
	}
	dt := onnxpb.TensorProto_DataType(t.GetDataType())
	if t.GetDataType() == 0 {
		return fmt.Errorf("%s: data type is not set", tensorLabel(t))
	}
	if dt == onnxpb.TensorProto_STRING {
		if int64(len(t.GetStringData())) != n {
			return fmt.Errorf("%s: dims %v need %d strings, found %d", tensorLabel(t), t.GetDims(), n, len(t.GetStringData()))
		}
		return nil
	}
	size := ElemSize(t.GetDataType())
	if size == 0 {
		if len(t.GetRawData()) > 0 {
			return nil // a type newer than this schema (e.g. int4): keep, do not check
		}
		return nil
	}
	if raw := t.GetRawData(); raw != nil || typedLen(t) == 0 {
		if int64(len(raw)) != n*int64(size) {
			return fmt.Errorf("%s: dims %v of %v need %d bytes of raw data, found %d",
				tensorLabel(t), t.GetDims(), dt, n*int64(size), len(raw))
		}
		return nil
	}
	want := n
	switch dt {
	case onnxpb.TensorProto_COMPLEX64, onnxpb.TensorProto_COMPLEX128:
		want = 2 * n
	}
	if got := int64(typedLen(t)); got != want {
		return fmt.Errorf("%s: dims %v of %v need %d values, found %d", tensorLabel(t), t.GetDims(), dt, want, got)
	}
	return nil
}

// typedLen is the number of values in whichever typed field the data type uses.
func typedLen(t *onnxpb.TensorProto) int {
	switch onnxpb.TensorProto_DataType(t.GetDataType()) {
	case onnxpb.TensorProto_FLOAT, onnxpb.TensorProto_COMPLEX64:
		return len(t.GetFloatData())
	case onnxpb.TensorProto_DOUBLE, onnxpb.TensorProto_COMPLEX128:
		return len(t.GetDoubleData())
	case onnxpb.TensorProto_INT64:
		return len(t.GetInt64Data())
	case onnxpb.TensorProto_UINT32, onnxpb.TensorProto_UINT64:
		return len(t.GetUint64Data())
	default:
		return len(t.GetInt32Data())
	}
}

// Float32s decodes a FLOAT (or DOUBLE) tensor. It fails for other types.
func Float32s(t *onnxpb.TensorProto) ([]float32, error) {
	if err := CheckTensor(t); err != nil {
		return nil, err
	}
	if t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
		return nil, fmt.Errorf("%s: external data was not loaded", tensorLabel(t))
	}
	n, _ := NumElements(t.GetDims())
	switch onnxpb.TensorProto_DataType(t.GetDataType()) {
	case onnxpb.TensorProto_FLOAT:
		if raw := t.GetRawData(); raw != nil || len(t.GetFloatData()) == 0 {
			out := make([]float32, n)
			for i := range out {
				out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
			return out, nil
		}
		return append([]float32(nil), t.GetFloatData()...), nil
	case onnxpb.TensorProto_DOUBLE:
		out := make([]float32, n)
		if raw := t.GetRawData(); raw != nil || len(t.GetDoubleData()) == 0 {
			for i := range out {
				out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
			}
			return out, nil
		}
		for i, v := range t.GetDoubleData() {
			out[i] = float32(v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: data type %v is not float32", tensorLabel(t), onnxpb.TensorProto_DataType(t.GetDataType()))
}

// Int64s decodes an integer tensor (INT64, INT32, INT16, INT8, UINT8, BOOL)
// widened to int64.
func Int64s(t *onnxpb.TensorProto) ([]int64, error) {
	if err := CheckTensor(t); err != nil {
		return nil, err
	}
	if t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
		return nil, fmt.Errorf("%s: external data was not loaded", tensorLabel(t))
	}
	n, _ := NumElements(t.GetDims())
	out := make([]int64, n)
	raw := t.GetRawData()
	useRaw := raw != nil || typedLen(t) == 0
	switch onnxpb.TensorProto_DataType(t.GetDataType()) {
	case onnxpb.TensorProto_INT64:
		if !useRaw {
			return append([]int64(nil), t.GetInt64Data()...), nil
		}
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
		}
	case onnxpb.TensorProto_INT32:
		for i := range out {
			if useRaw {
				out[i] = int64(int32(binary.LittleEndian.Uint32(raw[4*i:])))
			} else {
				out[i] = int64(t.GetInt32Data()[i])
			}
		}
	case onnxpb.TensorProto_INT16:
		for i := range out {
			if useRaw {
				out[i] = int64(int16(binary.LittleEndian.Uint16(raw[2*i:])))
			} else {
				out[i] = int64(t.GetInt32Data()[i])
			}
		}
	case onnxpb.TensorProto_INT8:
		for i := range out {
			if useRaw {
				out[i] = int64(int8(raw[i]))
			} else {
				out[i] = int64(t.GetInt32Data()[i])
			}
		}
	case onnxpb.TensorProto_UINT8, onnxpb.TensorProto_BOOL:
		for i := range out {
			if useRaw {
				out[i] = int64(raw[i])
			} else {
				out[i] = int64(t.GetInt32Data()[i])
			}
		}
	default:
		return nil, fmt.Errorf("%s: data type %v is not an integer type", tensorLabel(t), onnxpb.TensorProto_DataType(t.GetDataType()))
	}
	return out, nil
}

// ToTensor decodes a TensorProto into a host tensor: floating types become
// float32, integer and boolean types int64.
func ToTensor(t *onnxpb.TensorProto) (*tensor.Tensor, error) {
	shape, err := intShape(t)
	if err != nil {
		return nil, err
	}
	switch onnxpb.TensorProto_DataType(t.GetDataType()) {
	case onnxpb.TensorProto_FLOAT, onnxpb.TensorProto_DOUBLE:
		f, err := Float32s(t)
		if err != nil {
			return nil, err
		}
		return tensor.NewFloat32(shape, f), nil
	case onnxpb.TensorProto_INT64, onnxpb.TensorProto_INT32, onnxpb.TensorProto_INT16,
		onnxpb.TensorProto_INT8, onnxpb.TensorProto_UINT8, onnxpb.TensorProto_BOOL:
		v, err := Int64s(t)
		if err != nil {
			return nil, err
		}
		return tensor.NewInt64(shape, v), nil
	}
	return nil, fmt.Errorf("%s: data type %v is not supported (float32, float64 and integer types are)",
		tensorLabel(t), onnxpb.TensorProto_DataType(t.GetDataType()))
}

func intShape(t *onnxpb.TensorProto) ([]int, error) {
	if _, err := NumElements(t.GetDims()); err != nil {
		return nil, fmt.Errorf("%s: %w", tensorLabel(t), err)
	}
	shape := make([]int, len(t.GetDims()))
	for i, d := range t.GetDims() {
		shape[i] = int(d)
	}
	return shape, nil
}

// FromTensor encodes a host tensor as a TensorProto with raw little-endian
// data (FLOAT or INT64).
func FromTensor(name string, x *tensor.Tensor) *onnxpb.TensorProto {
	dims := make([]int64, len(x.Shape))
	for i, d := range x.Shape {
		dims[i] = int64(d)
	}
	if x.DType == tensor.Int64 {
		return NewInt64Tensor(name, dims, x.I64)
	}
	return NewFloat32Tensor(name, dims, x.F32)
}

// NewFloat32Tensor builds a FLOAT initializer with raw data.
func NewFloat32Tensor(name string, dims []int64, data []float32) *onnxpb.TensorProto {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	dt := int32(onnxpb.TensorProto_FLOAT)
	return &onnxpb.TensorProto{Name: &name, Dims: append([]int64{}, dims...), DataType: &dt, RawData: raw}
}

// NewInt64Tensor builds an INT64 initializer with raw data.
func NewInt64Tensor(name string, dims []int64, data []int64) *onnxpb.TensorProto {
	raw := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	dt := int32(onnxpb.TensorProto_INT64)
	return &onnxpb.TensorProto{Name: &name, Dims: append([]int64{}, dims...), DataType: &dt, RawData: raw}
}
