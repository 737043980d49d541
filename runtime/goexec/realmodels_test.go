package goexec

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/graph"
	"github.com/wtonnx/wtonnx/opset"
	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/testmodels"
)

// TestRegistryComplete keeps the two halves of every operator's registry
// entry together: each schema of package opset has a kernel here and each
// kernel a schema.
func TestRegistryComplete(t *testing.T) {
	schemas := map[opset.Key]bool{}
	for _, s := range opset.All() {
		schemas[s.Key] = true
		if _, ok := kernels[s.Key]; !ok {
			t.Errorf("operator %s has a schema but no Go kernel", s.Key)
		}
		if s.Infer == nil {
			t.Errorf("operator %s has no shape rule", s.Key)
		}
		if s.Since < 1 || s.Until < s.Since || (s.Domain == "" && s.Until > opset.MaxVersion) {
			t.Errorf("operator %s has the version range %s", s.Key, s.Versions())
		}
	}
	for k := range kernels {
		if !schemas[k] {
			t.Errorf("kernel %s has no schema in package opset", k)
		}
	}
	if len(Operators()) != len(kernels) {
		t.Errorf("Operators lists %d operators, there are %d kernels", len(Operators()), len(kernels))
	}
}

// relErr is max|got-want| / max|want| over one output.
func relErr(t *testing.T, got, want *tensor.Tensor) float64 {
	t.Helper()
	if !tensor.SameShape(got.Shape, want.Shape) {
		t.Fatalf("output shape %v, want %v", got.Shape, want.Shape)
	}
	g, w := got.Float64s(), want.Float64s()
	d := 0.0
	for i := range g {
		if e := math.Abs(g[i] - w[i]); e > d || math.IsNaN(e) {
			d = e
		}
	}
	return d / want.MaxAbs()
}

// TestZooNetworks runs the ONNX model-zoo networks of shared/onnx-zoo-light
// (opset 9, IR 3: LRN, Dropout with its mask, MaxPool with ceil_mode,
// Concat of many branches, Softmax) and requires the expected output within
// 1e-3 of max|y|.
func TestZooNetworks(t *testing.T) {
	root := filepath.Join(sharedDir, "onnx-zoo-light")
	models, err := filepath.Glob(filepath.Join(root, "*.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if len(models) < 3 {
		t.Fatalf("want the three zoo networks under %s, found %d", root, len(models))
	}
	for _, path := range models {
		base := strings.TrimSuffix(path, ".onnx")
		if raceDetector && !strings.Contains(base, "squeezenet") {
			continue
		}
		t.Run(filepath.Base(base), func(t *testing.T) {
			e, err := Open(loadModel(t, path), Options{})
			if err != nil {
				t.Fatal(err)
			}
			name, err := os.ReadFile(base + "_input.name")
			if err != nil {
				t.Fatal(err)
			}
			x, err := tensor.ReadNPY(base + "_input.npy")
			if err != nil {
				t.Fatal(err)
			}
			want := loadTensorPB(t, base+"_output_0.pb")
			got := run1(t, e, map[string]*tensor.Tensor{strings.TrimSpace(string(name)): x})[e.Outputs()[0].Name]
			r := relErr(t, got, want)
			t.Logf("max|diff| / max|y| = %.3g (max|y| %.3g)", r, want.MaxAbs())
			if !(r <= 1e-3) {
				t.Errorf("max|diff| is %.3g of max|y|, want <= 1e-3", r)
			}
		})
	}
}

// TestPyTorchExports runs every export of the authors' WTConv module in
// shared/reference/exported as exported (Mod, Pad with amounts from shape
// arithmetic, AveragePool as the stride, db2 filters) on x.npy and requires
// y.npy within 1e-5 of max|y|.
func TestPyTorchExports(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(sharedDir, "reference", "exported", "*"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, "model.onnx")); err != nil {
			continue
		}
		n++
		t.Run(filepath.Base(dir), func(t *testing.T) {
			e, err := Open(loadModel(t, filepath.Join(dir, "model.onnx")), Options{})
			if err != nil {
				t.Fatal(err)
			}
			x, err := tensor.ReadNPY(filepath.Join(dir, "x.npy"))
			if err != nil {
				t.Fatal(err)
			}
			want, err := tensor.ReadNPY(filepath.Join(dir, "y.npy"))
			if err != nil {
				t.Fatal(err)
			}
			if len(e.Inputs()) != 1 || len(e.Outputs()) != 1 {
				t.Fatalf("want one input and one output, the model has %d and %d", len(e.Inputs()), len(e.Outputs()))
			}
			got := run1(t, e, map[string]*tensor.Tensor{e.Inputs()[0].Name: x})[e.Outputs()[0].Name]
			r := relErr(t, got, want)
			t.Logf("max|diff| / max|y| = %.3g", r)
			if !(r <= 1e-5) {
				t.Errorf("max|diff| is %.3g of max|y|, want <= 1e-5", r)
			}
		})
	}
	if n < 7 {
		t.Fatalf("found %d exports, want the seven shared cases", n)
	}
}

// Integer shape arithmetic is exact, also beyond float32's and float64's
// integer range.
func TestInt64ArithmeticIsExact(t *testing.T) {
	big := int64(1)<<53 + 1
	a := i64([]int{4}, big, -7, 7, 3)
	b := i64([]int{4}, 3, 2, -2, 39)
	expectI64(t, runOp(t, 13, "Add", []*tensor.Tensor{a, i64([]int{1}, 2)}), []int{4}, big+2, -5, 9, 5)
	expectI64(t, runOp(t, 13, "Mul", []*tensor.Tensor{a, i64([]int{1}, 3)}), []int{4}, 3*big, -21, 21, 9)
	expectI64(t, runOp(t, 13, "Div", []*tensor.Tensor{a, b}), []int{4}, big/3, -3, -3, 0)
	expectI64(t, runOp(t, 13, "Mod", []*tensor.Tensor{a, b}), []int{4}, big%3, 1, -1, 3)
	expectI64(t, runOp(t, 13, "Pow", []*tensor.Tensor{i64([]int{2}, 3, -3), i64([]int{2}, 39, 3)}), []int{2}, 4052555153018976267, -27)
}

// TestShapeRulesAgreeWithKernels holds the two halves of the registry to
// each other: on every real model (zoo networks, PyTorch's WTConv exports,
// the torchvision fixtures), each tensor's static shape from
// graph's shape inference (the schemas' rules) equals the shape the
// kernels compute.
func TestShapeRulesAgreeWithKernels(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(sharedDir, "onnx-zoo-light", "*.onnx"))
	exports, _ := filepath.Glob(filepath.Join(sharedDir, "reference", "exported", "*", "model.onnx"))
	paths = append(paths, exports...)
	inputs := map[string]string{}
	for _, p := range paths {
		if strings.Contains(p, "exported") {
			inputs[p] = filepath.Join(filepath.Dir(p), "x.npy")
		} else {
			inputs[p] = strings.TrimSuffix(p, ".onnx") + "_input.npy"
		}
	}
	fixtures, err := testmodels.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fixtures {
		paths = append(paths, f.ModelPath())
		inputs[f.ModelPath()] = f.InputPath()
	}
	if len(paths) < 15 {
		t.Fatalf("found %d models", len(paths))
	}
	for _, path := range paths {
		if raceDetector && !strings.Contains(path, "exported") {
			continue
		}
		m := loadModel(t, path)
		e, err := Open(m, Options{})
		if err != nil {
			t.Fatal(err)
		}
		x, err := tensor.ReadNPY(inputs[path])
		if err != nil {
			t.Fatal(err)
		}
		in := e.Inputs()[0].Name
		dims := make([]int64, len(x.Shape))
		for i, d := range x.Shape {
			dims[i] = int64(d)
		}
		static, err := graph.InferShapes(m, map[string][]int64{in: dims})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, n := range m.GetGraph().GetNode() {
			for _, o := range n.GetOutput() {
				if o != "" {
					names = append(names, o)
				}
			}
		}
		got := run1(t, e, map[string]*tensor.Tensor{in: x}, names...)
		checked := 0
		for _, name := range names {
			want := static.Of(name)
			if !want.Known() {
				continue
			}
			checked++
			if len(want) != len(got[name].Shape) {
				t.Errorf("%s: %q: shape rule says %v, the kernel gives %v", path, name, want, got[name].Shape)
				continue
			}
			for i := range want {
				if want[i] != int64(got[name].Shape[i]) {
					t.Errorf("%s: %q: shape rule says %v, the kernel gives %v", path, name, want, got[name].Shape)
					break
				}
			}
		}
		if checked != len(names) {
			t.Errorf("%s: static shapes of %d of %d tensors known", path, checked, len(names))
		}
	}
}
