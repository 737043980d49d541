package inspect

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/runtime/goexec"
	"github.com/wtonnx/wtonnx/testmodels"
)

// Every shared real model the Go engine runs is reported as runnable, and
// Open agrees.
func TestGoEngineRunsRealModels(t *testing.T) {
	paths, _ := filepath.Glob("../../shared/onnx-zoo-light/*.onnx")
	exports, _ := filepath.Glob("../../shared/reference/exported/*/model.onnx")
	paths = append(paths, exports...)
	fixtures, err := testmodels.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fixtures {
		paths = append(paths, f.ModelPath())
	}
	if len(paths) < 10 {
		t.Fatalf("only %d models found", len(paths))
	}
	for _, p := range paths {
		m, err := onnxmodel.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		ge := GoEngineSupport(m)
		if !ge.Runs || len(ge.Lacks) != 0 {
			t.Errorf("%s: %+v", p, ge)
		}
		if _, err := goexec.Open(m, goexec.Options{Threads: 1}); err != nil {
			t.Errorf("%s: reported runnable but Open says %v", p, err)
		}
	}
}

func TestGoEngineLacks(t *testing.T) {
	str := func(s string) *string { return &s }
	ver := func(d string, v int64) *onnxpb.OperatorSetIdProto {
		return &onnxpb.OperatorSetIdProto{Domain: str(d), Version: &v}
	}
	node := func(dom, op, name string, in, out []string) *onnxpb.NodeProto {
		return &onnxpb.NodeProto{Domain: str(dom), OpType: str(op), Name: str(name), Input: in, Output: out}
	}
	m := &onnxpb.ModelProto{
		OpsetImport: []*onnxpb.OperatorSetIdProto{ver("", 16), ver("local", 1)},
		Graph: &onnxpb.GraphProto{Node: []*onnxpb.NodeProto{
			node("", "Relu", "ok", []string{"x"}, []string{"a"}),
			node("", "NonMaxSuppression", "nms1", []string{"a", "a"}, []string{"b"}),
			node("", "NonMaxSuppression", "nms2", []string{"a", "a"}, []string{"c"}),
			node("", "LayerNormalization", "ln", []string{"a", "s"}, []string{"d"}),
			node("local", "F", "call", []string{"a"}, []string{"e"}),
			{OpType: str("Cast"), Name: str("widen"), Input: []string{"a"}, Output: []string{"f"},
				Attribute: []*onnxpb.AttributeProto{{Name: str("to"), Type: onnxpb.AttributeProto_INT.Enum(), I: ptr(int64(onnxpb.TensorProto_DOUBLE))}}},
		}},
		Functions: []*onnxpb.FunctionProto{{Name: str("F"), Domain: str("local"), Input: []string{"i"}, Output: []string{"o"},
			OpsetImport: []*onnxpb.OperatorSetIdProto{ver("", 16)},
			Node:        []*onnxpb.NodeProto{node("", "Hardmax", "inside", []string{"i"}, []string{"o"})}}},
	}
	ge := GoEngineSupport(m)
	if ge.Runs {
		t.Fatal("reported runnable")
	}
	got := map[string]OperatorGap{}
	for _, g := range ge.Lacks {
		got[g.Op] = g
	}
	if len(got) != 3 {
		t.Fatalf("lacks %+v, want Hardmax, LayerNormalization, NonMaxSuppression", ge.Lacks)
	}
	if g := got["NonMaxSuppression"]; g.Nodes != 2 || g.FirstNode != "nms1" || !strings.Contains(g.Reason, "not supported") {
		t.Errorf("NonMaxSuppression: %+v", g)
	}
	if g := got["LayerNormalization"]; g.Version != 16 || !strings.Contains(g.Reason, "17-21") {
		t.Errorf("LayerNormalization at opset 16: %+v", g)
	}
	if g := got["Hardmax"]; g.FirstNode != "inside" {
		t.Errorf("the function body's operator: %+v", g)
	}
	if len(ge.Double) != 1 || !strings.Contains(ge.Double[0], `"widen" (Cast to DOUBLE)`) {
		t.Errorf("DOUBLE makers %v, want the Cast", ge.Double)
	}
	// Open refuses the same model.
	if _, err := goexec.Open(m, goexec.Options{}); err == nil {
		t.Error("Open accepted a model inspect says it cannot run")
	}
}

func ptr[T any](v T) *T { return &v }
