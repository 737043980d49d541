package onnxmodel

import (
	"fmt"

	"github.com/wtonnx/wtonnx/onnxpb"
)

// forEachTensor visits every TensorProto of the model: initializers, sparse
// initializers' parts, Constant-like attribute values, in the main graph,
// every subgraph and every model-local function. where describes the place.
func forEachTensor(m *onnxpb.ModelProto, fn func(t *onnxpb.TensorProto, where string) error) error {
	if g := m.GetGraph(); g != nil {
		if err := forEachGraphTensor(g, "graph "+quote(g.GetName()), fn); err != nil {
			return err
		}
	}
	for _, f := range m.GetFunctions() {
		for _, n := range f.GetNode() {
			if err := forEachNodeTensor(n, "function "+quote(f.GetName()), fn); err != nil {
				return err
			}
		}
	}
	return nil
}

func forEachGraphTensor(g *onnxpb.GraphProto, where string, fn func(*onnxpb.TensorProto, string) error) error {
	for _, t := range g.GetInitializer() {
		if err := fn(t, where+" initializer"); err != nil {
			return err
		}
	}
	for _, s := range g.GetSparseInitializer() {
		if s.GetValues() != nil {
			if err := fn(s.GetValues(), where+" sparse initializer values"); err != nil {
				return err
			}
		}
		if s.GetIndices() != nil {
			if err := fn(s.GetIndices(), where+" sparse initializer indices"); err != nil {
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

func forEachNodeTensor(n *onnxpb.NodeProto, where string, fn func(*onnxpb.TensorProto, string) error) error {
	at := where + " " + NodeLabel(n)
	for _, a := range n.GetAttribute() {
		if a.GetT() != nil {
			if err := fn(a.GetT(), at+" attribute "+quote(a.GetName())); err != nil {
				return err
			}
		}
		for _, t := range a.GetTensors() {
			if err := fn(t, at+" attribute "+quote(a.GetName())); err != nil {
				return err
			}
		}
		if a.GetG() != nil {
			if err := forEachGraphTensor(a.GetG(), at+" subgraph", fn); err != nil {
				return err
			}
		}
		for _, sg := range a.GetGraphs() {
			if err := forEachGraphTensor(sg, at+" subgraph", fn); err != nil {
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
