package onnxmodel

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/onnxpb"
)

// FuzzParse feeds Parse arbitrary bytes: it must never panic, and a model it
// accepts must marshal, parse again to an equal model and marshal to the
// same bytes; its graph must have a topological order and its initializers
// must decode or fail cleanly. Seeds: testdata/fuzz/FuzzParse plus the
// models below and the malformed cases of TestMalformedModels. It also
// checks Load's piecewise decoder against proto.Unmarshal.
func FuzzParse(f *testing.F) {
	for _, m := range []func() []byte{
		func() []byte { return mustMarshal(f, tinyModel()) },
		func() []byte { return mustMarshal(f, bigModel()) },
		func() []byte { return mustMarshal(f, nestedModel(3)) },
		func() []byte { return mustMarshal(f, manyScopesModel(3, 2)) },
		func() []byte { m := tinyModel(); newerFields(m); return mustMarshal(f, m) },
	} {
		f.Add(m())
	}
	for _, c := range malformedCases() {
		f.Add(c.model(f, f.TempDir()))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// The piecewise decoder agrees with proto.Unmarshal.
		ref := &onnxpb.ModelProto{}
		refErr := proto.Unmarshal(data, ref)
		got, err := decodeModel(data, nil)
		if (err == nil) != (refErr == nil) {
			t.Fatalf("decodeModel error %v, proto.Unmarshal error %v", err, refErr)
		}
		if err == nil && !proto.Equal(got, ref) {
			t.Fatal("decodeModel and proto.Unmarshal decode differently")
		}

		m, err := Parse(data)
		if err != nil {
			if m != nil {
				t.Fatal("Parse returned a model along with an error")
			}
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		b, err := Marshal(m)
		if err != nil {
			t.Fatalf("Marshal of a parsed model: %v", err)
		}
		m2, err := Parse(b)
		if err != nil {
			t.Fatalf("Parse of a marshalled model: %v", err)
		}
		if !proto.Equal(m, m2) {
			t.Fatal("model changed through Marshal and Parse")
		}
		b2, err := Marshal(m2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, b2) {
			t.Fatal("Marshal is not stable")
		}
		order, err := TopoOrder(m.GetGraph())
		if err != nil || len(order) != len(m.GetGraph().GetNode()) {
			t.Fatalf("TopoOrder of a valid graph: %v (%d of %d nodes)", err, len(order), len(m.GetGraph().GetNode()))
		}
		for _, tp := range m.GetGraph().GetInitializer() {
			if x, err := ToTensor(tp); err == nil {
				if err := x.Validate(); err != nil {
					t.Fatalf("ToTensor of %q gave an inconsistent tensor: %v", tp.GetName(), err)
				}
			}
		}
	})
}
