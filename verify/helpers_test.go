package verify_test

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/wtonnx/wtonnx/convert"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/runtime/ort"
	"github.com/wtonnx/wtonnx/testmodels"
)

// ortLib returns the ONNX Runtime library or fails the test with
// FindLibrary's message.
func ortLib(t testing.TB) string {
	t.Helper()
	lib, err := ort.FindLibrary("")
	if err != nil {
		t.Fatalf("ONNX Runtime is needed: %v", err)
	}
	return lib
}

// gpuProvidersInstalled reports whether ONNX Runtime's CUDA provider
// library sits beside the core library, where the missing-provider cases do
// not apply.
func gpuProvidersInstalled(t testing.TB) bool {
	_, err := os.Stat(filepath.Join(filepath.Dir(ortLib(t)), "libonnxruntime_providers_cuda.so"))
	return err == nil
}

func fixture(t testing.TB, name string) testmodels.Fixture {
	t.Helper()
	f, err := testmodels.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// convertFixture converts a fixture's model and saves it in a temporary
// folder, returning the model and its path.
func convertFixture(t testing.TB, name string, opts convert.Options) (*onnxpb.ModelProto, string) {
	t.Helper()
	m, err := onnxmodel.Load(fixture(t, name).ModelPath())
	if err != nil {
		t.Fatal(err)
	}
	if opts.Levels == 0 {
		opts.Levels = convert.AutoLevels
	}
	c, _, err := convert.Convert(m, opts)
	if err != nil {
		t.Fatalf("converting %s: %v", name, err)
	}
	return c, save(t, c, name+"-converted.onnx")
}

func save(t testing.TB, m *onnxpb.ModelProto, file string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), file)
	if err := onnxmodel.Save(m, path, onnxmodel.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	return path
}

// vi declares a tensor value; a negative dim is dynamic, named by param.
func vi(name string, et onnxpb.TensorProto_DataType, dims []int64, params ...string) *onnxpb.ValueInfoProto {
	sh := &onnxpb.TensorShapeProto{}
	for i, d := range dims {
		dim := &onnxpb.TensorShapeProto_Dimension{}
		if d >= 0 {
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}
		} else {
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: params[i]}
		}
		sh.Dim = append(sh.Dim, dim)
	}
	e := int32(et)
	return &onnxpb.ValueInfoProto{
		Name: &name,
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: &e, Shape: sh}}},
	}
}

func node(op, name string, in, out []string) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{OpType: &op, Name: &name, Input: in, Output: out}
}

// twoInputModel: x float [batch, 3] and ids int64 [2]; y = Relu(x),
// z = Identity(ids).
func twoInputModel() *onnxpb.ModelProto {
	ir := int64(8)
	ver := int64(13)
	return &onnxpb.ModelProto{
		IrVersion:   &ir,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Version: &ver}},
		Graph: &onnxpb.GraphProto{
			Name: ptr("g"),
			Node: []*onnxpb.NodeProto{
				node("Relu", "relu", []string{"x"}, []string{"y"}),
				node("Identity", "id", []string{"ids"}, []string{"z"}),
			},
			Input: []*onnxpb.ValueInfoProto{
				vi("x", onnxpb.TensorProto_FLOAT, []int64{-1, 3}, "batch", ""),
				vi("ids", onnxpb.TensorProto_INT64, []int64{2}),
			},
			Output: []*onnxpb.ValueInfoProto{
				vi("y", onnxpb.TensorProto_FLOAT, []int64{-1, 3}, "batch", ""),
				vi("z", onnxpb.TensorProto_INT64, []int64{2}),
			},
		},
	}
}

func ptr[T any](v T) *T { return &v }

func close(a, b, tol float64) bool { return math.Abs(a-b) <= tol }
