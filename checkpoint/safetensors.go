package checkpoint

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/wtonnx/wtonnx/tensor"
)

// MaxHeaderBytes bounds a safetensors JSON header (the reference
// implementation uses the same 100 MB limit).
const MaxHeaderBytes = 100 << 20

// maxRank bounds a tensor's rank.
const maxRank = 16

// dtypeSize is the element size of every dtype the safetensors format
// defines (0 = unknown).
func dtypeSize(dt string) int {
	switch dt {
	case "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3":
		return 1
	case "U16", "I16", "F16", "BF16":
		return 2
	case "U32", "I32", "F32":
		return 4
	case "U64", "I64", "F64":
		return 8
	}
	return 0
}

type stHeaderEntry struct {
	DType       string  `json:"dtype"`
	Shape       []int64 `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

// ParseSafetensors parses a whole .safetensors file held in data; name is
// used in error messages. The tensors' bytes stay in data and are decoded
// on access (Tensor).
func ParseSafetensors(name string, data []byte) (*Checkpoint, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("%s: not a safetensors file: %d bytes, shorter than the 8-byte header length", name, len(data))
	}
	n := binary.LittleEndian.Uint64(data[:8])
	if n > MaxHeaderBytes {
		return nil, fmt.Errorf("%s: safetensors header length %d exceeds the %d-byte limit", name, n, MaxHeaderBytes)
	}
	if n > uint64(len(data)-8) {
		return nil, fmt.Errorf("%s: safetensors header length %d runs past the end of the file (%d bytes after the length)", name, n, len(data)-8)
	}
	hdr := data[8 : 8+n]
	if len(hdr) == 0 || hdr[0] != '{' {
		return nil, fmt.Errorf("%s: safetensors header is not a JSON object", name)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &raw); err != nil {
		return nil, fmt.Errorf("%s: safetensors header is not valid JSON: %w", name, err)
	}
	buf := data[8+n:]
	ck := &Checkpoint{path: name, format: "safetensors", entries: map[string]*entry{}}
	type span struct {
		name       string
		begin, end int64
	}
	var spans []span
	for key, msg := range raw {
		if key == "__metadata__" {
			var md map[string]string
			if err := json.Unmarshal(msg, &md); err != nil {
				return nil, fmt.Errorf("%s: safetensors __metadata__ must map strings to strings: %w", name, err)
			}
			ck.metadata = md
			continue
		}
		var e stHeaderEntry
		dec := json.NewDecoder(strings.NewReader(string(msg)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("%s: tensor %q: bad header entry: %w", name, key, err)
		}
		size := dtypeSize(e.DType)
		if size == 0 {
			return nil, fmt.Errorf("%s: tensor %q: unknown dtype %q", name, key, e.DType)
		}
		if len(e.DataOffsets) != 2 {
			return nil, fmt.Errorf("%s: tensor %q: data_offsets must be [begin, end], got %v", name, key, e.DataOffsets)
		}
		begin, end := e.DataOffsets[0], e.DataOffsets[1]
		if begin < 0 || end < begin || end > int64(len(buf)) {
			return nil, fmt.Errorf("%s: tensor %q: data_offsets [%d, %d] out of range (data section has %d bytes)", name, key, begin, end, len(buf))
		}
		if len(e.Shape) > maxRank {
			return nil, fmt.Errorf("%s: tensor %q: rank %d exceeds %d", name, key, len(e.Shape), maxRank)
		}
		// Product of the shape, bounded by the data section so it cannot overflow.
		shape := make([]int, len(e.Shape))
		zero := false
		for i, d := range e.Shape {
			if d < 0 {
				return nil, fmt.Errorf("%s: tensor %q: negative dimension in shape %v", name, key, e.Shape)
			}
			shape[i] = int(d)
			zero = zero || d == 0
		}
		elems := int64(1)
		if zero {
			elems = 0
		}
		for _, d := range e.Shape {
			if zero {
				break
			}
			if elems > int64(len(buf))/d {
				return nil, fmt.Errorf("%s: tensor %q: shape %v of %s needs more bytes than the file holds (data_offsets [%d, %d] hold %d)",
					name, key, e.Shape, e.DType, begin, end, end-begin)
			}
			elems *= d
		}
		if elems > math.MaxInt64/int64(size) || elems*int64(size) != end-begin {
			return nil, fmt.Errorf("%s: tensor %q: shape %v of %s needs %d bytes, data_offsets [%d, %d] hold %d",
				name, key, e.Shape, e.DType, elems*int64(size), begin, end, end-begin)
		}
		ck.entries[key] = &entry{dtype: e.DType, shape: shape, raw: buf[begin:end]}
		spans = append(spans, span{key, begin, end})
	}
	// The data of distinct tensors must neither overlap nor leave holes: the
	// format packs them back to back, and the reference reader rejects
	// anything else.
	sort.Slice(spans, func(i, j int) bool {
		if spans[i].begin != spans[j].begin {
			return spans[i].begin < spans[j].begin
		}
		return spans[i].name < spans[j].name
	})
	pos := int64(0)
	prev := ""
	for _, s := range spans {
		if s.begin < pos {
			return nil, fmt.Errorf("%s: tensor %q: data_offsets [%d, %d] overlap tensor %q (which ends at %d)", name, s.name, s.begin, s.end, prev, pos)
		}
		if s.begin > pos {
			return nil, fmt.Errorf("%s: tensor %q: data starts at %d, leaving bytes [%d, %d) unused after %s", name, s.name, s.begin, pos, s.begin, describePrev(prev))
		}
		pos, prev = s.end, s.name
	}
	if pos != int64(len(buf)) {
		return nil, fmt.Errorf("%s: the data section has %d bytes but the tensors cover only %d", name, len(buf), pos)
	}
	return ck, nil
}

func describePrev(prev string) string {
	if prev == "" {
		return "the header"
	}
	return fmt.Sprintf("tensor %q", prev)
}

// decodeSafetensors converts one tensor's little-endian bytes: F32, F64, F16
// and BF16 become float32 (F64 rounded), I64 stays int64.
func decodeSafetensors(dtype string, shape []int, b []byte) (*tensor.Tensor, error) {
	n := tensor.NumElements(shape)
	switch dtype {
	case "F32":
		out := make([]float32, n)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return tensor.NewFloat32(shape, out), nil
	case "F64":
		out := make([]float32, n)
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
		}
		return tensor.NewFloat32(shape, out), nil
	case "F16":
		out := make([]float32, n)
		for i := range out {
			out[i] = halfToFloat32(binary.LittleEndian.Uint16(b[2*i:]))
		}
		return tensor.NewFloat32(shape, out), nil
	case "BF16":
		out := make([]float32, n)
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		}
		return tensor.NewFloat32(shape, out), nil
	case "I64":
		out := make([]int64, n)
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
		}
		return tensor.NewInt64(shape, out), nil
	}
	return nil, fmt.Errorf("dtype %s is not supported (supported: F32, F64, F16, BF16, I64)", dtype)
}

// halfToFloat32 converts an IEEE 754 binary16 value exactly.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := int(h>>10) & 0x1f
	frac := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f: // inf / NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: frac * 2^-24
		v := float32(frac) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | uint32(exp-15+127)<<23 | frac<<13)
}
