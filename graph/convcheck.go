package graph

import (
	"fmt"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
)

// CheckConvs returns the error of the first Conv node of the main graph
// that contradicts the ONNX Conv specification (see CheckConv), or nil.
func CheckConvs(m *onnxpb.ModelProto, shapes *Shapes) error {
	ix := NewIndex(m.GetGraph())
	for _, n := range m.GetGraph().GetNode() {
		if err := ix.CheckConv(shapes, n); err != nil {
			return err
		}
	}
	return nil
}

// CheckConv reports why Conv node n is invalid: no weight, a weight that is
// not floating point, a weight whose rank or channel counts contradict the
// node's group, its input's channels or its kernel_shape, or a bias of the
// wrong length. Facts that are not known statically (a shape inference could
// not fix) are not held against the node. It returns nil for other nodes.
// The error names the node and the tensor.
func (ix *Index) CheckConv(shapes *Shapes, n *onnxpb.NodeProto) error {
	if n.GetOpType() != "Conv" || (n.GetDomain() != "" && n.GetDomain() != "ai.onnx") {
		return nil
	}
	node := onnxmodel.NodeLabel(n)
	if len(n.GetInput()) < 2 || n.GetInput()[1] == "" {
		return fmt.Errorf("%s: a Conv needs a weight input (it has %d inputs)", node, len(n.GetInput()))
	}
	wname := n.GetInput()[1]
	if dt := ix.elemType(wname); dt != 0 && !isFloatType(dt) {
		return fmt.Errorf("%s: weight %q is %s; a Conv's weight must be floating point", node, wname, onnxmodel.DTypeName(dt))
	}
	w := ix.knownShape(shapes, wname)
	if w == nil {
		return nil
	}
	group := AttrInt(n, "group", 1)
	switch {
	case len(w) < 3:
		return fmt.Errorf("%s: weight %q has shape %v; a Conv's weight is (out channels, in channels / group, kernel...), at least 3-D", node, wname, []int64(w))
	case group < 1:
		return fmt.Errorf("%s: group %d is not positive", node, group)
	case w[0] > 0 && w[0]%group != 0:
		return fmt.Errorf("%s: weight %q has %d output channels, not a multiple of group %d", node, wname, w[0], group)
	}
	if x := ix.knownShape(shapes, n.GetInput()[0]); x != nil {
		switch {
		case len(x) != len(w):
			return fmt.Errorf("%s: input %q is %d-D but weight %q is %d-D", node, n.GetInput()[0], len(x), wname, len(w))
		case x[1] > 0 && w[1] > 0 && x[1] != w[1]*group:
			return fmt.Errorf("%s: input %q has %d channels but weight %q expects %d x group %d = %d", node, n.GetInput()[0], x[1], wname, w[1], group, w[1]*group)
		}
	}
	if ks := AttrInts(n, "kernel_shape", nil); ks != nil {
		if len(ks) != len(w)-2 {
			return fmt.Errorf("%s: kernel_shape %v does not fit weight %q of shape %v", node, ks, wname, []int64(w))
		}
		for i, k := range ks {
			if w[2+i] > 0 && k != w[2+i] {
				return fmt.Errorf("%s: kernel_shape %v does not match weight %q of shape %v", node, ks, wname, []int64(w))
			}
		}
	}
	if len(n.GetInput()) > 2 && n.GetInput()[2] != "" {
		bname := n.GetInput()[2]
		if dt := ix.elemType(bname); dt != 0 && !isFloatType(dt) {
			return fmt.Errorf("%s: bias %q is %s; a Conv's bias must be floating point", node, bname, onnxmodel.DTypeName(dt))
		}
		if b := ix.knownShape(shapes, bname); b != nil && (len(b) != 1 || (b[0] > 0 && w[0] > 0 && b[0] != w[0])) {
			return fmt.Errorf("%s: bias %q has shape %v; want [%d] (one per output channel of weight %q)", node, bname, []int64(b), w[0], wname)
		}
	}
	return nil
}

// knownShape is the static shape of name: an initializer's dims, else what
// shape inference found (nil when the rank is unknown).
func (ix *Index) knownShape(shapes *Shapes, name string) Shape {
	if t := ix.inits[name]; t != nil {
		return Shape(t.GetDims())
	}
	if shapes == nil {
		return nil
	}
	return shapes.Of(name)
}

// elemType is the element type of tensor name as far as the graph states it
// (initializer, Constant node, declared input or value_info), or 0.
func (ix *Index) elemType(name string) int32 {
	for depth := 0; depth < 64; depth++ {
		if t := ix.inits[name]; t != nil {
			return t.GetDataType()
		}
		if vi := ix.inputs[name]; vi != nil {
			return vi.GetType().GetTensorType().GetElemType()
		}
		n := ix.producer[name]
		if n == nil {
			return 0
		}
		switch n.GetOpType() {
		case "Identity":
			if len(n.GetInput()) != 1 {
				return 0
			}
			name = n.GetInput()[0]
			continue
		case "Constant":
			if a := Attr(n, "value"); a != nil && a.GetT() != nil {
				return a.GetT().GetDataType()
			}
			if Attr(n, "value_float") != nil || Attr(n, "value_floats") != nil {
				return int32(onnxpb.TensorProto_FLOAT)
			}
			if Attr(n, "value_int") != nil || Attr(n, "value_ints") != nil {
				return int32(onnxpb.TensorProto_INT64)
			}
			if Attr(n, "value_string") != nil || Attr(n, "value_strings") != nil {
				return int32(onnxpb.TensorProto_STRING)
			}
		case "ConstantOfShape":
			if a := Attr(n, "value"); a != nil && a.GetT() != nil {
				return a.GetT().GetDataType()
			}
			return int32(onnxpb.TensorProto_FLOAT)
		}
		for _, vi := range ix.g.GetValueInfo() {
			if vi.GetName() == name {
				return vi.GetType().GetTensorType().GetElemType()
			}
		}
		return 0
	}
	return 0
}

func isFloatType(dt int32) bool {
	switch onnxpb.TensorProto_DataType(dt) {
	case onnxpb.TensorProto_FLOAT, onnxpb.TensorProto_FLOAT16, onnxpb.TensorProto_DOUBLE, onnxpb.TensorProto_BFLOAT16:
		return true
	}
	return false
}
