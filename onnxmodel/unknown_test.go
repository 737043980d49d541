package onnxmodel

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/wtonnx/wtonnx/onnxpb"
)

// newerFields sets, on messages of tinyModel, fields that newer ONNX schemas
// define and this one does not, encoded by hand. It returns each message's
// unknown bytes by a label.
func newerFields(m *onnxpb.ModelProto) map[string][]byte {
	entry := func(k, v string) []byte { // a StringStringEntryProto
		b := protowire.AppendTag(nil, 1, protowire.BytesType)
		b = protowire.AppendString(b, k)
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		return protowire.AppendString(b, v)
	}
	msgField := func(num protowire.Number, body []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), body)
	}
	u := map[string][]byte{
		// ModelProto.configuration (26, IR 11) and an unassigned varint.
		"model": append(msgField(26, entry("device", "cuda:0")),
			protowire.AppendVarint(protowire.AppendTag(nil, 99, protowire.VarintType), 12345)...),
		// GraphProto.metadata_props (16, IR 10).
		"graph": msgField(16, entry("graph-key", "graph-value")),
		// NodeProto.overload (8) and metadata_props (9), IR 10.
		"node": append(protowire.AppendString(protowire.AppendTag(nil, 8, protowire.BytesType), "v2"),
			msgField(9, entry("node-key", "node-value"))...),
		// TensorProto.metadata_props (16, IR 10).
		"tensor": msgField(16, entry("tensor-key", "tensor-value")),
		// A fixed32 and a fixed64 in ValueInfoProto.
		"input": append(protowire.AppendFixed32(protowire.AppendTag(nil, 40, protowire.Fixed32Type), 7),
			protowire.AppendFixed64(protowire.AppendTag(nil, 41, protowire.Fixed64Type), 8)...),
	}
	for label, msg := range newerMessages(m) {
		msg.ProtoReflect().SetUnknown(protoreflect.RawFields(u[label]))
	}
	return u
}

func newerMessages(m *onnxpb.ModelProto) map[string]proto.Message {
	return map[string]proto.Message{
		"model":  m,
		"graph":  m.Graph,
		"node":   m.Graph.Node[0],
		"tensor": m.Graph.Initializer[0],
		"input":  m.Graph.Input[0],
	}
}

func checkNewerFields(t *testing.T, what string, m *onnxpb.ModelProto, want map[string][]byte) {
	t.Helper()
	for label, msg := range newerMessages(m) {
		if got := msg.ProtoReflect().GetUnknown(); !bytes.Equal(got, want[label]) {
			t.Fatalf("%s: %s unknown fields %x, want %x", what, label, got, want[label])
		}
	}
}

// TestUnknownFieldsSurvive checks that fields of newer ONNX schemas survive
// Load -> Save byte for byte, with inline and with external data.
func TestUnknownFieldsSurvive(t *testing.T) {
	m := tinyModel()
	want := newerFields(m)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.onnx")
	writeFile(t, in, mustMarshal(t, m))

	loaded, err := Load(in)
	if err != nil {
		t.Fatal(err)
	}
	checkNewerFields(t, "loaded", loaded, want)

	for _, opts := range []SaveOptions{{}, {ExternalDataThreshold: 1}} {
		out := filepath.Join(dir, "out.onnx")
		opts.Overwrite = true
		if err := Save(loaded, out, opts); err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		for label, b := range want {
			if !bytes.Contains(raw, b) {
				t.Fatalf("saved file (%+v) lacks the %s fields %x", opts, label, b)
			}
		}
		back, err := Load(out)
		if err != nil {
			t.Fatal(err)
		}
		checkNewerFields(t, "reloaded", back, want)
		if !proto.Equal(back, m) {
			t.Fatalf("reloaded model (%+v) differs", opts)
		}
	}
}

// TestVersions loads and saves models of the IR versions and opsets at the
// ends of the supported range.
func TestVersions(t *testing.T) {
	dir := t.TempDir()
	for _, v := range []struct{ ir, opset int64 }{{3, 9}, {3, 21}, {10, 9}, {10, 21}, {8, 17}} {
		m := tinyModel()
		m.IrVersion = proto.Int64(v.ir)
		m.OpsetImport[0].Version = proto.Int64(v.opset)
		in := filepath.Join(dir, "in.onnx")
		writeFile(t, in, mustMarshal(t, m))
		loaded, err := Load(in)
		if err != nil {
			t.Fatalf("IR %d opset %d: %v", v.ir, v.opset, err)
		}
		out := filepath.Join(dir, "out.onnx")
		if err := Save(loaded, out, SaveOptions{Overwrite: true}); err != nil {
			t.Fatal(err)
		}
		back, err := Load(out)
		if err != nil {
			t.Fatal(err)
		}
		if back.GetIrVersion() != v.ir || back.GetOpsetImport()[0].GetVersion() != v.opset || !proto.Equal(back, m) {
			t.Fatalf("IR %d opset %d: reloaded model differs", v.ir, v.opset)
		}
	}
	for _, ir := range []int64{0, 2, 11} {
		m := tinyModel()
		m.IrVersion = proto.Int64(ir)
		_, err := Parse(mustMarshal(t, m))
		wantError(t, err, "IR version", "not supported")
	}
}
