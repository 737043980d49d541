package tensor

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"codeberg.org/sbinet/npyio/npy"

	"github.com/wtonnx/wtonnx/internal/atomicfile"
)

// ReadNPY reads a float32 or int64 .npy file (float64 and int32 are narrowed
// or widened to those two, the types ONNX models here take).
func ReadNPY(path string) (*Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := DecodeNPY(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// DecodeNPY decodes a .npy stream.
func DecodeNPY(r io.Reader) (*Tensor, error) {
	rd, err := npy.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("not a valid .npy file: %w", err)
	}
	if rd.Header.Descr.Fortran {
		return nil, fmt.Errorf("Fortran-ordered .npy arrays are not supported")
	}
	shape := append([]int{}, rd.Header.Descr.Shape...)
	n := NumElements(shape)
	if n > 1<<31 {
		return nil, fmt.Errorf(".npy array of shape %v is too large", shape)
	}
	switch strings.Trim(rd.Header.Descr.Type, "'\"") {
	case "<f4", "|f4", "f4":
		data := make([]float32, n)
		if err := rd.Read(&data); err != nil {
			return nil, fmt.Errorf("reading float32 data: %w", err)
		}
		return NewFloat32(shape, data), nil
	case "<f8", "f8":
		data := make([]float64, n)
		if err := rd.Read(&data); err != nil {
			return nil, fmt.Errorf("reading float64 data: %w", err)
		}
		f := make([]float32, n)
		for i, v := range data {
			f[i] = float32(v)
		}
		return NewFloat32(shape, f), nil
	case "<i8", "i8":
		data := make([]int64, n)
		if err := rd.Read(&data); err != nil {
			return nil, fmt.Errorf("reading int64 data: %w", err)
		}
		return NewInt64(shape, data), nil
	case "<i4", "i4":
		data := make([]int32, n)
		if err := rd.Read(&data); err != nil {
			return nil, fmt.Errorf("reading int32 data: %w", err)
		}
		w := make([]int64, n)
		for i, v := range data {
			w[i] = int64(v)
		}
		return NewInt64(shape, w), nil
	}
	return nil, fmt.Errorf("unsupported .npy dtype %q (want float32, float64, int32 or int64)", rd.Header.Descr.Type)
}

// WriteNPY writes t as a .npy file, atomically (temporary file + rename),
// replacing an existing file.
func WriteNPY(path string, t *Tensor) error {
	if err := t.Validate(); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, atomicfile.Options{Overwrite: true}, func(w io.Writer) error { return EncodeNPY(w, t) })
}

// EncodeNPY writes t in .npy format (version 1.0, little endian, C order).
// npyio's writer takes the shape from nested Go slices, so the header of an
// n-dimensional tensor held in one flat slice is written here.
func EncodeNPY(w io.Writer, t *Tensor) error {
	var descr string
	var payload []byte
	switch t.DType {
	case Float32:
		descr = "<f4"
		payload = make([]byte, 4*len(t.F32))
		for i, v := range t.F32 {
			binary.LittleEndian.PutUint32(payload[4*i:], math.Float32bits(v))
		}
	case Int64:
		descr = "<i8"
		payload = make([]byte, 8*len(t.I64))
		for i, v := range t.I64 {
			binary.LittleEndian.PutUint64(payload[8*i:], uint64(v))
		}
	default:
		return fmt.Errorf("unsupported dtype %v", t.DType)
	}
	dims := make([]string, len(t.Shape))
	for i, d := range t.Shape {
		dims[i] = strconv.Itoa(d)
	}
	shape := "(" + strings.Join(dims, ", ")
	if len(dims) == 1 {
		shape += ","
	}
	shape += ")"
	header := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape)
	// Magic (6) + version (2) + header length (2) + header, padded with
	// spaces and ended by a newline to a multiple of 64 bytes.
	total := 10 + len(header) + 1
	header += strings.Repeat(" ", (64-total%64)%64) + "\n"
	prefix := append(append([]byte{}, npy.Magic[:]...), 1, 0, 0, 0)
	binary.LittleEndian.PutUint16(prefix[8:], uint16(len(header)))
	for _, b := range [][]byte{prefix, []byte(header), payload} {
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}
