package goexec

import (
	"testing"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
)

// oneNodeModel builds a model with one node of the default domain. inputs
// holds, per node input, nil for a graph input named "x" (first) or "x1",
// "x2"..., or a tensor that becomes an initializer "w<i>". Integer
// attributes come in ints (one value = INT, several = INTS unless the name
// is in the listed INTS names).
func oneNodeModel(op string, ints map[string][]int64, inputs []*tensor.Tensor, opset int64) *onnxpb.ModelProto {
	g := &onnxpb.GraphProto{Name: strp("g")}
	node := &onnxpb.NodeProto{OpType: strp(op), Name: strp("n0"), Output: []string{"y"}}
	for i, t := range inputs {
		if t == nil {
			name := "x"
			if i > 0 {
				name = "x" + string(rune('0'+i))
			}
			node.Input = append(node.Input, name)
			g.Input = append(g.Input, &onnxpb.ValueInfoProto{Name: strp(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
				TensorType: &onnxpb.TypeProto_Tensor{ElemType: ptr(int32(onnxpb.TensorProto_FLOAT))}}}})
			continue
		}
		name := "w" + string(rune('0'+i))
		node.Input = append(node.Input, name)
		g.Initializer = append(g.Initializer, onnxmodel.FromTensor(name, t))
	}
	for name, v := range ints {
		a := &onnxpb.AttributeProto{Name: strp(name)}
		if len(v) == 1 && (name == "group" || name == "axis" || name == "keepdims" || name == "transA" || name == "transB" || name == "ceil_mode" || name == "count_include_pad" || name == "allowzero") {
			a.Type = onnxpb.AttributeProto_INT.Enum()
			a.I = ptr(v[0])
		} else {
			a.Type = onnxpb.AttributeProto_INTS.Enum()
			a.Ints = v
		}
		node.Attribute = append(node.Attribute, a)
	}
	g.Node = []*onnxpb.NodeProto{node}
	g.Output = []*onnxpb.ValueInfoProto{{Name: strp("y"), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
		TensorType: &onnxpb.TypeProto_Tensor{ElemType: ptr(int32(onnxpb.TensorProto_FLOAT))}}}}}
	return &onnxpb.ModelProto{IrVersion: ptr(int64(8)), Graph: g, OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: strp(""), Version: ptr(opset)}}}
}

func oneNode(t testing.TB, op string, ints map[string][]int64, inputs []*tensor.Tensor, opset int64, threads int) *Engine {
	t.Helper()
	e, err := Open(oneNodeModel(op, ints, inputs, opset), Options{Threads: threads})
	if err != nil {
		t.Fatal(err)
	}
	return e
}
