package onnxmodel

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/wtonnx/wtonnx/internal/atomicfile"
	"github.com/wtonnx/wtonnx/onnxpb"
)

// SaveOptions control Save.
type SaveOptions struct {
	// Overwrite allows replacing an existing file at the destination.
	Overwrite bool
	// ExternalDataThreshold, when positive, moves every graph initializer
	// whose raw data has at least this many bytes into an external data file
	// beside the model (required for models over 2 GB).
	ExternalDataThreshold int64
	// ExternalDataName is the external file's name, relative to the model's
	// folder; default: the model's file name plus ".data".
	ExternalDataName string
}

// externalAlign aligns each external tensor so that runtimes can map it.
const externalAlign = 64

// Field numbers of onnx.proto that Save streams around.
const (
	modelGraphField       = 7
	graphInitializerField = 5
	tensorRawDataField    = 9
)

var marshalOpts = proto.MarshalOptions{Deterministic: true}

// Marshal serializes a model deterministically, in one buffer. Save streams
// instead and is the better choice for large models; without external data
// both give the same bytes.
func Marshal(m *onnxpb.ModelProto) ([]byte, error) {
	return marshalOpts.Marshal(m)
}

// Save writes m to path atomically: the file appears complete or not at all,
// and a failed Save leaves no file behind (no temporary file either). The
// model is not modified. Save refuses a tensor whose payload disagrees with
// its dims or whose data lives in an external file that was never loaded,
// since the file written would be unreadable.
//
// Without Overwrite, an existing file at path (or at the external data path)
// is never replaced, even by a file created while Save runs.
func Save(m *onnxpb.ModelProto, path string, opts SaveOptions) error {
	_, err := SaveFiles(m, path, opts)
	return err
}

// SaveFiles is Save that also returns the files it wrote: path, then the
// external data file when tensors went into one.
func SaveFiles(m *onnxpb.ModelProto, path string, opts SaveOptions) (files []string, err error) {
	if m == nil {
		return nil, errors.New("save: nil model")
	}
	if opts.ExternalDataThreshold < 0 {
		return nil, fmt.Errorf("save %s: external data threshold %d is negative", path, opts.ExternalDataThreshold)
	}
	if err := checkSavable(m); err != nil {
		return nil, fmt.Errorf("save %s: %w", path, err)
	}
	if err := atomicfile.Check(path, atomicfile.Options{Overwrite: opts.Overwrite}); err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	var ext *externalWriter
	if opts.ExternalDataThreshold > 0 {
		name := opts.ExternalDataName
		if name == "" {
			name = filepath.Base(path) + ".data"
		}
		if filepath.IsAbs(name) || filepath.Clean(name) != filepath.Base(name) || name == "." || name == ".." {
			return nil, fmt.Errorf("save %s: external data name %q must be a plain file name", path, name)
		}
		if name == filepath.Base(path) {
			return nil, fmt.Errorf("save %s: external data name %q is the model's own name", path, name)
		}
		if ext, err = newExternalWriter(dir, name, opts.ExternalDataThreshold, opts.Overwrite); err != nil {
			return nil, fmt.Errorf("save %s: %w", path, err)
		}
		defer ext.abort()
	}

	tmp, err := atomicfile.Create(path, atomicfile.Options{Overwrite: opts.Overwrite})
	if err != nil {
		return nil, fmt.Errorf("save %s: %w", path, err)
	}
	defer tmp.Abort()
	w := bufio.NewWriterSize(tmp, 1<<20)
	if err := writeModel(w, m, ext); err != nil {
		return nil, fmt.Errorf("save %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("save %s: %w", path, err)
	}
	if ext != nil {
		if err := ext.commit(); err != nil {
			return nil, fmt.Errorf("save %s: %w", path, err)
		}
	}
	if err := tmp.Commit(); err != nil {
		return nil, fmt.Errorf("save %s: %w", path, err)
	}
	files = []string{path}
	if ext != nil {
		ext.keep()
		if ext.offset > 0 {
			files = append(files, filepath.Join(dir, ext.name))
		}
	}
	return files, nil
}

// checkSavable refuses tensors that cannot be written as valid ONNX. The
// main graph's initializers are checked by writeModel as it streams them.
func checkSavable(m *onnxpb.ModelProto) error {
	streamed := map[*onnxpb.TensorProto]bool{}
	for _, t := range m.GetGraph().GetInitializer() {
		streamed[t] = true
	}
	return forEachTensor(m, func(t *onnxpb.TensorProto, where fmt.Stringer) error {
		if streamed[t] {
			return nil
		}
		return checkSavableTensor(t, where)
	})
}

func checkSavableTensor(t *onnxpb.TensorProto, where fmt.Stringer) error {
	if t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
		return fmt.Errorf("%s %s refers to external data that was never loaded", where, tensorLabel(t))
	}
	if err := CheckTensor(t); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	return nil
}

// writeModel streams a ModelProto in the same byte order as Marshal: the
// model's fields before the graph, the graph, the fields after it. The graph
// is written the same way around its initializers, and each initializer
// around its raw data, which is copied straight from the tensor, so that
// saving holds no second copy of any tensor.
func writeModel(w io.Writer, m *onnxpb.ModelProto, ext *externalWriter) error {
	mlo, mhi, err := split(m, modelGraphField)
	if err != nil {
		return err
	}
	g := m.GetGraph()
	if g == nil {
		return writeAll(w, mlo, mhi)
	}
	glo, ghi, err := split(g, graphInitializerField)
	if err != nil {
		return err
	}
	inits := make([]encodedTensor, len(g.GetInitializer()))
	total := len(glo) + len(ghi)
	for i, t := range g.GetInitializer() {
		if err := checkSavableTensor(t, &place{text: "graph " + quote(g.GetName()) + " initializer"}); err != nil {
			return err
		}
		placed, err := ext.place(t)
		if err != nil {
			return err
		}
		if inits[i], err = encodeTensor(placed); err != nil {
			return fmt.Errorf("%s: %w", tensorLabel(t), err)
		}
		total += protowire.SizeTag(graphInitializerField) + protowire.SizeBytes(inits[i].size())
	}
	head := protowire.AppendTag(nil, modelGraphField, protowire.BytesType)
	head = protowire.AppendVarint(head, uint64(total))
	if err := writeAll(w, mlo, head, glo); err != nil {
		return err
	}
	for _, e := range inits {
		head := protowire.AppendTag(nil, graphInitializerField, protowire.BytesType)
		head = protowire.AppendVarint(head, uint64(e.size()))
		if err := writeAll(w, head); err != nil {
			return err
		}
		if err := e.writeTo(w); err != nil {
			return err
		}
	}
	return writeAll(w, ghi, mhi)
}

// encodedTensor is a TensorProto encoded as the fields before raw_data, the
// raw data itself (not copied), and the fields after it.
type encodedTensor struct {
	lo, hi []byte
	raw    []byte
	hasRaw bool
}

func encodeTensor(t *onnxpb.TensorProto) (encodedTensor, error) {
	if t.RawData == nil {
		b, err := marshalOpts.Marshal(t)
		return encodedTensor{lo: b}, err
	}
	lo, hi, err := split(t, tensorRawDataField)
	return encodedTensor{lo: lo, hi: hi, raw: t.RawData, hasRaw: true}, err
}

func (e encodedTensor) size() int {
	n := len(e.lo) + len(e.hi)
	if e.hasRaw {
		n += protowire.SizeTag(tensorRawDataField) + protowire.SizeBytes(len(e.raw))
	}
	return n
}

func (e encodedTensor) writeTo(w io.Writer) error {
	if !e.hasRaw {
		return writeAll(w, e.lo)
	}
	head := protowire.AppendTag(nil, tensorRawDataField, protowire.BytesType)
	head = protowire.AppendVarint(head, uint64(len(e.raw)))
	return writeAll(w, e.lo, head, e.raw, e.hi)
}

func writeAll(w io.Writer, bufs ...[]byte) error {
	for _, b := range bufs {
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// split encodes the fields of msg numbered below num, and those above it
// followed by the unknown fields: Marshal(msg) is lo, field num, hi.
func split(msg proto.Message, num protoreflect.FieldNumber) (lo, hi []byte, err error) {
	src := msg.ProtoReflect()
	a, b := src.New(), src.New()
	src.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Number() < num:
			a.Set(fd, v)
		case fd.Number() > num:
			b.Set(fd, v)
		}
		return true
	})
	b.SetUnknown(src.GetUnknown())
	if lo, err = marshalOpts.Marshal(a.Interface()); err != nil {
		return nil, nil, err
	}
	if hi, err = marshalOpts.Marshal(b.Interface()); err != nil {
		return nil, nil, err
	}
	return lo, hi, nil
}

// without returns a shallow copy of msg lacking one field. Unknown fields are
// carried over so that data from newer schemas survives.
func without(msg proto.Message, field protoreflect.Name) proto.Message {
	src := msg.ProtoReflect()
	dst := src.New()
	src.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Name() != field {
			dst.Set(fd, v)
		}
		return true
	})
	dst.SetUnknown(src.GetUnknown())
	return dst.Interface()
}

// externalWriter collects large tensors into a side file. The file is
// committed only when a tensor went into it.
type externalWriter struct {
	name      string
	threshold int64
	f         *atomicfile.File
	w         *bufio.Writer
	offset    int64
	kept      bool // the model that refers to it is saved too
}

func newExternalWriter(dir, name string, threshold int64, overwrite bool) (*externalWriter, error) {
	f, err := atomicfile.Create(filepath.Join(dir, name), atomicfile.Options{Overwrite: overwrite})
	if err != nil {
		return nil, err
	}
	return &externalWriter{name: name, threshold: threshold, f: f, w: bufio.NewWriterSize(f, 1<<20)}, nil
}

// place returns the tensor to serialize: t itself, or a copy that refers to
// the external file after t's data was appended to it.
func (e *externalWriter) place(t *onnxpb.TensorProto) (*onnxpb.TensorProto, error) {
	if e == nil || t.RawData == nil || int64(len(t.GetRawData())) < e.threshold {
		return t, nil
	}
	if pad := (externalAlign - e.offset%externalAlign) % externalAlign; pad > 0 {
		if _, err := e.w.Write(make([]byte, pad)); err != nil {
			return nil, err
		}
		e.offset += pad
	}
	if _, err := e.w.Write(t.GetRawData()); err != nil {
		return nil, fmt.Errorf("%s: writing external data: %w", tensorLabel(t), err)
	}
	c := without(t, "raw_data").(*onnxpb.TensorProto)
	loc := onnxpb.TensorProto_EXTERNAL
	c.DataLocation = &loc
	c.ExternalData = []*onnxpb.StringStringEntryProto{
		entry("location", e.name),
		entry("offset", strconv.FormatInt(e.offset, 10)),
		entry("length", strconv.Itoa(len(t.GetRawData()))),
	}
	e.offset += int64(len(t.GetRawData()))
	return c, nil
}

func entry(k, v string) *onnxpb.StringStringEntryProto {
	return &onnxpb.StringStringEntryProto{Key: &k, Value: &v}
}

// commit moves the data file to its name; when no tensor went into it, no
// file is made.
func (e *externalWriter) commit() error {
	if err := e.w.Flush(); err != nil {
		return err
	}
	if e.offset == 0 {
		return nil // abort removes the empty temporary file
	}
	return e.f.Commit()
}

// keep marks the data file as belonging to a saved model.
func (e *externalWriter) keep() { e.kept = true }

// abort removes what a failed Save wrote: the temporary file, or the
// committed data file when the model itself could not be saved.
func (e *externalWriter) abort() {
	if e.kept && e.offset > 0 {
		return
	}
	e.f.Remove()
}
