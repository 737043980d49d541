package verify

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/runtime"
	"github.com/wtonnx/wtonnx/tensor"
)

// Distributions of generated float inputs.
const (
	DistUniform = "uniform" // uniform in [-1, 1) (the default)
	DistNormal  = "normal"  // standard normal
)

// DefaultSeed is the seed of random inputs (and of convert --init random)
// unless one is given: the same in every command.
const DefaultSeed = 0

// InputSpec says where a model's inputs come from. Inputs named in Files are
// read from .npy files; every other input is generated: float inputs with a
// seeded generator (the same Seed always gives the same values for the same
// input name and shape), integer inputs as zeros.
type InputSpec struct {
	// Files maps input names to .npy files. The key "" stands for the
	// model's only input.
	Files map[string]string `json:"files,omitempty"`
	// Seed seeds the generator of float inputs.
	Seed uint64 `json:"seed"`
	// Dist is DistUniform ("" too) or DistNormal.
	Dist string `json:"dist,omitempty"`
	// Shapes gives the full shape of inputs whose declared shape has
	// dynamic dimensions. Fixed dimensions must agree with the model.
	Shapes map[string][]int64 `json:"shapes,omitempty"`
}

// InputInfo describes one input fed to the models.
type InputInfo struct {
	Name  string `json:"name"`
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
	// Source is "file:PATH", "random:uniform:seed=N",
	// "random:normal:seed=N" or "zeros".
	Source string `json:"source"`
}

// ModelInputs lists the inputs a run of m must feed: the graph inputs that
// no initializer provides, in graph order.
func ModelInputs(m *onnxpb.ModelProto) []runtime.TensorInfo {
	g := m.GetGraph()
	inits := make(map[string]bool, len(g.GetInitializer()))
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = true
	}
	var out []runtime.TensorInfo
	for _, vi := range g.GetInput() {
		if inits[vi.GetName()] {
			continue
		}
		out = append(out, runtime.InfoFromValueInfo(vi))
	}
	return out
}

// Inputs builds the input tensors of model m as spec says.
func Inputs(m *onnxpb.ModelProto, spec InputSpec) (map[string]*tensor.Tensor, error) {
	ts, _, err := makeInputs(m, spec)
	return ts, err
}

// InputsWithInfo is Inputs that also describes each input, in graph order.
func InputsWithInfo(m *onnxpb.ModelProto, spec InputSpec) (map[string]*tensor.Tensor, []InputInfo, error) {
	return makeInputs(m, spec)
}

// feedKind is the tensor type an ONNX element type is fed as.
func feedKind(dt tensor.DType) (tensor.DType, bool) {
	switch onnxpb.TensorProto_DataType(dt) {
	case onnxpb.TensorProto_FLOAT, onnxpb.TensorProto_DOUBLE:
		return tensor.Float32, true
	case onnxpb.TensorProto_INT64, onnxpb.TensorProto_INT32:
		return tensor.Int64, true
	}
	return 0, false
}

// typeName spells an element type as every command does (float32, int64).
func typeName(dt tensor.DType) string { return onnxmodel.DTypeName(int32(dt)) }

func makeInputs(m *onnxpb.ModelProto, spec InputSpec) (map[string]*tensor.Tensor, []InputInfo, error) {
	if m.GetGraph() == nil {
		return nil, nil, fmt.Errorf("model has no graph")
	}
	decl := ModelInputs(m)
	byName := make(map[string]runtime.TensorInfo, len(decl))
	names := make([]string, len(decl))
	for i, d := range decl {
		byName[d.Name] = d
		names[i] = d.Name
	}
	known := func() string {
		if len(names) == 0 {
			return "the model has no inputs"
		}
		return "inputs: " + strings.Join(names, ", ")
	}

	dist := spec.Dist
	switch dist {
	case "":
		dist = DistUniform
	case DistUniform, DistNormal:
	default:
		return nil, nil, fmt.Errorf("unknown input distribution %q (want %s or %s)", spec.Dist, DistUniform, DistNormal)
	}

	files := make(map[string]string, len(spec.Files))
	for name, path := range spec.Files {
		if name == "" {
			if len(decl) != 1 {
				return nil, nil, fmt.Errorf("input file %s has no input name and the model has %d inputs (%s); write NAME=FILE", path, len(decl), known())
			}
			name = decl[0].Name
		}
		if _, ok := byName[name]; !ok {
			return nil, nil, fmt.Errorf("input file %s is given for %q, which is not an input of the model (%s)", path, name, known())
		}
		if prev, dup := files[name]; dup {
			return nil, nil, fmt.Errorf("input %q is given twice (%s and %s)", name, prev, path)
		}
		files[name] = path
	}
	shapeNames := make([]string, 0, len(spec.Shapes))
	for name := range spec.Shapes {
		shapeNames = append(shapeNames, name)
	}
	sort.Strings(shapeNames)
	for _, name := range shapeNames {
		if _, ok := byName[name]; !ok {
			return nil, nil, fmt.Errorf("input shape is given for %q, which is not an input of the model (%s)", name, known())
		}
		for i, d := range spec.Shapes[name] {
			if d < 0 {
				return nil, nil, fmt.Errorf("input %q: shape dimension %d is %d, which is negative", name, i, d)
			}
		}
	}

	out := make(map[string]*tensor.Tensor, len(decl))
	infos := make([]InputInfo, 0, len(decl))
	for _, d := range decl {
		kind, ok := feedKind(d.DType)
		if !ok {
			return nil, nil, fmt.Errorf("input %q has element type %s; wtonnx feeds only float32, float64, int64 and int32 inputs", d.Name, typeName(d.DType))
		}
		want, hasShape := spec.Shapes[d.Name]
		if hasShape {
			if err := checkShapeAgainst(d, want); err != nil {
				return nil, nil, err
			}
		}
		if path, ok := files[d.Name]; ok {
			t, err := tensor.ReadNPY(path)
			if err != nil {
				return nil, nil, fmt.Errorf("input %q: reading %s: %w", d.Name, path, err)
			}
			if t.DType != kind {
				return nil, nil, fmt.Errorf("input %q: %s holds %s values but the model takes %s", d.Name, path, t.DType, typeName(d.DType))
			}
			shape := make([]int64, len(t.Shape))
			for i, v := range t.Shape {
				shape[i] = int64(v)
			}
			if err := checkShapeAgainst(d, shape); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", path, err)
			}
			if hasShape && !slices.Equal(shape, want) {
				return nil, nil, fmt.Errorf("input %q: %s has shape %s but the given input shape is %s", d.Name, path, fmtDims(shape), fmtDims(want))
			}
			out[d.Name] = t
			infos = append(infos, InputInfo{Name: d.Name, DType: t.DType.String(), Shape: append([]int(nil), t.Shape...), Source: "file:" + path})
			continue
		}
		shape, err := resolveShape(d, want, hasShape)
		if err != nil {
			return nil, nil, err
		}
		n := tensor.NumElements(shape)
		if n < 0 || n > 1<<31 {
			return nil, nil, fmt.Errorf("input %q: shape %v is too large to generate", d.Name, shape)
		}
		var t *tensor.Tensor
		var source string
		if kind == tensor.Int64 {
			t = tensor.NewInt64(shape, nil)
			source = "zeros"
		} else {
			t = tensor.NewFloat32(shape, nil)
			fill(t.F32, spec.Seed, d.Name, dist)
			source = fmt.Sprintf("random:%s:seed=%d", dist, spec.Seed)
		}
		out[d.Name] = t
		infos = append(infos, InputInfo{Name: d.Name, DType: t.DType.String(), Shape: shape, Source: source})
	}
	return out, infos, nil
}

// fill writes deterministic random values: the stream depends on the seed and
// the input's name only.
func fill(dst []float32, seed uint64, name, dist string) {
	h := fnv.New64a()
	h.Write([]byte(name))
	r := rand.New(rand.NewPCG(seed, h.Sum64()))
	if dist == DistNormal {
		for i := range dst {
			dst[i] = float32(r.NormFloat64())
		}
		return
	}
	for i := range dst {
		dst[i] = 2*r.Float32() - 1
	}
}

// checkShapeAgainst checks a full shape against the declared one.
func checkShapeAgainst(d runtime.TensorInfo, shape []int64) error {
	if d.Dims == nil {
		return nil
	}
	if len(shape) != len(d.Dims) {
		return fmt.Errorf("input %q: shape %s has %d dimensions but the model declares %d (%s)", d.Name, fmtDims(shape), len(shape), len(d.Dims), declString(d))
	}
	for i, v := range d.Dims {
		if v >= 0 && shape[i] != v {
			return fmt.Errorf("input %q: dimension %d is %d but the model fixes it at %d (%s)", d.Name, i, shape[i], v, declString(d))
		}
	}
	return nil
}

func resolveShape(d runtime.TensorInfo, given []int64, hasShape bool) ([]int, error) {
	if hasShape {
		out := make([]int, len(given))
		for i, v := range given {
			out[i] = int(v)
		}
		return out, nil
	}
	if d.Dims == nil {
		return nil, fmt.Errorf("input %q: the model does not declare its shape; give one (--input-shape %s=DxDx...)", d.Name, d.Name)
	}
	out := make([]int, len(d.Dims))
	for i, v := range d.Dims {
		if v < 0 {
			dim := fmt.Sprintf("dimension %d", i)
			if i < len(d.DimNames) && d.DimNames[i] != "" {
				dim += fmt.Sprintf(" (%q)", d.DimNames[i])
			}
			return nil, fmt.Errorf("input %q: %s is dynamic (%s); give the full shape (e.g. --input-shape %s=%s) or an input file", d.Name, dim, declString(d), d.Name, exampleShape(d))
		}
		out[i] = int(v)
	}
	return out, nil
}

// exampleShape is the declared shape with every dynamic dimension set to 1
// (a batch of one), as a --input-shape value: 1x3x224x224. The user still
// has to put in the real spatial sizes where those are dynamic too.
func exampleShape(d runtime.TensorInfo) string {
	parts := make([]string, len(d.Dims))
	for i, v := range d.Dims {
		parts[i] = "1"
		if v >= 0 {
			parts[i] = fmt.Sprint(v)
		}
	}
	return strings.Join(parts, "x")
}

func declString(d runtime.TensorInfo) string {
	parts := make([]string, len(d.Dims))
	for i, v := range d.Dims {
		switch {
		case v >= 0:
			parts[i] = fmt.Sprint(v)
		case i < len(d.DimNames) && d.DimNames[i] != "":
			parts[i] = d.DimNames[i]
		default:
			parts[i] = "?"
		}
	}
	return "declared " + strings.Join(parts, "x")
}

func fmtDims(s []int64) string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, "x")
}
