package graph

import (
	"fmt"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/opset"
	"github.com/wtonnx/wtonnx/tensor"
)

// Constant is a tensor whose value is known without running the model.
type Constant struct {
	Value *tensor.Tensor
	// Source names where the value lives: the initializer's name, or the
	// name of the Constant / ConstantOfShape node that makes it.
	Source string
	// Initializer is true when Source is an initializer.
	Initializer bool
	// Overridable lists the initializers the value was computed from that
	// are also graph inputs (see ResolveDefault); empty for ResolveConstant.
	Overridable []string
}

// maxConstantElements bounds what ConstantOfShape may materialise here.
const maxConstantElements = 1 << 28

// ResolveConstant returns the value of tensor name when it is an initializer
// or is computed from one through Identity, Constant or ConstantOfShape
// nodes. It returns an error explaining why otherwise.
func (ix *Index) ResolveConstant(name string) (*Constant, error) {
	return ix.resolve(name, 0, false)
}

// ResolveDefault is ResolveConstant that also takes initializers listed as
// graph inputs, at their stored values, and names them in the result's
// Overridable. In IR < 4 every initializer had to be listed as an input, so
// there they are weights; from IR 4 on such an initializer is a default the
// caller may override, and a value taken from it fixes that default.
func (ix *Index) ResolveDefault(name string) (*Constant, error) {
	return ix.resolve(name, 0, true)
}

func (ix *Index) resolve(name string, depth int, defaults bool) (*Constant, error) {
	if depth > 64 {
		return nil, fmt.Errorf("tensor %q: constant chain is too deep", name)
	}
	if t := ix.inits[name]; t != nil {
		v, err := onnxmodel.ToTensor(t)
		if err != nil {
			return nil, err
		}
		// An initializer that is also a graph input (IR < 4 style) can be
		// replaced by the caller at run time: a default, not a constant.
		c := &Constant{Value: v, Source: name, Initializer: true}
		if _, overridable := ix.inputs[name]; overridable {
			if !defaults {
				return nil, fmt.Errorf("tensor %q is an initializer that is also a graph input, so callers may replace it", name)
			}
			c.Overridable = []string{name}
		}
		return c, nil
	}
	n := ix.producer[name]
	if n == nil {
		if _, ok := ix.inputs[name]; ok {
			return nil, fmt.Errorf("tensor %q is a graph input, not a constant", name)
		}
		return nil, fmt.Errorf("tensor %q has no producer and no initializer", name)
	}
	switch n.GetOpType() {
	case "Identity":
		if len(n.GetInput()) != 1 {
			return nil, fmt.Errorf("%s has %d inputs", onnxmodel.NodeLabel(n), len(n.GetInput()))
		}
		return ix.resolve(n.GetInput()[0], depth+1, defaults)
	case "Constant":
		v, err := opset.ConstantValue(n)
		if err != nil {
			return nil, err
		}
		return &Constant{Value: v, Source: n.GetName()}, nil
	case "ConstantOfShape":
		if len(n.GetInput()) != 1 {
			return nil, fmt.Errorf("%s has %d inputs", onnxmodel.NodeLabel(n), len(n.GetInput()))
		}
		shapeC, err := ix.resolve(n.GetInput()[0], depth+1, defaults)
		if err != nil {
			return nil, fmt.Errorf("%s: shape: %w", onnxmodel.NodeLabel(n), err)
		}
		if shapeC.Value.DType != tensor.Int64 {
			return nil, fmt.Errorf("%s: shape input is not int64", onnxmodel.NodeLabel(n))
		}
		shape := make([]int, len(shapeC.Value.I64))
		count := int64(1)
		for i, d := range shapeC.Value.I64 {
			if d < 0 {
				return nil, fmt.Errorf("%s: negative dimension %d", onnxmodel.NodeLabel(n), d)
			}
			shape[i] = int(d)
			if d > 0 && count > maxConstantElements/d {
				return nil, fmt.Errorf("%s: shape %v is too large to materialise", onnxmodel.NodeLabel(n), shapeC.Value.I64)
			}
			count *= d
		}
		fill := tensor.NewFloat32([]int{1}, []float32{0})
		if a := Attr(n, "value"); a != nil && a.GetT() != nil {
			if fill, err = onnxmodel.ToTensor(a.GetT()); err != nil {
				return nil, fmt.Errorf("%s: value: %w", onnxmodel.NodeLabel(n), err)
			}
			if fill.Len() != 1 {
				return nil, fmt.Errorf("%s: value must hold one element, holds %d", onnxmodel.NodeLabel(n), fill.Len())
			}
		}
		if fill.DType == tensor.Int64 {
			out := tensor.NewInt64(shape, nil)
			for i := range out.I64 {
				out.I64[i] = fill.I64[0]
			}
			return &Constant{Value: out, Source: n.GetName(), Overridable: shapeC.Overridable}, nil
		}
		out := tensor.NewFloat32(shape, nil)
		for i := range out.F32 {
			out.F32[i] = fill.F32[0]
		}
		return &Constant{Value: out, Source: n.GetName(), Overridable: shapeC.Overridable}, nil
	}
	return nil, fmt.Errorf("tensor %q is computed by %s at run time", name, onnxmodel.NodeLabel(n))
}
