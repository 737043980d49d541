package goexec

import (
	"fmt"
	"math"

	"github.com/wtonnx/wtonnx/onnxpb"
)

// attrs gives typed access to a node's attributes.
type attrs map[string]*onnxpb.AttributeProto

func newAttrs(n *onnxpb.NodeProto) attrs {
	m := attrs{}
	for _, a := range n.GetAttribute() {
		m[a.GetName()] = a
	}
	return m
}

func (a attrs) has(name string) bool { _, ok := a[name]; return ok }

// kind returns the attribute's declared type, inferring it from the filled
// field for old models that leave the type unset.
func attrKind(p *onnxpb.AttributeProto) onnxpb.AttributeProto_AttributeType {
	if p.Type != nil && p.GetType() != onnxpb.AttributeProto_UNDEFINED {
		return p.GetType()
	}
	switch {
	case len(p.GetInts()) > 0:
		return onnxpb.AttributeProto_INTS
	case len(p.GetFloats()) > 0:
		return onnxpb.AttributeProto_FLOATS
	case len(p.GetStrings()) > 0:
		return onnxpb.AttributeProto_STRINGS
	case p.T != nil:
		return onnxpb.AttributeProto_TENSOR
	case p.S != nil:
		return onnxpb.AttributeProto_STRING
	case p.F != nil:
		return onnxpb.AttributeProto_FLOAT
	case p.I != nil:
		return onnxpb.AttributeProto_INT
	}
	return onnxpb.AttributeProto_UNDEFINED
}

func (a attrs) check(name string, want ...onnxpb.AttributeProto_AttributeType) (*onnxpb.AttributeProto, error) {
	p, ok := a[name]
	if !ok {
		return nil, nil
	}
	k := attrKind(p)
	for _, w := range want {
		if k == w {
			return p, nil
		}
	}
	return nil, fmt.Errorf("attribute %q has type %v, want %v", name, k, want[0])
}

func (a attrs) int(name string, def int64) (int64, error) {
	p, err := a.check(name, onnxpb.AttributeProto_INT)
	if err != nil || p == nil {
		return def, err
	}
	return p.GetI(), nil
}

func (a attrs) ints(name string, def []int64) ([]int64, error) {
	p, err := a.check(name, onnxpb.AttributeProto_INTS)
	if err != nil || p == nil {
		return def, err
	}
	return append([]int64{}, p.GetInts()...), nil
}

func (a attrs) float(name string, def float32) (float32, error) {
	p, err := a.check(name, onnxpb.AttributeProto_FLOAT)
	if err != nil || p == nil {
		return def, err
	}
	return p.GetF(), nil
}

func (a attrs) floats(name string, def []float32) ([]float32, error) {
	p, err := a.check(name, onnxpb.AttributeProto_FLOATS)
	if err != nil || p == nil {
		return def, err
	}
	return append([]float32{}, p.GetFloats()...), nil
}

func (a attrs) str(name, def string) (string, error) {
	p, err := a.check(name, onnxpb.AttributeProto_STRING)
	if err != nil || p == nil {
		return def, err
	}
	return string(p.GetS()), nil
}

// ints converts int64 attribute values to int, rejecting values that do not
// fit comfortably.
func toInts(v []int64) ([]int, error) {
	out := make([]int, len(v))
	for i, x := range v {
		if x > math.MaxInt32 || x < -math.MaxInt32 {
			return nil, fmt.Errorf("value %d out of range", x)
		}
		out[i] = int(x)
	}
	return out, nil
}
