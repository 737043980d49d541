package onnxmodel

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/onnxpb"
)

// Supported IR and default-domain opset ranges.
const (
	MinIRVersion = 3
	MaxIRVersion = 10
	MinOpset     = 7
	MaxOpset     = 21
)

// Load reads, parses and checks the model at path. Tensors stored in
// external data files are read into memory (their location must stay inside
// the model's folder), so the returned model is self-contained.
func Load(path string) (*onnxpb.ModelProto, error) {
	data, release, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	m, err := unmarshal(data)
	release()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := loadExternalData(m, filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := Validate(m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Parse decodes and checks a serialized model. A model that refers to
// external data cannot be parsed from bytes alone: use Load.
func Parse(data []byte) (*onnxpb.ModelProto, error) {
	m, err := unmarshal(data)
	if err != nil {
		return nil, err
	}
	if err := forEachTensor(m, func(t *onnxpb.TensorProto, where string) error {
		if t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
			return fmt.Errorf("%s %s keeps its data in an external file; load the model from its path", where, tensorLabel(t))
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := Validate(m); err != nil {
		return nil, err
	}
	return m, nil
}

func unmarshal(data []byte) (*onnxpb.ModelProto, error) {
	if len(data) == 0 {
		return nil, errors.New("empty file: not an ONNX model")
	}
	m := &onnxpb.ModelProto{}
	if err := proto.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("not a valid ONNX model (protobuf decoding failed: %v)", err)
	}
	return m, nil
}

// mapFile maps a file read-only so that parsing a large model does not hold a
// second copy of it on the Go heap. release must be called once parsing is
// done; protobuf copies what it keeps.
func mapFile(path string) ([]byte, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s: not a regular file", path)
	}
	size := st.Size()
	if size == 0 {
		return nil, func() {}, nil
	}
	if size > 1<<40 {
		return nil, nil, fmt.Errorf("%s: file of %d bytes is too large", path, size)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_PRIVATE)
	if err != nil {
		// Fall back to reading when mapping is not possible (some file systems).
		buf, rerr := os.ReadFile(path)
		if rerr != nil {
			return nil, nil, rerr
		}
		return buf, func() {}, nil
	}
	return data, func() { _ = syscall.Munmap(data) }, nil
}
