package onnxmodel

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/onnxpb"
)

// TestDecodeMatchesProtoUnmarshal checks Load's piecewise decoder against
// proto.Unmarshal on the shared models and on encodings that split messages
// into several pieces (which protobuf merges).
func TestDecodeMatchesProtoUnmarshal(t *testing.T) {
	inputs := map[string][]byte{}
	for _, p := range sharedModels(t) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		inputs[p] = b
	}
	base := mustMarshal(t, tinyModel())
	piece := func(num protowire.Number, msg proto.Message) []byte {
		b, err := proto.Marshal(msg)
		if err != nil {
			t.Fatal(err)
		}
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), b)
	}
	// A second graph piece: one more initializer and node, a new name.
	second := &onnxpb.GraphProto{
		Name:        proto.String("renamed"),
		Initializer: []*onnxpb.TensorProto{NewFloat32Tensor("V", []int64{1, 3}, []float32{4, 5, 6})},
		Node:        []*onnxpb.NodeProto{node("mul", "Mul", []string{"y", "V"}, []string{"z"})},
	}
	inputs["two graph pieces"] = append(append([]byte{}, base...), piece(7, second)...)
	// Fields after the graph, a repeated scalar (last wins), an unknown one.
	tail := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 9)
	tail = protowire.AppendString(protowire.AppendTag(tail, 77, protowire.BytesType), "future")
	inputs["fields after the graph"] = append(append([]byte{}, base...), tail...)
	// Initializers interleaved with nodes inside the graph.
	g := tinyModel().Graph
	var gb []byte
	gb = append(gb, piece(1, g.Node[0])...)
	gb = append(gb, piece(5, g.Initializer[0])...)
	gb = append(gb, piece(1, g.Node[1])...)
	gb = append(gb, piece(5, NewFloat32Tensor("U", []int64{2}, []float32{7, 8}))...)
	gb = protowire.AppendString(protowire.AppendTag(gb, 2, protowire.BytesType), "interleaved")
	inputs["interleaved graph"] = protowire.AppendBytes(protowire.AppendTag(nil, 7, protowire.BytesType), gb)

	for name, data := range inputs {
		want := &onnxpb.ModelProto{}
		if err := proto.Unmarshal(data, want); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var last int
		got, err := decodeModel(data, func(n int) {
			if n < last || n > len(data) {
				t.Fatalf("%s: consumed %d after %d of %d", name, n, last, len(data))
			}
			last = n
		})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !proto.Equal(got, want) {
			t.Fatalf("%s: decodeModel differs from proto.Unmarshal", name)
		}
	}
}

// TestLoadDropsPagesSafely loads a model large enough for Load to release
// pages of its mapping while decoding, and checks every value.
func TestLoadDropsPagesSafely(t *testing.T) {
	m := tinyModel()
	for i := 0; i < 24; i++ { // 24 tensors of 1 MB
		v := make([]float32, 1<<18)
		for j := range v {
			v[j] = float32(i*1000 + j%1000)
		}
		name := "T" + string(rune('a'+i))
		m.Graph.Initializer = append(m.Graph.Initializer, NewFloat32Tensor(name, []int64{1 << 18}, v))
	}
	path := filepath.Join(t.TempDir(), "m.onnx")
	if err := Save(m, path, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	for k := 0; k < 2; k++ { // the second load finds the file in the page cache
		back, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(back, m) {
			t.Fatal("model loaded with pages dropped differs")
		}
	}
}
