package checkpoint

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"codeberg.org/sbinet/npyio/npy"
	"codeberg.org/sbinet/npyio/npz"
	"github.com/wtonnx/wtonnx/tensor"
)

// MaxFileBytes bounds the size of a checkpoint file and of one .npz member.
const MaxFileBytes = 8 << 30

// Checkpoint is a set of named tensors read from one file.
type Checkpoint struct {
	path     string
	format   string // "safetensors" or "npz"
	metadata map[string]string
	entries  map[string]*entry
}

// entry is one stored tensor. Safetensors tensors keep their raw bytes and
// are decoded on access; .npz members are decoded when the file is opened.
type entry struct {
	dtype string
	shape []int
	raw   []byte         // safetensors data, little-endian
	t     *tensor.Tensor // decoded .npz member
	err   error          // why an .npz member cannot be used
}

// Open reads a checkpoint: a .safetensors file, or a NumPy .npz archive (as
// written by numpy.savez; member "a.b.npy" is tensor "a.b"). The format is
// chosen by the extension, or by the content when the extension is neither.
func Open(path string) (*Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("checkpoint: %s is not a regular file", path)
	}
	if st.Size() > MaxFileBytes {
		return nil, fmt.Errorf("checkpoint: %s: %d bytes exceeds the %d-byte limit", path, st.Size(), int64(MaxFileBytes))
	}
	data := make([]byte, st.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, fmt.Errorf("checkpoint: reading %s: %w", path, err)
	}
	var ck *Checkpoint
	switch ext := strings.ToLower(filepath.Ext(path)); {
	case ext == ".npz", ext != ".safetensors" && bytes.HasPrefix(data, []byte("PK\x03\x04")):
		ck, err = ParseNPZ(path, data)
	default:
		ck, err = ParseSafetensors(path, data)
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return ck, nil
}

// Path is the file the checkpoint was read from.
func (c *Checkpoint) Path() string { return c.path }

// Format is "safetensors" or "npz".
func (c *Checkpoint) Format() string { return c.format }

// Metadata is the safetensors __metadata__ map (nil when absent).
func (c *Checkpoint) Metadata() map[string]string { return c.metadata }

// Names lists every tensor name, sorted.
func (c *Checkpoint) Names() []string {
	names := make([]string, 0, len(c.entries))
	for n := range c.entries {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Has reports whether the checkpoint holds a tensor of that name.
func (c *Checkpoint) Has(name string) bool { _, ok := c.entries[name]; return ok }

// Shape is a tensor's stored shape (nil when absent).
func (c *Checkpoint) Shape(name string) []int {
	e, ok := c.entries[name]
	if !ok {
		return nil
	}
	return append([]int(nil), e.shape...)
}

// DType is a tensor's stored dtype as the file spells it ("F32", "<f4").
func (c *Checkpoint) DType(name string) string {
	if e, ok := c.entries[name]; ok {
		return e.dtype
	}
	return ""
}

// Tensor decodes one tensor: floating-point data becomes a float32 tensor
// (float64 rounded to nearest), int64 stays int64. Other dtypes are an error
// naming the tensor. The result is a fresh copy.
func (c *Checkpoint) Tensor(name string) (*tensor.Tensor, error) {
	e, ok := c.entries[name]
	if !ok {
		return nil, fmt.Errorf("checkpoint %s: no tensor %q", c.path, name)
	}
	if e.err != nil {
		return nil, fmt.Errorf("checkpoint %s: tensor %q: %w", c.path, name, e.err)
	}
	if e.t != nil {
		return e.t.Clone(), nil
	}
	t, err := decodeSafetensors(e.dtype, e.shape, e.raw)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: tensor %q: %w", c.path, name, err)
	}
	return t, nil
}

// Float32 decodes a tensor that must be floating point.
func (c *Checkpoint) Float32(name string) (*tensor.Tensor, error) {
	t, err := c.Tensor(name)
	if err != nil {
		return nil, err
	}
	if t.DType != tensor.Float32 {
		return nil, fmt.Errorf("checkpoint %s: tensor %q has dtype %s, want a floating-point tensor", c.path, name, c.DType(name))
	}
	return t, nil
}

// Tensors decodes every tensor into a map name -> tensor (floating-point
// data as float32, int64 as int64); a tensor of another dtype is an error
// naming it.
func (c *Checkpoint) Tensors() (map[string]*tensor.Tensor, error) {
	out := make(map[string]*tensor.Tensor, len(c.entries))
	for _, name := range c.Names() {
		t, err := c.Tensor(name)
		if err != nil {
			return nil, err
		}
		out[name] = t
	}
	return out, nil
}

// ParseNPZ parses a NumPy .npz archive held in data; name is used in error
// messages. Every member must be a valid .npy array; members of a dtype
// tensor.DecodeNPY does not read (float32, float64, int32, int64) are kept
// and reported as an error when accessed.
func ParseNPZ(name string, data []byte) (*Checkpoint, error) {
	rd, err := npz.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("%s: not a valid .npz archive: %w", name, err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("%s: not a valid .npz archive: %w", name, err)
	}
	for _, zf := range zr.File {
		if zf.Name == "data.pkl" || strings.HasSuffix(zf.Name, "/data.pkl") {
			return nil, fmt.Errorf("%s: a PyTorch .pt/.pth archive (member %q), not a NumPy .npz: save the state_dict with safetensors or numpy.savez", name, zf.Name)
		}
	}
	ck := &Checkpoint{path: name, format: "npz", entries: map[string]*entry{}}
	for _, zf := range zr.File {
		if strings.HasSuffix(zf.Name, "/") {
			continue // directory entry
		}
		key := strings.TrimSuffix(zf.Name, ".npy")
		if _, dup := ck.entries[key]; dup {
			return nil, fmt.Errorf("%s: member %q appears twice", name, zf.Name)
		}
		if zf.UncompressedSize64 > MaxFileBytes {
			return nil, fmt.Errorf("%s: member %q: %d bytes uncompressed exceeds the %d-byte limit", name, zf.Name, zf.UncompressedSize64, int64(MaxFileBytes))
		}
		rc, err := rd.Open(zf.Name)
		if err != nil {
			return nil, fmt.Errorf("%s: member %q: %w", name, zf.Name, err)
		}
		// ReadAll grows with the data actually present, and the zip reader
		// checks the declared size and CRC, so a lying header cannot force
		// a huge allocation.
		member, err := io.ReadAll(io.LimitReader(rc, int64(zf.UncompressedSize64)+1))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: member %q: %w", name, zf.Name, err)
		}
		e, err := parseNPYMember(member)
		if err != nil {
			return nil, fmt.Errorf("%s: tensor %q: %w", name, key, err)
		}
		ck.entries[key] = e
	}
	return ck, nil
}

// parseNPYMember checks an .npy header against the bytes present before
// decoding, so that a header claiming a huge shape fails cleanly.
func parseNPYMember(member []byte) (*entry, error) {
	r, err := npy.NewReader(bytes.NewReader(member))
	if err != nil {
		return nil, fmt.Errorf("not a valid .npy array: %w", err)
	}
	hd := r.Header.Descr
	dtype := strings.Trim(hd.Type, "'\"")
	shape := append([]int(nil), hd.Shape...)
	elems := int64(1)
	for _, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("negative dimension in shape %v", shape)
		}
		if d == 0 {
			elems = 0
			break
		}
		if elems > int64(len(member))/int64(d) {
			return nil, fmt.Errorf("shape %v needs more bytes than the member holds (%d)", shape, len(member))
		}
		elems *= int64(d)
	}
	size := npyItemSize(dtype)
	if size == 0 {
		return &entry{dtype: dtype, shape: shape, err: fmt.Errorf("unsupported .npy dtype %q", dtype)}, nil
	}
	hdrLen := npyHeaderLen(member)
	if hdrLen < 0 || int64(len(member)-hdrLen) != elems*int64(size) {
		return nil, fmt.Errorf("shape %v of %s needs %d data bytes, the member holds %d", shape, dtype, elems*int64(size), len(member)-max(hdrLen, 0))
	}
	t, err := tensor.DecodeNPY(bytes.NewReader(member))
	if err != nil {
		return &entry{dtype: dtype, shape: shape, err: err}, nil
	}
	return &entry{dtype: dtype, shape: shape, t: t}, nil
}

// npyItemSize is the element size of a .npy dtype descriptor (0 if unknown).
func npyItemSize(descr string) int {
	if len(descr) < 2 {
		return 0
	}
	switch descr[len(descr)-2:] {
	case "f2", "i2", "u2":
		return 2
	case "f4", "i4", "u4":
		return 4
	case "f8", "i8", "u8":
		return 8
	case "i1", "u1", "b1":
		return 1
	}
	return 0
}

// npyHeaderLen is the number of bytes before the array data of an .npy
// stream (magic, version, header length, header), or -1 if malformed.
func npyHeaderLen(b []byte) int {
	if len(b) < 10 || string(b[:6]) != "\x93NUMPY" {
		return -1
	}
	switch b[6] {
	case 1:
		n := 10 + (int(b[8]) | int(b[9])<<8)
		return checkLen(n, len(b))
	case 2, 3:
		if len(b) < 12 {
			return -1
		}
		n := 12 + int(uint32(b[8])|uint32(b[9])<<8|uint32(b[10])<<16|uint32(b[11])<<24)
		return checkLen(n, len(b))
	}
	return -1
}

func checkLen(n, total int) int {
	if n > total {
		return -1
	}
	return n
}
