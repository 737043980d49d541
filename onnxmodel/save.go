package onnxmodel

import (
	"bufio"
	"errors"
	"fmt"
	"io"
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

var marshalOpts = proto.MarshalOptions{Deterministic: true}

// Marshal serializes a model deterministically, in one buffer. Save streams
// instead and is the better choice for large models.
func Marshal(m *onnxpb.ModelProto) ([]byte, error) {
	return marshalOpts.Marshal(m)
}

// Save writes m to path atomically: the file appears complete or not at all.
// The model is not modified.
func Save(m *onnxpb.ModelProto, path string, opts SaveOptions) error {
	if m == nil {
		return errors.New("save: nil model")
	}
	if !opts.Overwrite {
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("%s already exists (refusing to overwrite it)", path)
		}
	}
	dir := filepath.Dir(path)
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

	var ext *externalWriter
	if opts.ExternalDataThreshold > 0 {
		name := opts.ExternalDataName
		if name == "" {
			name = filepath.Base(path) + ".data"
		}
		if filepath.IsAbs(name) || filepath.Clean(name) != filepath.Base(name) {
			return fmt.Errorf("save %s: external data name %q must be a plain file name", path, name)
		}
		if ext, err = newExternalWriter(dir, name, opts.ExternalDataThreshold); err != nil {
			return fmt.Errorf("save %s: %w", path, err)
		}
		defer ext.abort()
		if !opts.Overwrite {
			if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
				return fmt.Errorf("%s already exists (refusing to overwrite it)", filepath.Join(dir, name))
			}
		}
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
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	committed = true
	return nil
}

// writeModel streams a ModelProto: every field but the graph in one piece,
// then the graph with its initializers marshalled one at a time, so that at
// most one tensor's encoding is held besides the model.
func writeModel(w io.Writer, m *onnxpb.ModelProto, ext *externalWriter) error {
	head, err := marshalOpts.Marshal(without(m, "graph"))
	if err != nil {
		return err
	}
	if _, err := w.Write(head); err != nil {
		return err
	}
	g := m.GetGraph()
	if g == nil {
		return nil
	}
	body, err := marshalOpts.Marshal(without(g, "initializer"))
	if err != nil {
		return err
	}
	inits := make([]*onnxpb.TensorProto, len(g.GetInitializer()))
	total := len(body)
	for i, t := range g.GetInitializer() {
		if inits[i], err = ext.place(t); err != nil {
			return err
		}
		n := marshalOpts.Size(inits[i])
		total += protowire.SizeTag(5) + protowire.SizeBytes(n)
	}
	var buf []byte
	buf = protowire.AppendTag(buf, 7, protowire.BytesType)
	buf = protowire.AppendVarint(buf, uint64(total))
	if _, err := w.Write(buf); err != nil {
		return err
	}
	if _, err := w.Write(body); err != nil {
		return err
	}
	for _, t := range inits {
		b, err := marshalOpts.Marshal(t)
		if err != nil {
			return fmt.Errorf("%s: %w", tensorLabel(t), err)
		}
		head := protowire.AppendTag(nil, 5, protowire.BytesType)
		head = protowire.AppendVarint(head, uint64(len(b)))
		if _, err := w.Write(head); err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
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

// externalWriter collects large tensors into a side file.
type externalWriter struct {
	dir, name string
	threshold int64
	f         *os.File
	w         *bufio.Writer
	offset    int64
	done      bool
}

func newExternalWriter(dir, name string, threshold int64) (*externalWriter, error) {
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return nil, err
	}
	return &externalWriter{dir: dir, name: name, threshold: threshold, f: f, w: bufio.NewWriterSize(f, 1<<20)}, nil
}

// place returns the tensor to serialize: t itself, or a copy that refers to
// the external file after t's data was appended to it.
func (e *externalWriter) place(t *onnxpb.TensorProto) (*onnxpb.TensorProto, error) {
	if e == nil || int64(len(t.GetRawData())) < e.threshold {
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

func (e *externalWriter) commit() error {
	if err := e.w.Flush(); err != nil {
		return err
	}
	if err := e.f.Sync(); err != nil {
		return err
	}
	if err := e.f.Close(); err != nil {
		return err
	}
	if err := os.Rename(e.f.Name(), filepath.Join(e.dir, e.name)); err != nil {
		return err
	}
	e.done = true
	return nil
}

func (e *externalWriter) abort() {
	if !e.done {
		e.f.Close()
		os.Remove(e.f.Name())
	}
}
