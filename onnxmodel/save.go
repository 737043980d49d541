package onnxmodel

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

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
func Save(m *onnxpb.ModelProto, path string, opts SaveOptions) (err error) {
	if m == nil {
		return errors.New("save: nil model")
	}
	if err := checkSavable(m); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := checkDestination(path, opts.Overwrite); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	var ext *externalWriter
	if opts.ExternalDataThreshold > 0 {
		name := opts.ExternalDataName
		if name == "" {
			name = filepath.Base(path) + ".data"
		}
		if filepath.IsAbs(name) || filepath.Clean(name) != filepath.Base(name) || name == "." || name == ".." {
			return fmt.Errorf("save %s: external data name %q must be a plain file name", path, name)
		}
		if name == filepath.Base(path) {
			return fmt.Errorf("save %s: external data name %q is the model's own name", path, name)
		}
		if err := checkDestination(filepath.Join(dir, name), opts.Overwrite); err != nil {
			return err
		}
		if ext, err = newExternalWriter(dir, name, opts.ExternalDataThreshold, opts.Overwrite); err != nil {
			return fmt.Errorf("save %s: %w", path, err)
		}
		defer ext.abort()
	}

	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// CreateTemp makes the file private; the model is not.
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}

	w := bufio.NewWriterSize(tmp, 1<<20)
	if err := writeModel(w, m, ext); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if ext != nil {
		if err := ext.commit(); err != nil {
			return fmt.Errorf("save %s: %w", path, err)
		}
	}
	if err := commitFile(tmp.Name(), path, opts.Overwrite); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	committed = true
	if ext != nil {
		ext.keep()
	}
	return nil
}

// checkDestination refuses a directory, and an existing file unless
// overwrite is set.
func checkDestination(path string, overwrite bool) error {
	st, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("save %s: %w", path, err)
	case st.IsDir():
		return fmt.Errorf("save %s: it is a directory", path)
	case !overwrite:
		return fmt.Errorf("%s already exists (refusing to overwrite it)", path)
	}
	return nil
}

// commitFile moves the finished temporary file tmp to path. Without
// overwrite it links rather than renames, so that a file that appeared at
// path meanwhile is not replaced.
func commitFile(tmp, path string, overwrite bool) error {
	if overwrite {
		return os.Rename(tmp, path)
	}
	err := os.Link(tmp, path)
	switch {
	case err == nil:
		return os.Remove(tmp)
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("%s already exists (refusing to overwrite it)", path)
	}
	// Hard links unsupported here: check, then rename.
	if _, serr := os.Lstat(path); serr == nil {
		return fmt.Errorf("%s already exists (refusing to overwrite it)", path)
	}
	return os.Rename(tmp, path)
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
// created only when a tensor goes into it.
type externalWriter struct {
	dir, name string
	threshold int64
	overwrite bool
	f         *os.File
	w         *bufio.Writer
	offset    int64
	committed bool // the file is at its final name
	kept      bool // the model that refers to it is saved too
}

func newExternalWriter(dir, name string, threshold int64, overwrite bool) (*externalWriter, error) {
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &externalWriter{dir: dir, name: name, threshold: threshold, overwrite: overwrite, f: f, w: bufio.NewWriterSize(f, 1<<20)}, nil
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
	if err := e.f.Sync(); err != nil {
		return err
	}
	if err := e.f.Close(); err != nil {
		return err
	}
	if err := commitFile(e.f.Name(), filepath.Join(e.dir, e.name), e.overwrite); err != nil {
		return err
	}
	e.committed = true
	return nil
}

// keep marks the data file as belonging to a saved model.
func (e *externalWriter) keep() { e.kept = true }

// abort removes what a failed Save wrote: the temporary file, or the
// committed data file when the model itself could not be saved.
func (e *externalWriter) abort() {
	switch {
	case e.kept && e.committed:
	case e.committed:
		os.Remove(filepath.Join(e.dir, e.name))
	default:
		e.f.Close()
		os.Remove(e.f.Name())
	}
}
