package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/wtonnx/wtonnx/tensor"
)

// EncodeSafetensors returns the .safetensors bytes of tensors (float32 as
// F32, int64 as I64), in name order so that equal inputs give equal bytes;
// metadata (may be nil) becomes the header's __metadata__.
func EncodeSafetensors(tensors map[string]*tensor.Tensor, metadata map[string]string) ([]byte, error) {
	names := make([]string, 0, len(tensors))
	for n := range tensors {
		if n == "__metadata__" || n == "" {
			return nil, fmt.Errorf("safetensors: %q is not a valid tensor name", n)
		}
		names = append(names, n)
	}
	sort.Strings(names)
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	var data bytes.Buffer
	for _, n := range names {
		t := tensors[n]
		if err := t.Validate(); err != nil {
			return nil, fmt.Errorf("safetensors: tensor %q: %w", n, err)
		}
		start := int64(data.Len())
		var dt string
		switch t.DType {
		case tensor.Float32:
			dt = "F32"
			for _, v := range t.F32 {
				_ = binary.Write(&data, binary.LittleEndian, math.Float32bits(v))
			}
		case tensor.Int64:
			dt = "I64"
			for _, v := range t.I64 {
				_ = binary.Write(&data, binary.LittleEndian, v)
			}
		default:
			return nil, fmt.Errorf("safetensors: tensor %q has dtype %v (float32 and int64 are written)", n, t.DType)
		}
		shape := make([]int64, len(t.Shape))
		for i, d := range t.Shape {
			shape[i] = int64(d)
		}
		header[n] = stHeaderEntry{DType: dt, Shape: shape, DataOffsets: []int64{start, int64(data.Len())}}
	}
	h, err := json.Marshal(header) // map keys come out sorted
	if err != nil {
		return nil, err
	}
	for len(h)%8 != 0 { // align the data, as the reference writer does
		h = append(h, ' ')
	}
	out := make([]byte, 8, 8+len(h)+data.Len())
	binary.LittleEndian.PutUint64(out, uint64(len(h)))
	out = append(out, h...)
	return append(out, data.Bytes()...), nil
}

// WriteSafetensors writes tensors to path atomically (a temporary file in
// the same folder, renamed into place): a failed write leaves no partial
// file. An existing file is replaced only when overwrite is true.
func WriteSafetensors(path string, tensors map[string]*tensor.Tensor, metadata map[string]string, overwrite bool) error {
	b, err := EncodeSafetensors(tensors, metadata)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if !overwrite {
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("%s already exists", path)
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}
