package onnxmodel

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/wtonnx/wtonnx/onnxpb"
)

// externalRef is the parsed external_data of one tensor.
type externalRef struct {
	location string
	offset   int64
	length   int64 // -1 when not given
}

func parseExternalRef(t *onnxpb.TensorProto) (externalRef, error) {
	ref := externalRef{length: -1}
	for _, kv := range t.GetExternalData() {
		switch kv.GetKey() {
		case "location":
			ref.location = kv.GetValue()
		case "offset", "length":
			v, err := strconv.ParseInt(kv.GetValue(), 10, 64)
			if err != nil || v < 0 {
				return ref, fmt.Errorf("%s: external data %s %q is not a non-negative integer", tensorLabel(t), kv.GetKey(), kv.GetValue())
			}
			if kv.GetKey() == "offset" {
				ref.offset = v
			} else {
				ref.length = v
			}
		}
	}
	if ref.location == "" {
		return ref, fmt.Errorf("%s: external data has no location", tensorLabel(t))
	}
	return ref, nil
}

// resolveExternalPath returns the file an external location names, refusing
// anything that is not a plain relative path inside dir once symbolic links
// are followed.
func resolveExternalPath(dir, location string) (string, error) {
	if filepath.IsAbs(location) || strings.HasPrefix(location, "/") || strings.Contains(location, "\\") {
		return "", fmt.Errorf("external data location %q must be a relative path inside the model's folder", location)
	}
	clean := filepath.Clean(location)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("external data location %q leaves the model's folder", location)
	}
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", fmt.Errorf("model folder %s: %w", dir, err)
	}
	real, err := filepath.EvalSymlinks(filepath.Join(root, clean))
	if err != nil {
		return "", fmt.Errorf("external data location %q: %w", location, err)
	}
	rel, err := filepath.Rel(root, real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("external data location %q resolves to %s, outside the model's folder", location, real)
	}
	return real, nil
}

// loadExternalData reads every external tensor into raw_data and clears its
// external reference, so that the model no longer depends on side files.
func loadExternalData(m *onnxpb.ModelProto, dir string) error {
	files := map[string]*os.File{}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	return forEachTensor(m, func(t *onnxpb.TensorProto, where fmt.Stringer) error {
		if t.GetDataLocation() != onnxpb.TensorProto_EXTERNAL {
			return nil
		}
		ref, err := parseExternalRef(t)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		n, err := NumElements(t.GetDims())
		if err != nil {
			return fmt.Errorf("%s %s: %w", where, tensorLabel(t), err)
		}
		size := int64(ElemSize(t.GetDataType()))
		if size == 0 {
			return fmt.Errorf("%s %s: external data of type %v is not supported", where, tensorLabel(t), onnxpb.TensorProto_DataType(t.GetDataType()))
		}
		want := n * size
		if ref.length >= 0 && ref.length != want {
			return fmt.Errorf("%s %s: external data length %d disagrees with dims %v (%d bytes)", where, tensorLabel(t), ref.length, t.GetDims(), want)
		}
		path, err := resolveExternalPath(dir, ref.location)
		if err != nil {
			return fmt.Errorf("%s %s: %w", where, tensorLabel(t), err)
		}
		f := files[path]
		if f == nil {
			// Check before opening: opening a FIFO would block.
			if st, err := os.Stat(path); err != nil {
				return fmt.Errorf("%s %s: %w", where, tensorLabel(t), err)
			} else if !st.Mode().IsRegular() {
				return fmt.Errorf("%s %s: external data location %q is not a regular file", where, tensorLabel(t), ref.location)
			}
			if f, err = os.Open(path); err != nil {
				return fmt.Errorf("%s %s: %w", where, tensorLabel(t), err)
			}
			files[path] = f
		}
		st, err := f.Stat()
		if err != nil {
			return fmt.Errorf("%s %s: %w", where, tensorLabel(t), err)
		}
		if ref.offset > st.Size() || want > st.Size()-ref.offset {
			return fmt.Errorf("%s %s: external data [%d, %d) lies beyond the end of %s (%d bytes)",
				where, tensorLabel(t), ref.offset, ref.offset+want, ref.location, st.Size())
		}
		buf := make([]byte, want)
		if _, err := f.ReadAt(buf, ref.offset); err != nil && err != io.EOF {
			return fmt.Errorf("%s %s: reading %s: %w", where, tensorLabel(t), ref.location, err)
		}
		t.RawData = buf
		t.ExternalData = nil
		t.DataLocation = nil
		return nil
	})
}
