package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
)

// convModel is x [1, 4, 8, 8] -> Conv(group 4) -> y with weight W as given.
func convModel(w *onnxpb.TensorProto, group int64) *onnxpb.ModelProto {
	vi := func(name string, dims ...int64) *onnxpb.ValueInfoProto {
		d := make([]*onnxpb.TensorShapeProto_Dimension, len(dims))
		for i, v := range dims {
			d[i] = &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: v}}
		}
		return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
			TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Shape: &onnxpb.TensorShapeProto{Dim: d}}}}}
	}
	return &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph: &onnxpb.GraphProto{
			Name: proto.String("g"),
			Node: []*onnxpb.NodeProto{{Name: proto.String("dw"), OpType: proto.String("Conv"), Input: []string{"x", "W"}, Output: []string{"y"},
				Attribute: []*onnxpb.AttributeProto{
					{Name: proto.String("group"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(group)},
					{Name: proto.String("pads"), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: []int64{1, 1, 1, 1}},
				}}},
			Initializer: []*onnxpb.TensorProto{w},
			Input:       []*onnxpb.ValueInfoProto{vi("x", 1, 4, 8, 8)},
			Output:      []*onnxpb.ValueInfoProto{vi("y", 1, 4, 8, 8)},
		},
	}
}

// TestInvalidConvsRefused: a Conv whose weight contradicts its group or
// input channels, or whose weight is not floating point, is an error naming
// node and tensor in convert (no output), run, and an inspect finding
// (non-zero exit).
func TestInvalidConvsRefused(t *testing.T) {
	str := &onnxpb.TensorProto{Name: proto.String("W"), DataType: proto.Int32(int32(onnxpb.TensorProto_STRING)), Dims: []int64{4, 1, 3, 3}}
	for i := 0; i < 36; i++ {
		str.StringData = append(str.StringData, []byte("w"))
	}
	cases := []struct {
		name  string
		model *onnxpb.ModelProto
		want  string
	}{
		{"3 output channels for group 4", convModel(onnxmodel.NewFloat32Tensor("W", []int64{3, 1, 3, 3}, make([]float32, 27)), 4), "3 output channels, not a multiple of group 4"},
		{"weight channels contradict input channels", convModel(onnxmodel.NewFloat32Tensor("W", []int64{4, 2, 3, 3}, make([]float32, 72)), 4), "has 4 channels but weight \"W\" expects 2 x group 4 = 8"},
		{"STRING weight", convModel(str, 4), "weight \"W\" is string"},
		{"2-D weight", convModel(onnxmodel.NewFloat32Tensor("W", []int64{4, 9}, make([]float32, 36)), 4), "at least 3-D"},
	}
	dir := t.TempDir()
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".onnx")
			data, err := onnxmodel.Marshal(c.model)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(src, data, 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "out", string(rune('a'+i))+".onnx")
			os.MkdirAll(filepath.Dir(out), 0o755)
			for _, args := range [][]string{
				{"convert", src, "-o", out},
				{"convert", src, "--dry-run"},
				{"run", src, "--engine", "go"},
				{"inspect", src},
			} {
				code, stdout, stderr := runCLI(args...)
				text := stdout + stderr
				if code == 0 || !strings.Contains(text, c.want) || !strings.Contains(text, `node "dw"`) {
					t.Errorf("%v: exit %d, output %q; want an error naming node \"dw\" and %q", args, code, text, c.want)
				}
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("convert wrote %s", out)
			}
		})
	}
}
