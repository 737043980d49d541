package onnxmodel

import (
	"fmt"
	"strings"

	"github.com/wtonnx/wtonnx/onnxpb"
)

// place describes where a tensor sits in a model, for error messages. It is
// a chain built as the walk descends and turned into text only when an error
// needs it, so that walking deeply nested graphs costs no string building.
type place struct {
	parent *place
	text   string            // a fixed part, or
	node   *onnxpb.NodeProto // a node, labelled with NodeLabel
}

func (p *place) String() string {
	var parts []string
	for ; p != nil; p = p.parent {
		if p.node != nil {
			parts = append(parts, NodeLabel(p.node))
		} else {
			parts = append(parts, p.text)
		}
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, " ")
}

func (p *place) with(text string) *place { return &place{parent: p, text: text} }

// forEachTensor visits every TensorProto of the model: initializers, sparse
// initializers' parts, Constant-like attribute values, in the main graph,
// every subgraph and every model-local function. where describes the place.
func forEachTensor(m *onnxpb.ModelProto, fn func(t *onnxpb.TensorProto, where fmt.Stringer) error) error {
	if g := m.GetGraph(); g != nil {
		if err := forEachGraphTensor(g, &place{text: "graph " + quote(g.GetName())}, fn); err != nil {
			return err
		}
	}
	for _, f := range m.GetFunctions() {
		at := &place{text: "function " + quote(f.GetName())}
		for _, n := range f.GetNode() {
			if err := forEachNodeTensor(n, at, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

func forEachGraphTensor(g *onnxpb.GraphProto, where *place, fn func(*onnxpb.TensorProto, fmt.Stringer) error) error {
	if len(g.GetInitializer()) > 0 {
		at := where.with("initializer")
		for _, t := range g.GetInitializer() {
			if err := fn(t, at); err != nil {
				return err
			}
		}
	}
	for _, s := range g.GetSparseInitializer() {
		if s.GetValues() != nil {
			if err := fn(s.GetValues(), where.with("sparse initializer values")); err != nil {
				return err
			}
		}
		if s.GetIndices() != nil {
			if err := fn(s.GetIndices(), where.with("sparse initializer indices")); err != nil {
				return err
			}
		}
	}
	for _, n := range g.GetNode() {
		if err := forEachNodeTensor(n, where, fn); err != nil {
			return err
		}
	}
	return nil
}

func forEachNodeTensor(n *onnxpb.NodeProto, where *place, fn func(*onnxpb.TensorProto, fmt.Stringer) error) error {
	if len(n.GetAttribute()) == 0 {
		return nil
	}
	at := &place{parent: where, node: n}
	for _, a := range n.GetAttribute() {
		if a.GetT() == nil && len(a.GetTensors()) == 0 && a.GetG() == nil && len(a.GetGraphs()) == 0 {
			continue
		}
		attr := at.with("attribute " + quote(a.GetName()))
		if a.GetT() != nil {
			if err := fn(a.GetT(), attr); err != nil {
				return err
			}
		}
		for _, t := range a.GetTensors() {
			if err := fn(t, attr); err != nil {
				return err
			}
		}
		if a.GetG() != nil {
			if err := forEachGraphTensor(a.GetG(), at.with("subgraph"), fn); err != nil {
				return err
			}
		}
		for _, sg := range a.GetGraphs() {
			if err := forEachGraphTensor(sg, at.with("subgraph"), fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// NodeLabel names a node in messages: its name and operator.
func NodeLabel(n *onnxpb.NodeProto) string {
	op := n.GetOpType()
	if n.GetDomain() != "" && n.GetDomain() != "ai.onnx" {
		op = n.GetDomain() + "." + op
	}
	if n.GetName() == "" {
		if len(n.GetOutput()) > 0 {
			return fmt.Sprintf("node %s (producing %q)", op, n.GetOutput()[0])
		}
		return "unnamed node " + op
	}
	return fmt.Sprintf("node %q (%s)", n.GetName(), op)
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

// DTypeName is the name wtonnx shows for an ONNX element type, in every
// command and JSON document: ONNX's numpy-style spelling (float32, int64,
// bool, string, bfloat16, ...), or "?" when the type is not set.
func DTypeName(elemType int32) string {
	switch onnxpb.TensorProto_DataType(elemType) {
	case onnxpb.TensorProto_UNDEFINED:
		return "?"
	case onnxpb.TensorProto_FLOAT:
		return "float32"
	case onnxpb.TensorProto_DOUBLE:
		return "float64"
	case onnxpb.TensorProto_FLOAT16:
		return "float16"
	case onnxpb.TensorProto_BFLOAT16:
		return "bfloat16"
	case onnxpb.TensorProto_COMPLEX64:
		return "complex64"
	case onnxpb.TensorProto_COMPLEX128:
		return "complex128"
	}
	name, ok := onnxpb.TensorProto_DataType_name[elemType]
	if !ok {
		return fmt.Sprintf("type %d", elemType)
	}
	// INT8, UINT16, BOOL, STRING, FLOAT8E4M3FN, ... read the same in lower case.
	return strings.ToLower(name)
}
