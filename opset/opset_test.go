package opset

import (
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/onnxpb"
)

func TestSliceLen(t *testing.T) {
	for _, c := range []struct{ dim, start, end, step, want int64 }{
		{10, 0, 10, 1, 10}, {10, 0, 10, 2, 5}, {11, 0, 11, 2, 6}, {10, -3, 1 << 62, 1, 3},
		{10, 9, -11, -1, 10}, {10, 0, 0, 1, 0}, {5, 4, 0, -2, 2},
	} {
		if got := SliceLen(c.dim, c.start, c.end, c.step); got != c.want {
			t.Errorf("SliceLen%v = %d", c, got)
		}
	}
}

func node(op string, in, out []string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{OpType: &op, Input: in, Output: out, Attribute: attrs}
}

func intAttr(name string, v int64) *onnxpb.AttributeProto {
	ty := onnxpb.AttributeProto_INT
	return &onnxpb.AttributeProto{Name: &name, Type: &ty, I: &v}
}

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		op      string
		version int64
		n       *onnxpb.NodeProto
		want    string // "" means accepted
	}{
		{"MaxPool", 10, node("MaxPool", []string{"x"}, []string{"y"}, intAttr("ceil_mode", 1), intAttr("kernel_shape", 2)), ""},
		{"MaxPool", 9, node("MaxPool", []string{"x"}, []string{"y"}, intAttr("ceil_mode", 1), intAttr("kernel_shape", 2)), "ceil_mode is not an attribute of MaxPool at opset 9 (it exists at opsets 10 and later)"},
		{"MaxPool", 13, node("MaxPool", []string{"x"}, []string{"y"}), "required attribute kernel_shape is missing"},
		{"Add", 6, node("Add", []string{"a", "b"}, []string{"y"}, intAttr("broadcast", 1)), ""},
		{"Add", 7, node("Add", []string{"a", "b"}, []string{"y"}, intAttr("broadcast", 1)), "exists at opsets 1-6"},
		{"Relu", 13, node("Relu", []string{"x"}, []string{"y"}, intAttr("bogus", 1), intAttr("also", 2)), "unsupported attribute(s) also, bogus"},
		{"Add", 13, node("Add", []string{"a"}, []string{"y"}), "takes 2 inputs, got 1"},
		{"Clip", 13, node("Clip", []string{"x", "", "hi", ""}, []string{"y"}), ""},
		{"Dropout", 9, node("Dropout", []string{"x"}, []string{"y", "mask"}), ""},
		{"Dropout", 9, node("Dropout", []string{"x"}, []string{"y", "mask", "extra"}), "at most 2"},
	} {
		s, err := Find("", c.op, c.version)
		if err != nil {
			t.Fatal(err)
		}
		err = s.Check(c.n, c.version)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s at %d refused: %v", c.op, c.version, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s at %d: error %v, want %q", c.op, c.version, err, c.want)
		}
	}
}

func TestFind(t *testing.T) {
	if _, err := Find("", "Mod", 9); err == nil || !strings.Contains(err.Error(), "opsets 10-21") {
		t.Errorf("Mod at opset 9: %v", err)
	}
	if _, err := Find("", "NonMaxSuppression", 13); err == nil || !strings.Contains(err.Error(), `"NonMaxSuppression" is not supported`) {
		t.Errorf("NonMaxSuppression: %v", err)
	}
	if _, err := Find("com.example", "Mod", 13); err == nil || !strings.Contains(err.Error(), `domain "com.example"`) {
		t.Errorf("other domain: %v", err)
	}
	if s, err := Find("ai.onnx", "Conv", 21); err != nil || s.Key != (Key{Name: "Conv"}) {
		t.Errorf("ai.onnx Conv: %v %v", s, err)
	}
}

func TestAttributeSpecs(t *testing.T) {
	got := attrs([]string{"a", "b@10", "c@-6", "d@7-8"})
	want := []Attribute{{"a", 1, 0}, {"b", 10, 0}, {"c", 1, 6}, {"d", 7, 8}}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("spec %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
