package testmodels

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
)

// The fixtures the README promises; a missing or extra folder fails.
var wantFixtures = []string{
	"constweights", "convnext", "efficientnet_b0", "light", "mobilenet_v2", "mobilenet_v2_dynamic",
	"mobilenet_v3_small", "regnet", "shufflenet_v2",
}

func TestAllFixtures(t *testing.T) {
	fs, err := All()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range fs {
		names = append(names, f.Name)
	}
	if !reflect.DeepEqual(names, wantFixtures) {
		t.Fatalf("fixtures %v, want %v", names, wantFixtures)
	}
	for _, f := range fs {
		t.Run(f.Name, func(t *testing.T) {
			if !filepath.IsAbs(f.Dir) {
				t.Errorf("Dir %q is not absolute", f.Dir)
			}
			if err := f.Verify(); err != nil {
				t.Error(err)
			}
			checkNPY(t, f.InputPath(), f.Meta.InputShape)
			checkNPY(t, f.OutputPath(), f.Meta.OutputShape)
			checkGraph(t, f)
		})
	}
}

func checkNPY(t *testing.T, path string, want []int) {
	t.Helper()
	x, err := tensor.ReadNPY(path)
	if err != nil {
		t.Fatal(err)
	}
	if x.DType != tensor.Float32 || !slices.Equal(x.Shape, want) {
		t.Errorf("%s: %v %v, meta says float32 %v", path, x.DType, x.Shape, want)
	}
	var sq float64
	for _, v := range x.F32 {
		sq += float64(v) * float64(v)
	}
	if sq == 0 {
		t.Errorf("%s is all zeros", path)
	}
}

// checkGraph recomputes the meta's conv classification from model.onnx,
// independently of the Python generator.
func checkGraph(t *testing.T, f Fixture) {
	t.Helper()
	m, err := onnxmodel.Load(f.ModelPath())
	if err != nil {
		t.Fatal(err)
	}
	var opset int64
	for _, op := range m.GetOpsetImport() {
		if op.GetDomain() == "" || op.GetDomain() == "ai.onnx" {
			opset = op.GetVersion()
		}
	}
	if opset != f.Meta.Opset {
		t.Errorf("model opset %d, meta %d", opset, f.Meta.Opset)
	}
	g := m.GetGraph()
	// The model's inputs, less initializers (an IR 3 model lists every
	// initializer as an input too).
	inits := map[string]bool{}
	for _, init := range g.GetInitializer() {
		inits[init.GetName()] = true
	}
	var inputs []*onnxpb.ValueInfoProto
	for _, in := range g.GetInput() {
		if !inits[in.GetName()] {
			inputs = append(inputs, in)
		}
	}
	if len(inputs) != 1 || inputs[0].GetName() != f.Meta.InputName {
		t.Errorf("graph inputs %v, meta input %q", valueNames(inputs), f.Meta.InputName)
	} else {
		checkDims(t, "input", inputs[0], f.Meta.ModelInputDims)
	}
	if len(g.GetOutput()) != 1 || g.GetOutput()[0].GetName() != f.Meta.OutputName {
		t.Errorf("graph outputs %v, meta output %q", valueNames(g.GetOutput()), f.Meta.OutputName)
	} else {
		checkDims(t, "output", g.GetOutput()[0], f.Meta.ModelOutputDims)
	}

	names := map[string]bool{}
	for i, n := range g.GetNode() {
		if n.GetName() == "" || names[n.GetName()] {
			t.Errorf("node %d (%s): name %q empty or repeated", i, n.GetOpType(), n.GetName())
		}
		names[n.GetName()] = true
	}

	r := newResolver(g)
	var depthwise []string
	var details []Depthwise
	nonCand := map[string]string{}
	convs := 0
	for _, n := range g.GetNode() {
		if n.GetOpType() != "Conv" {
			continue
		}
		convs++
		dims, src, err := r.dims(n.GetInput()[1])
		if err != nil {
			t.Errorf("%s: weight: %v", n.GetName(), err)
			continue
		}
		group := intAttr(n, "group", 1)
		if len(dims) != 4 || group == 1 {
			continue
		}
		cin := group * dims[1]
		if dims[1] != 1 || dims[0] != cin {
			nonCand[n.GetName()] = ReasonGrouped
			continue
		}
		if d := intsAttr(n, "dilations", []int{1, 1}); !slices.Equal(d, []int{1, 1}) {
			nonCand[n.GetName()] = ReasonDilated
			continue
		}
		depthwise = append(depthwise, n.GetName())
		details = append(details, Depthwise{
			Node: n.GetName(), Channels: cin, Kernel: []int{dims[2], dims[3]},
			Strides:      intsAttr(n, "strides", []int{1, 1}),
			Pads:         intsAttr(n, "pads", []int{0, 0, 0, 0}),
			Bias:         len(n.GetInput()) > 2 && n.GetInput()[2] != "",
			WeightSource: src,
		})
	}
	if convs != f.Meta.ConvCount {
		t.Errorf("%d Conv nodes, meta says %d", convs, f.Meta.ConvCount)
	}
	if !slices.Equal(depthwise, f.Meta.DepthwiseConvs) {
		t.Errorf("depthwise convs in the graph:\n%v\nmeta:\n%v", depthwise, f.Meta.DepthwiseConvs)
	}
	if (len(details) > 0 || len(f.Meta.DepthwiseDetails) > 0) && !reflect.DeepEqual(details, f.Meta.DepthwiseDetails) {
		t.Errorf("depthwise details in the graph:\n%+v\nmeta:\n%+v", details, f.Meta.DepthwiseDetails)
	}
	metaNC := map[string]string{}
	for _, nc := range f.Meta.NonCandidateConvs {
		metaNC[nc.Node] = nc.Reason
	}
	if !reflect.DeepEqual(nonCand, metaNC) {
		t.Errorf("non-candidates in the graph %v, meta %v", nonCand, metaNC)
	}
}

func checkDims(t *testing.T, what string, vi *onnxpb.ValueInfoProto, want []any) {
	t.Helper()
	var got []any
	for _, d := range vi.GetType().GetTensorType().GetShape().GetDim() {
		if p := d.GetDimParam(); p != "" {
			got = append(got, p)
		} else {
			got = append(got, float64(d.GetDimValue()))
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("model %s dims %v, meta %v", what, got, want)
	}
}

func valueNames(vs []*onnxpb.ValueInfoProto) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.GetName())
	}
	return out
}

func intAttr(n *onnxpb.NodeProto, name string, def int) int {
	for _, a := range n.GetAttribute() {
		if a.GetName() == name {
			return int(a.GetI())
		}
	}
	return def
}

func intsAttr(n *onnxpb.NodeProto, name string, def []int) []int {
	for _, a := range n.GetAttribute() {
		if a.GetName() == name {
			var out []int
			for _, v := range a.GetInts() {
				out = append(out, int(v))
			}
			return out
		}
	}
	return def
}

// resolver finds the shape of a constant tensor through the producers the
// fixtures use.
type resolver struct {
	inits    map[string]*onnxpb.TensorProto
	producer map[string]*onnxpb.NodeProto
}

func newResolver(g *onnxpb.GraphProto) *resolver {
	r := &resolver{inits: map[string]*onnxpb.TensorProto{}, producer: map[string]*onnxpb.NodeProto{}}
	for _, ti := range g.GetInitializer() {
		r.inits[ti.GetName()] = ti
	}
	for _, n := range g.GetNode() {
		for _, o := range n.GetOutput() {
			r.producer[o] = n
		}
	}
	return r
}

func (r *resolver) dims(name string) ([]int, string, error) {
	if ti, ok := r.inits[name]; ok {
		return toInts(ti.GetDims()), "initializer", nil
	}
	n, ok := r.producer[name]
	if !ok {
		return nil, "", fmt.Errorf("%q is neither an initializer nor produced by a node", name)
	}
	switch n.GetOpType() {
	case "Constant":
		for _, a := range n.GetAttribute() {
			if a.GetName() == "value" {
				return toInts(a.GetT().GetDims()), "Constant", nil
			}
		}
	case "Identity":
		d, src, err := r.dims(n.GetInput()[0])
		return d, "Identity<-" + src, err
	case "ConstantOfShape":
		shape, err := r.int64s(n.GetInput()[0])
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", n.GetName(), err)
		}
		return toInts(shape), "ConstantOfShape", nil
	}
	return nil, "", fmt.Errorf("%q comes from %s node %q, not a constant", name, n.GetOpType(), n.GetName())
}

func (r *resolver) int64s(name string) ([]int64, error) {
	if ti, ok := r.inits[name]; ok {
		return onnxmodel.Int64s(ti)
	}
	if n, ok := r.producer[name]; ok && n.GetOpType() == "Constant" {
		for _, a := range n.GetAttribute() {
			if a.GetName() == "value" {
				return onnxmodel.Int64s(a.GetT())
			}
		}
	}
	return nil, fmt.Errorf("shape %q is not a constant", name)
}

func toInts(d []int64) []int {
	out := make([]int, len(d))
	for i, v := range d {
		out[i] = int(v)
	}
	return out
}

func TestFixtureContent(t *testing.T) {
	// Properties the fixtures exist to provide.
	cw, err := Load("constweights")
	if err != nil {
		t.Fatal(err)
	}
	sources := map[string]string{}
	for _, d := range cw.Meta.DepthwiseDetails {
		sources[d.WeightSource] = d.Node
	}
	for _, want := range []string{"Constant", "ConstantOfShape", "Identity<-Identity<-initializer"} {
		if _, ok := sources[want]; !ok {
			t.Errorf("constweights has no depthwise weight from %s (have %v)", want, sources)
		}
	}
	reasons := map[string]int{}
	strided := 0
	fs, err := All()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		for _, nc := range f.Meta.NonCandidateConvs {
			reasons[nc.Reason]++
		}
		for _, d := range f.Meta.DepthwiseDetails {
			if d.Strides[0] == 2 {
				strided++
			}
		}
	}
	if reasons[ReasonDilated] == 0 || reasons[ReasonGrouped] == 0 || strided == 0 {
		t.Errorf("fixtures lack negative or strided cases: reasons %v, stride-2 depthwise %d", reasons, strided)
	}
	rg, err := Load("regnet")
	if err != nil {
		t.Fatal(err)
	}
	if len(rg.Meta.DepthwiseConvs) != 0 || len(rg.Meta.NonCandidateConvs) == 0 {
		t.Errorf("regnet: %d depthwise, %d grouped non-candidates; want none and some",
			len(rg.Meta.DepthwiseConvs), len(rg.Meta.NonCandidateConvs))
	}
	dyn, err := Load("mobilenet_v2_dynamic")
	if err != nil {
		t.Fatal(err)
	}
	if got := dyn.Meta.InputDynamic(); !slices.Equal(got, []bool{true, false, true, true}) {
		t.Errorf("mobilenet_v2_dynamic dynamic axes %v", got)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, name := range []string{"", "..", "no_such_fixture", "../testmodels"} {
		if _, err := Load(name); err == nil {
			t.Errorf("Load(%q) succeeded", name)
		}
	}
}

func TestMetaCheck(t *testing.T) {
	good, err := Load("constweights")
	if err != nil {
		t.Fatal(err)
	}
	if err := good.Meta.check("constweights"); err != nil {
		t.Fatalf("good meta rejected: %v", err)
	}
	cases := map[string]func(m *Meta){
		"folder":      func(m *Meta) { m.Name = "other" },
		"input dims":  func(m *Meta) { m.ModelInputDims[2] = float64(31) },
		"axis name":   func(m *Meta) { m.ModelInputDims[0] = "" },
		"rank":        func(m *Meta) { m.OutputShape = m.OutputShape[:2] },
		"details":     func(m *Meta) { m.DepthwiseDetails = m.DepthwiseDetails[1:] },
		"repeat":      func(m *Meta) { m.DepthwiseConvs[1] = m.DepthwiseConvs[0] },
		"reason":      func(m *Meta) { m.NonCandidateConvs[0].Reason = "because" },
		"overlap":     func(m *Meta) { m.NonCandidateConvs[0].Node = m.DepthwiseConvs[0] },
		"conv count":  func(m *Meta) { m.ConvCount = 2 },
		"no input":    func(m *Meta) { m.InputName = "" },
		"dim type":    func(m *Meta) { m.ModelOutputDims[0] = true },
		"detail name": func(m *Meta) { m.DepthwiseDetails[0].Node = "x" },
		"no sha256":   func(m *Meta) { delete(m.SHA256, "output.npy") },
	}
	for name, mutate := range cases {
		f, err := Load("constweights")
		if err != nil {
			t.Fatal(err)
		}
		mutate(&f.Meta)
		if err := f.Meta.check("constweights"); err == nil {
			t.Errorf("%s: broken meta accepted", name)
		}
	}
}

func TestBrokenMetaFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "broken")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "meta.json"), []byte(`{"name": "broken",`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := load(dir)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "meta.json")) {
		t.Errorf("error %v does not name the file", err)
	}
}

func TestVerifyDetectsChange(t *testing.T) {
	f, err := Load("constweights")
	if err != nil {
		t.Fatal(err)
	}
	// A copy of the fixture with one byte of the model changed.
	f.Dir = t.TempDir()
	for _, name := range fixtureFiles {
		data, err := os.ReadFile(filepath.Join(Dir(), "constweights", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(f.Dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Verify(); err != nil {
		t.Fatalf("unchanged copy rejected: %v", err)
	}
	data, _ := os.ReadFile(f.ModelPath())
	data[len(data)-1] ^= 1
	if err := os.WriteFile(f.ModelPath(), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.Verify(); err == nil || !strings.Contains(err.Error(), f.ModelPath()) {
		t.Errorf("changed model: error %v", err)
	}
}

func TestSharedDir(t *testing.T) {
	d, err := SharedDir()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(d, "spec", "wtconv.md")); err != nil {
		t.Errorf("shared dir %s lacks the spec: %v", d, err)
	}
	root := filepath.Dir(Dir())
	if filepath.Dir(d) != filepath.Dir(root) {
		t.Errorf("shared dir %s is not beside the repository root %s", d, root)
	}
}
