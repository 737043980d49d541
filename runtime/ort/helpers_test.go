package ort

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
)

// Shared test data lives beside the repository.
const (
	conformanceDir = "../../../shared/onnx-conformance"
	referenceDir   = "../../../shared/reference/wtconv-official"
)

// testLibrary returns the ONNX Runtime library, failing the test with
// FindLibrary's instructions when it is missing.
func testLibrary(t testing.TB) string {
	t.Helper()
	lib, err := FindLibrary("")
	if err != nil {
		t.Fatal(err)
	}
	return lib
}

func openFile(t testing.TB, path string, opts Options) *Engine {
	t.Helper()
	if opts.LibraryPath == "" {
		opts.LibraryPath = testLibrary(t)
	}
	e, err := OpenFile(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	return e
}

func openBytes(t testing.TB, data []byte, opts Options) *Engine {
	t.Helper()
	if opts.LibraryPath == "" {
		opts.LibraryPath = testLibrary(t)
	}
	e, err := Open(data, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// conformanceCases lists the case folders under conformanceDir.
func conformanceCases(t testing.TB) []string {
	t.Helper()
	entries, err := os.ReadDir(conformanceDir)
	if err != nil {
		t.Fatalf("conformance cases: %v", err)
	}
	var cases []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), "test_") {
			cases = append(cases, e.Name())
		}
	}
	if len(cases) == 0 {
		t.Fatalf("no cases in %s", conformanceDir)
	}
	return cases
}

// readPB decodes a serialized TensorProto file.
func readPB(t testing.TB, path string) (string, *tensor.Tensor) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tp onnxpb.TensorProto
	if err := proto.Unmarshal(data, &tp); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	x, err := onnxmodel.ToTensor(&tp)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return tp.GetName(), x
}

// pbFiles returns test_data_set_0/<prefix>_N.pb in N order.
func pbFiles(t testing.TB, dir, prefix string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "test_data_set_0", prefix+"_*.pb"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(files, func(i, j int) bool {
		var a, b int
		fmt.Sscanf(filepath.Base(files[i]), prefix+"_%d.pb", &a)
		fmt.Sscanf(filepath.Base(files[j]), prefix+"_%d.pb", &b)
		return a < b
	})
	return files
}

// closeTo compares two tensors element-wise within atol + rtol*|want|.
func closeTo(got, want *tensor.Tensor, rtol, atol float64) error {
	if got == nil {
		return fmt.Errorf("missing tensor")
	}
	if got.DType != want.DType {
		return fmt.Errorf("dtype %v, want %v", got.DType, want.DType)
	}
	if !tensor.SameShape(got.Shape, want.Shape) {
		return fmt.Errorf("shape %v, want %v", got.Shape, want.Shape)
	}
	if err := got.Validate(); err != nil {
		return err
	}
	g, w := got.Float64s(), want.Float64s()
	bad, worst, worstAt := 0, 0.0, -1
	for i := range w {
		d := math.Abs(g[i] - w[i])
		if math.IsNaN(g[i]) != math.IsNaN(w[i]) || d > atol+rtol*math.Abs(w[i]) {
			bad++
			if worstAt < 0 || d > worst || math.IsNaN(d) {
				worst, worstAt = d, i
			}
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d elements differ; worst at %d: got %g, want %g", bad, len(w), worstAt, g[worstAt], w[worstAt])
	}
	return nil
}

func randomFloat32(r *rand.Rand, shape ...int) *tensor.Tensor {
	x := tensor.NewFloat32(shape, nil)
	for i := range x.F32 {
		x.F32[i] = float32(r.NormFloat64())
	}
	return x
}

// depthwiseConv is a direct reference of ONNX Conv with group == C and one
// output channel per group, dilations 1.
func depthwiseConv(x *tensor.Tensor, w, b []float32, k, pad, stride [2]int) *tensor.Tensor {
	n, c, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	oh := (h+pad[0]*2-k[0])/stride[0] + 1
	ow := (wd+pad[1]*2-k[1])/stride[1] + 1
	y := tensor.NewFloat32([]int{n, c, oh, ow}, nil)
	for in := 0; in < n; in++ {
		for ch := 0; ch < c; ch++ {
			src := x.F32[(in*c+ch)*h*wd:]
			ker := w[ch*k[0]*k[1]:]
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					var s float64
					if b != nil {
						s = float64(b[ch])
					}
					for ky := 0; ky < k[0]; ky++ {
						iy := oy*stride[0] - pad[0] + ky
						if iy < 0 || iy >= h {
							continue
						}
						for kx := 0; kx < k[1]; kx++ {
							ix := ox*stride[1] - pad[1] + kx
							if ix < 0 || ix >= wd {
								continue
							}
							s += float64(src[iy*wd+ix]) * float64(ker[ky*k[1]+kx])
						}
					}
					y.F32[((in*c+ch)*oh+oy)*ow+ox] = float32(s)
				}
			}
		}
	}
	return y
}

// depthwiseModel is a one-Conv depthwise model with its parameters.
type depthwiseModel struct {
	model       *onnxpb.ModelProto
	w, b        []float32
	k, pad, str [2]int
}

// loadDepthwise reads a reference source.onnx: a single depthwise Conv.
func loadDepthwise(t testing.TB, path string) depthwiseModel {
	t.Helper()
	m, err := onnxmodel.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	g := m.GetGraph()
	if len(g.GetNode()) != 1 || g.GetNode()[0].GetOpType() != "Conv" {
		t.Fatalf("%s: want a single Conv node", path)
	}
	node := g.GetNode()[0]
	d := depthwiseModel{model: m, str: [2]int{1, 1}}
	for _, a := range node.GetAttribute() {
		ints := a.GetInts()
		switch a.GetName() {
		case "kernel_shape":
			d.k = [2]int{int(ints[0]), int(ints[1])}
		case "pads":
			if ints[0] != ints[2] || ints[1] != ints[3] {
				t.Fatalf("%s: asymmetric pads %v", path, ints)
			}
			d.pad = [2]int{int(ints[0]), int(ints[1])}
		case "strides":
			d.str = [2]int{int(ints[0]), int(ints[1])}
		case "dilations":
			for _, v := range ints {
				if v != 1 {
					t.Fatalf("%s: dilations %v", path, ints)
				}
			}
		}
	}
	inits := map[string]*onnxpb.TensorProto{}
	for _, init := range g.GetInitializer() {
		inits[init.GetName()] = init
	}
	if d.w, err = onnxmodel.Float32s(inits[node.GetInput()[1]]); err != nil {
		t.Fatal(err)
	}
	if len(node.GetInput()) > 2 {
		if d.b, err = onnxmodel.Float32s(inits[node.GetInput()[2]]); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// Helpers that build small models directly.

func dim(v any) *onnxpb.TensorShapeProto_Dimension {
	switch v := v.(type) {
	case int:
		return &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(v)}}
	case string:
		return &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: v}}
	}
	panic(fmt.Sprintf("dim %T", v))
}

func valueInfo(name string, elem onnxpb.TensorProto_DataType, dims ...any) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		shape.Dim = append(shape.Dim, dim(d))
	}
	return &onnxpb.ValueInfoProto{
		Name: proto.String(name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(elem)), Shape: shape,
		}}},
	}
}

func node(op string, inputs, outputs []string) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{OpType: proto.String(op), Input: inputs, Output: outputs}
}

func model(t testing.TB, g *onnxpb.GraphProto) []byte {
	t.Helper()
	m := &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph:       g,
	}
	if g.Name == nil {
		g.Name = proto.String("test")
	}
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// upgradeToOpset7 rewrites an opset-6 model of the conformance set to opset
// 7, which ONNX Runtime 1.30 still implements (its kernels for older
// versions of Add, Gemm, AveragePool, BatchNormalization, PRelu and Pow are
// gone). Opset 7 replaced the legacy `broadcast`/`axis` attributes with
// NumPy broadcasting and dropped BatchNormalization's `is_test`; the rewrite
// refuses a legacy broadcast that NumPy would align differently. Whether it
// is right is checked by the recorded outputs.
func upgradeToOpset7(m *onnxpb.ModelProto) error {
	for _, op := range m.GetOpsetImport() {
		if op.GetDomain() == "" || op.GetDomain() == "ai.onnx" {
			if op.GetVersion() >= 7 {
				return fmt.Errorf("already opset %d", op.GetVersion())
			}
			op.Version = proto.Int64(7)
		}
	}
	g := m.GetGraph()
	rank := map[string]int{}
	for _, vi := range g.GetInput() {
		rank[vi.GetName()] = len(vi.GetType().GetTensorType().GetShape().GetDim())
	}
	for _, t := range g.GetInitializer() {
		rank[t.GetName()] = len(t.GetDims())
	}
	inits := map[string]*onnxpb.TensorProto{}
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = t
	}
	for _, n := range g.GetNode() {
		// Opset 6 PRelu applied a 1-D slope per channel; opset 7 broadcasts
		// it NumPy-style, so the slope becomes [C, 1, ..., 1].
		if n.GetOpType() == "PRelu" {
			slope := inits[n.GetInput()[1]]
			if r := rank[n.GetInput()[0]]; slope != nil && len(slope.GetDims()) == 1 && slope.GetDims()[0] > 1 && r > 2 {
				for i := 0; i < r-2; i++ {
					slope.Dims = append(slope.Dims, 1)
				}
				for _, vi := range g.GetInput() { // IR 3 lists it as an input too
					if vi.GetName() == slope.GetName() {
						sh := vi.GetType().GetTensorType().GetShape()
						for i := 0; i < r-2; i++ {
							sh.Dim = append(sh.Dim, &onnxpb.TensorShapeProto_Dimension{
								Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 1}})
						}
					}
				}
			}
		}
		var keep []*onnxpb.AttributeProto
		for _, a := range n.GetAttribute() {
			switch {
			case a.GetName() == "broadcast":
			case a.GetName() == "axis" && (n.GetOpType() == "Add" || n.GetOpType() == "Gemm"):
				ra, okA := rank[n.GetInput()[0]]
				rb, okB := rank[n.GetInput()[1]]
				if !okA || !okB || int(a.GetI()) != ra-rb {
					return fmt.Errorf("node %s: legacy broadcast axis %d is not NumPy's trailing alignment", n.GetOpType(), a.GetI())
				}
			case a.GetName() == "is_test" && n.GetOpType() == "BatchNormalization":
			default:
				keep = append(keep, a)
			}
		}
		n.Attribute = keep
	}
	return nil
}
