package onnxmodel

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/wtonnx/wtonnx/onnxpb"
)

// Supported IR versions. Opsets are not limited here: loading and saving
// keep any operator set; the converter and the engines check the ones they
// work with.
const (
	MinIRVersion = 3
	MaxIRVersion = 10
)

// Load reads, parses and checks the model at path. Tensors stored in
// external data files are read into memory (their location must stay inside
// the model's folder), so the returned model is self-contained.
func Load(path string) (*onnxpb.ModelProto, error) {
	data, mapped, release, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	var consumed func(int)
	if mapped {
		consumed = dropPages(data)
	}
	m, err := unmarshal(data, consumed)
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
	m, err := unmarshal(data, nil)
	if err != nil {
		return nil, err
	}
	if err := forEachTensor(m, func(t *onnxpb.TensorProto, where fmt.Stringer) error {
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

// unmarshal decodes a model; consumed, when not nil, is told how far
// decoding has got (see decodeModel).
func unmarshal(data []byte, consumed func(n int)) (*onnxpb.ModelProto, error) {
	if len(data) == 0 {
		return nil, errors.New("empty file: not an ONNX model")
	}
	m, err := decodeModel(data, consumed)
	if err != nil {
		return nil, fmt.Errorf("not a valid ONNX model (protobuf decoding failed: %v)", err)
	}
	if err := checkWireTypes(m.ProtoReflect()); err != nil {
		return nil, fmt.Errorf("not a valid ONNX model: %w", err)
	}
	return m, nil
}

// decodeModel decodes a ModelProto exactly as proto.Unmarshal does, but
// takes the main graph's initializers (nearly all of a large model's bytes)
// one at a time, and after each calls consumed (when not nil) with the
// number of leading bytes of data it no longer needs, so that Load can drop
// them from memory: the file's mapped pages and the decoded tensors are then
// not both resident. The other fields are copied aside and decoded at the
// end with merge semantics, which is what proto.Unmarshal does with a
// message whose fields come in several pieces.
func decodeModel(data []byte, consumed func(n int)) (*onnxpb.ModelProto, error) {
	m := &onnxpb.ModelProto{}
	var rest []byte
	for b := data; len(b) > 0; {
		num, typ, n := protowire.ConsumeField(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		if num == modelGraphField && typ == protowire.BytesType {
			_, _, tn := protowire.ConsumeTag(b)
			v, _ := protowire.ConsumeBytes(b[tn:])
			if m.Graph == nil {
				m.Graph = &onnxpb.GraphProto{}
			}
			if err := decodeGraph(m.Graph, v, len(data)-len(b)+n-len(v), consumed); err != nil {
				return nil, err
			}
		} else {
			rest = append(rest, b[:n]...)
		}
		b = b[n:]
	}
	if err := (proto.UnmarshalOptions{Merge: true}).Unmarshal(rest, m); err != nil {
		return nil, err
	}
	return m, nil
}

// decodeGraph merges the GraphProto encoded in data, which starts at offset
// base of the model's bytes, into g.
func decodeGraph(g *onnxpb.GraphProto, data []byte, base int, consumed func(int)) error {
	var rest []byte
	for b := data; len(b) > 0; {
		num, typ, n := protowire.ConsumeField(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		if num == graphInitializerField && typ == protowire.BytesType {
			_, _, tn := protowire.ConsumeTag(b)
			v, _ := protowire.ConsumeBytes(b[tn:])
			t := &onnxpb.TensorProto{}
			if err := proto.Unmarshal(v, t); err != nil {
				return err
			}
			g.Initializer = append(g.Initializer, t)
			if consumed != nil {
				consumed(base + len(data) - len(b) + n)
			}
		} else {
			rest = append(rest, b[:n]...)
		}
		b = b[n:]
	}
	return (proto.UnmarshalOptions{Merge: true}).Unmarshal(rest, g)
}

// dropPages returns a consumed function for decodeModel that releases the
// pages of the mapped file data that decoding has passed, in steps of a few
// megabytes. The mapping is private and read-only: a page dropped is read
// from the file again if touched.
func dropPages(data []byte) func(int) {
	const step = 4 << 20
	page := os.Getpagesize()
	done := 0
	return func(n int) {
		end := n / page * page
		if end-done < step {
			return
		}
		_ = syscall.Madvise(data[done:end], syscall.MADV_DONTNEED)
		done = end
	}
}

// checkWireTypes finds fields that protobuf decoding set aside as unknown
// although the schema knows their number: their wire type is wrong, so the
// file is corrupt (or not an ONNX model at all). Truly unknown field numbers,
// from newer schemas, are kept. A known number with the expected wire type
// (a value of a closed enum this schema predates) is kept as well.
func checkWireTypes(msg protoreflect.Message) *wireTypeError {
	fields := msg.Descriptor().Fields()
	b := msg.GetUnknown()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeField(b)
		if n < 0 {
			return &wireTypeError{msg: string(msg.Descriptor().Name()), num: -1}
		}
		b = b[n:]
		fd := fields.ByNumber(num)
		if fd == nil {
			continue
		}
		if want := wireType(fd); typ != want && !(fd.IsList() && typ == protowire.BytesType) {
			return &wireTypeError{msg: string(msg.Descriptor().Name()), field: string(fd.Name()), num: num, got: typ, want: want}
		}
	}
	var err *wireTypeError
	msg.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Message() == nil || fd.IsMap() {
			return true
		}
		if fd.IsList() {
			l := v.List()
			for i := 0; i < l.Len() && err == nil; i++ {
				if err = checkWireTypes(l.Get(i).Message()); err != nil {
					err.path = append(err.path, fmt.Sprintf("%s[%d]", fd.Name(), i))
				}
			}
		} else if err = checkWireTypes(v.Message()); err != nil {
			err.path = append(err.path, string(fd.Name()))
		}
		return err == nil
	})
	return err
}

// wireTypeError reports a field whose wire type disagrees with the schema.
type wireTypeError struct {
	path      []string // from the field holding the message up to the model
	msg       string
	field     string
	num       protowire.Number // -1: the unknown fields could not be parsed
	got, want protowire.Type
}

func (e *wireTypeError) Error() string {
	at := "model"
	for i := len(e.path) - 1; i >= 0; i-- {
		at += "." + e.path[i]
	}
	if e.num < 0 {
		return fmt.Sprintf("%s %s holds a malformed field", e.msg, at)
	}
	return fmt.Sprintf("field %s (number %d) of %s %s has wire type %d, the schema expects %d",
		e.field, e.num, e.msg, at, e.got, e.want)
}

// wireType is the wire type the schema expects for a field.
func wireType(fd protoreflect.FieldDescriptor) protowire.Type {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.StringKind, protoreflect.BytesKind:
		return protowire.BytesType
	case protoreflect.GroupKind:
		return protowire.StartGroupType
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
		return protowire.Fixed32Type
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind, protoreflect.DoubleKind:
		return protowire.Fixed64Type
	}
	return protowire.VarintType
}

// mapFile maps a file read-only so that parsing a large model does not hold a
// second copy of it on the Go heap. release must be called once parsing is
// done; protobuf copies what it keeps. mapped tells whether data is a
// mapping (pages of which may be dropped) or an ordinary buffer.
func mapFile(path string) (data []byte, mapped bool, release func(), err error) {
	// Check before opening: opening a FIFO would block.
	if st, err := os.Stat(path); err != nil {
		return nil, false, nil, err
	} else if !st.Mode().IsRegular() {
		return nil, false, nil, fmt.Errorf("%s: not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, false, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, false, nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, false, nil, fmt.Errorf("%s: not a regular file", path)
	}
	size := st.Size()
	if size == 0 {
		return nil, false, func() {}, nil
	}
	if size > 1<<40 {
		return nil, false, nil, fmt.Errorf("%s: file of %d bytes is too large", path, size)
	}
	data, err = syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_PRIVATE)
	if err != nil {
		// Fall back to reading when mapping is not possible (some file systems).
		buf, rerr := os.ReadFile(path)
		if rerr != nil {
			return nil, false, nil, rerr
		}
		return buf, false, func() {}, nil
	}
	return data, true, func() { _ = syscall.Munmap(data) }, nil
}
