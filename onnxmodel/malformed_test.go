package onnxmodel

import (
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/onnxpb"
)

// malformedCase is a model file (and maybe files beside it) that Load must
// refuse with an error mentioning every part of want.
type malformedCase struct {
	name string
	// model returns the bytes of model.onnx; files are written beside it
	// before (paths relative to the model's folder, which lies one level
	// below a scratch root so that "../" reaches a folder outside it).
	model func(t testing.TB, root string) []byte
	want  []string
}

// mutated returns a builder for tinyModel changed by edit.
func mutated(edit func(m *onnxpb.ModelProto)) func(testing.TB, string) []byte {
	return func(t testing.TB, _ string) []byte {
		m := tinyModel()
		edit(m)
		return mustMarshal(t, m)
	}
}

// externalW makes initializer W (float [1, 3], 12 bytes) refer to external
// data with the given key/value pairs.
func externalW(m *onnxpb.ModelProto, kv ...string) {
	w := m.Graph.Initializer[0]
	w.RawData = nil
	loc := onnxpb.TensorProto_EXTERNAL
	w.DataLocation = &loc
	for i := 0; i+1 < len(kv); i += 2 {
		w.ExternalData = append(w.ExternalData, entry(kv[i], kv[i+1]))
	}
}

// withFiles writes files (name -> content) into the model folder root/m,
// then builds the model.
func withFiles(files map[string]string, edit func(m *onnxpb.ModelProto)) func(testing.TB, string) []byte {
	return func(t testing.TB, root string) []byte {
		for name, content := range files {
			writeFile(t, filepath.Join(root, "m", name), []byte(content))
		}
		return mutated(edit)(t, root)
	}
}

func malformedCases() []malformedCase {
	return []malformedCase{
		{"empty file", func(testing.TB, string) []byte { return nil }, []string{"empty file"}},
		{"random bytes", func(testing.TB, string) []byte {
			b := make([]byte, 4096)
			rand.New(rand.NewSource(1)).Read(b)
			return b
		}, []string{"not a valid ONNX model"}},
		{"truncated protobuf", func(t testing.TB, r string) []byte {
			b := mustMarshal(t, tinyModel())
			return b[:len(b)/2]
		}, []string{"not a valid ONNX model", "protobuf decoding failed"}},
		{"length prefix beyond the end", func(t testing.TB, r string) []byte {
			b := mustMarshal(t, tinyModel())
			b = protowire.AppendTag(b, 2, protowire.BytesType)
			b = protowire.AppendVarint(b, 1<<40)
			return append(b, "abc"...)
		}, []string{"protobuf decoding failed"}},
		{"wrong wire type", func(t testing.TB, r string) []byte {
			m := tinyModel()
			m.IrVersion = nil
			b := protowire.AppendTag(nil, 1, protowire.BytesType) // ir_version is a varint
			b = protowire.AppendString(b, "8")
			return append(b, mustMarshal(t, m)...)
		}, []string{"field ir_version (number 1) of ModelProto model has wire type 2, the schema expects 0"}},
		{"wrong wire type deep inside", func(t testing.TB, r string) []byte {
			m := tinyModel()
			n := m.Graph.Node[0]
			n.ProtoReflect().SetUnknown(protowire.AppendVarint(protowire.AppendTag(nil, 4, protowire.VarintType), 7)) // op_type as varint
			n.OpType = nil
			return mustMarshal(t, m)
		}, []string{"field op_type (number 4) of NodeProto model.graph.node[0] has wire type 0, the schema expects 2"}},
		{"raw_data shorter than dims", mutated(func(m *onnxpb.ModelProto) {
			m.Graph.Initializer[0].RawData = m.Graph.Initializer[0].RawData[:8]
		}), []string{`initializer: tensor "W": dims [1 3] of FLOAT need 12 bytes of raw data, found 8`}},
		{"float_data count disagreeing", mutated(func(m *onnxpb.ModelProto) {
			m.Graph.Initializer[0].RawData = nil
			m.Graph.Initializer[0].FloatData = []float32{1, 2}
		}), []string{`tensor "W": dims [1 3] of FLOAT need 3 values, found 2`}},
		{"negative dim", mutated(func(m *onnxpb.ModelProto) {
			m.Graph.Initializer[0].Dims = []int64{-1, 3}
		}), []string{`tensor "W": dimension 0 is negative (-1)`}},
		{"10^12 elements", mutated(func(m *onnxpb.ModelProto) {
			m.Graph.Initializer[0].Dims = []int64{1000000, 1000000}
		}), []string{`tensor "W": dims [1000000 1000000] hold more than`}},
		{"dims overflowing int64", mutated(func(m *onnxpb.ModelProto) {
			m.Graph.Initializer[0].Dims = []int64{1 << 40, 1 << 40, 1 << 40}
		}), []string{`tensor "W": dims`, "hold more than"}},
		{"data type not set", mutated(func(m *onnxpb.ModelProto) {
			m.Graph.Initializer[0].DataType = nil
		}), []string{`tensor "W": data type is not set`}},
		{"cycle", mutated(func(m *onnxpb.ModelProto) {
			m.Graph.Node[0].Input[0] = "y"
		}), []string{`cycle: node "add" (Add) -> node "relu" (Relu) -> node "add" (Add)`}},
		{"dangling input", mutated(func(m *onnxpb.ModelProto) {
			m.Graph.Node[1].Input[0] = "nope"
		}), []string{`node "relu" (Relu) reads tensor "nope", which no node, initializer or graph input defines`}},
		{"two producers", mutated(func(m *onnxpb.ModelProto) {
			m.Graph.Node[1].Output[0] = "h"
		}), []string{`node "add" (Add) and node "relu" (Relu) both produce tensor "h"`}},
		{"graph output not produced", mutated(func(m *onnxpb.ModelProto) {
			m.Graph.Output[0].Name = proto.String("z")
		}), []string{`graph output "z" is not produced by any node`}},
		{"IR version 99", mutated(func(m *onnxpb.ModelProto) {
			m.IrVersion = proto.Int64(99)
		}), []string{"IR version 99 is not supported"}},
		{"no graph", mutated(func(m *onnxpb.ModelProto) { m.Graph = nil }), []string{"the model has no graph"}},
		{"negative dim in input shape", mutated(func(m *onnxpb.ModelProto) {
			m.Graph.Input[0] = valueInfo("x", 1, -3)
		}), []string{`value "x": dimension 1 is negative (-3)`}},
		{"subgraph reading a dangling name", mutated(func(m *onnxpb.ModelProto) {
			body := &onnxpb.GraphProto{
				Name:   proto.String("then"),
				Node:   []*onnxpb.NodeProto{node("inner", "Identity", []string{"ghost"}, []string{"t"})},
				Output: []*onnxpb.ValueInfoProto{valueInfo("t", 1, 3)},
			}
			n := node("branch", "If", []string{"x"}, []string{"b"})
			n.Attribute = []*onnxpb.AttributeProto{{Name: proto.String("then_branch"), G: body}}
			m.Graph.Node = append(m.Graph.Node, n)
		}), []string{`node "branch" (If) attribute "then_branch": node "inner" (Identity) reads tensor "ghost"`}},
		{"external location ../../etc/passwd", mutated(func(m *onnxpb.ModelProto) {
			externalW(m, "location", "../../etc/passwd")
		}), []string{`tensor "W": external data location "../../etc/passwd" leaves the model's folder`}},
		{"external location /etc/passwd", mutated(func(m *onnxpb.ModelProto) {
			externalW(m, "location", "/etc/passwd")
		}), []string{`tensor "W": external data location "/etc/passwd" must be a relative path inside the model's folder`}},
		{"external symlink leaving the folder", func(t testing.TB, root string) []byte {
			writeFile(t, filepath.Join(root, "outside", "secret.bin"), make([]byte, 64))
			if err := os.MkdirAll(filepath.Join(root, "m"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("../outside/secret.bin", filepath.Join(root, "m", "weights.bin")); err != nil {
				t.Fatal(err)
			}
			return mutated(func(m *onnxpb.ModelProto) { externalW(m, "location", "weights.bin") })(t, root)
		}, []string{`tensor "W": external data location "weights.bin" resolves to`, "outside the model's folder"}},
		{"external offset beyond the end", withFiles(map[string]string{"weights.bin": "0123456789ab"}, func(m *onnxpb.ModelProto) {
			externalW(m, "location", "weights.bin", "offset", "8")
		}), []string{`tensor "W": external data [8, 20) lies beyond the end of weights.bin (12 bytes)`}},
		{"external offset and length beyond the end", withFiles(map[string]string{"weights.bin": "0123456789ab"}, func(m *onnxpb.ModelProto) {
			externalW(m, "location", "weights.bin", "offset", "100", "length", "12")
		}), []string{`tensor "W": external data [100, 112) lies beyond the end of weights.bin`}},
		{"external length disagreeing with dims", withFiles(map[string]string{"weights.bin": "0123456789abcdef"}, func(m *onnxpb.ModelProto) {
			externalW(m, "location", "weights.bin", "length", "16")
		}), []string{`tensor "W": external data length 16 disagrees with dims [1 3] (12 bytes)`}},
		{"external negative offset", withFiles(map[string]string{"weights.bin": "0123456789ab"}, func(m *onnxpb.ModelProto) {
			externalW(m, "location", "weights.bin", "offset", "-4")
		}), []string{`tensor "W": external data offset "-4" is not a non-negative integer`}},
		{"external file missing", mutated(func(m *onnxpb.ModelProto) {
			externalW(m, "location", "missing.bin")
		}), []string{`tensor "W"`, "missing.bin", "no such file or directory"}},
		{"external location is a folder", func(t testing.TB, root string) []byte {
			if err := os.MkdirAll(filepath.Join(root, "m", "weights"), 0o755); err != nil {
				t.Fatal(err)
			}
			return mutated(func(m *onnxpb.ModelProto) { externalW(m, "location", "weights") })(t, root)
		}, []string{`tensor "W": external data location "weights" is not a regular file`}},
		{"external location is a FIFO", func(t testing.TB, root string) []byte {
			if err := os.MkdirAll(filepath.Join(root, "m"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Mkfifo(filepath.Join(root, "m", "pipe"), 0o644); err != nil {
				t.Fatal(err)
			}
			return mutated(func(m *onnxpb.ModelProto) { externalW(m, "location", "pipe") })(t, root)
		}, []string{`tensor "W": external data location "pipe" is not a regular file`}},
		{"external data of 10^10 elements", withFiles(map[string]string{"weights.bin": "0123456789ab"}, func(m *onnxpb.ModelProto) {
			externalW(m, "location", "weights.bin")
			m.Graph.Initializer[0].Dims = []int64{100000, 100000}
		}), []string{`tensor "W": external data [0, 40000000000) lies beyond the end of weights.bin`}},
	}
}

// TestMalformedModels feeds Load malformed files: each must fail with an
// error naming the file and the problem (and the tensor or node concerned),
// and the pattern "load, then save on success" must write nothing.
func TestMalformedModels(t *testing.T) {
	cases := malformedCases()
	if len(cases) < 18 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			root := t.TempDir()
			data := c.model(t, root)
			path := filepath.Join(root, "m", "model.onnx")
			writeFile(t, path, data)
			before := listDir(t, filepath.Join(root, "m"))

			m, err := Load(path)
			wantError(t, err, append([]string{path + ": "}, c.want...)...)
			if m != nil {
				t.Fatal("Load returned a model along with its error")
			}
			// Parse refuses the same bytes (external tensors need a path).
			if _, err := Parse(data); err == nil {
				t.Fatal("Parse accepted the bytes")
			}

			outDir := filepath.Join(root, "out")
			if err := os.Mkdir(outDir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := loadThenSave(path, filepath.Join(outDir, "out.onnx")); err == nil {
				t.Fatal("load-then-save succeeded")
			}
			if got := listDir(t, outDir); len(got) != 0 {
				t.Fatalf("a failed load left files in the output folder: %v", got)
			}
			if got := listDir(t, filepath.Join(root, "m")); strings.Join(got, ",") != strings.Join(before, ",") {
				t.Fatalf("Load changed the model folder: %v -> %v", before, got)
			}
		})
	}
}

// loadThenSave is what a command that converts a model does.
func loadThenSave(in, out string) error {
	m, err := Load(in)
	if err != nil {
		return err
	}
	return Save(m, out, SaveOptions{ExternalDataThreshold: 1024})
}

// TestHugeTensorClaimDoesNotAllocate checks that dims claiming 10^12
// elements (or 10^10 elements of external data) are refused before any
// buffer of that size is allocated.
func TestHugeTensorClaimDoesNotAllocate(t *testing.T) {
	for _, c := range malformedCases() {
		if c.name != "10^12 elements" && c.name != "external data of 10^10 elements" {
			continue
		}
		root := t.TempDir()
		path := filepath.Join(root, "m", "model.onnx")
		writeFile(t, path, c.model(t, root))
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := Load(path)
		runtime.ReadMemStats(&after)
		wantError(t, err, c.want...)
		if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
			t.Fatalf("%s: Load allocated %d bytes before refusing the model", c.name, d)
		}
		allocs := testing.AllocsPerRun(5, func() { _, _ = Load(path) })
		if allocs > 2000 {
			t.Fatalf("%s: %v allocations per Load", c.name, allocs)
		}
	}
}
