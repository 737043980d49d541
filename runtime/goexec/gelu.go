package goexec

import (
	"fmt"

	"github.com/wtonnx/wtonnx/tensor"
)

// Fusion of the erf GELU that torch.onnx.export writes for nn.GELU():
//
//	Div(x, c1) -> Erf -> Add(., c2) -> Mul(x, .) -> Mul(., c3)
//
// (c1 = sqrt 2, c2 = 1, c3 = 0.5) into one element-wise pass. The fused
// kernel performs the same float32 operations in the same order, so its
// result equals the unfused chain's.

// erfGeluOp returns the fused activation for constants c1, c2, c3.
func erfGeluOp(c1, c2, c3 float32) *unaryOp {
	return &unaryOp{kind: "erfGelu", gelu: [3]float32{c1, c2, c3}}
}

// scalarConst returns the value of a float32 constant holding one value
// with rank 0 or 1 (so that broadcasting it never changes a shape of rank
// at least 1), unless a Run may override it.
func (e *Engine) scalarConst(name string) (v float32, rank1, ok bool) {
	t, isConst := e.consts[name]
	if !isConst || e.overridable[name] || t.DType != tensor.Float32 || t.Len() != 1 || len(t.Shape) > 1 {
		return 0, false, false
	}
	return t.F32[0], len(t.Shape) == 1, true
}

// opIs reports whether n is the ai.onnx operator op.
func opIs(n *execNode, op string) bool {
	return n.proto.GetOpType() == op && normDomain(n.proto.GetDomain()) == ""
}

// geluAt matches the chain starting with the Div nodes[i]. Every
// intermediate must be read only by the next node of the chain and not be
// a graph output (uses counts graph outputs as two reads). It returns the
// fused node and the indices of the four other nodes.
func (e *Engine) geluAt(nodes []*execNode, i int, uses map[string]int) (*execNode, [4]int, bool) {
	var idx [4]int
	div := nodes[i]
	if !opIs(div, "Div") || len(div.inputs) != 2 || len(div.outputs) != 1 {
		return nil, idx, false
	}
	x := div.inputs[0]
	c1, r1, ok := e.scalarConst(div.inputs[1])
	if !ok {
		return nil, idx, false
	}
	rank1 := r1
	// next finds the single consumer of name after node j.
	next := func(j int, name string) (int, *execNode) {
		if uses[name] != 1 {
			return -1, nil
		}
		for k := j + 1; k < len(nodes); k++ {
			if reads(nodes[k], name) {
				return k, nodes[k]
			}
		}
		return -1, nil
	}
	// other returns the input of a two-input node that is not name.
	other := func(n *execNode, name string) (string, bool) {
		if len(n.inputs) != 2 || len(n.outputs) != 1 {
			return "", false
		}
		switch name {
		case n.inputs[0]:
			return n.inputs[1], true
		case n.inputs[1]:
			return n.inputs[0], true
		}
		return "", false
	}
	j, erf := next(i, div.outputs[0])
	if erf == nil || !opIs(erf, "Erf") || len(erf.inputs) != 1 || len(erf.outputs) != 1 {
		return nil, idx, false
	}
	idx[0] = j
	j, add := next(j, erf.outputs[0])
	if add == nil || !opIs(add, "Add") {
		return nil, idx, false
	}
	idx[1] = j
	name, ok := other(add, erf.outputs[0])
	if !ok {
		return nil, idx, false
	}
	c2, r2, ok := e.scalarConst(name)
	if !ok {
		return nil, idx, false
	}
	rank1 = rank1 || r2
	j, mul := next(j, add.outputs[0])
	if mul == nil || !opIs(mul, "Mul") {
		return nil, idx, false
	}
	idx[2] = j
	if name, ok := other(mul, add.outputs[0]); !ok || name != x {
		return nil, idx, false
	}
	j, scale := next(j, mul.outputs[0])
	if scale == nil || !opIs(scale, "Mul") {
		return nil, idx, false
	}
	idx[3] = j
	name, ok = other(scale, mul.outputs[0])
	if !ok {
		return nil, idx, false
	}
	c3, r3, ok := e.scalarConst(name)
	if !ok {
		return nil, idx, false
	}
	rank1 = rank1 || r3
	u := erfGeluOp(c1, c2, c3)
	fused := &execNode{flatNode: div.flatNode, inputs: []string{x}, outputs: scale.outputs, act: u}
	fused.kernel = func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		if x.DType != tensor.Float32 {
			return nil, fmt.Errorf("erf GELU chain (Div, Erf, Add, Mul, Mul) needs float32 input, got %v", x.DType)
		}
		shape := x.Shape
		if len(shape) == 0 && rank1 {
			shape = []int{1}
		}
		out := rc.newF32(shape)
		u.apply(rc, out.F32, x.F32)
		return []*tensor.Tensor{out}, nil
	}
	return fused, idx, true
}

// fuseGelu returns nodes with every matched GELU chain replaced by one
// node, adding the chains' intermediate tensors to hidden.
func (e *Engine) fuseGelu(nodes []*execNode, uses map[string]int, hidden map[string]bool) []*execNode {
	out := make([]*execNode, 0, len(nodes))
	skip := map[int]bool{}
	for i, n := range nodes {
		if skip[i] {
			continue
		}
		fused, idx, ok := e.geluAt(nodes, i, uses)
		if !ok {
			out = append(out, n)
			continue
		}
		hidden[n.outputs[0]] = true
		for _, j := range idx[:3] {
			hidden[nodes[j].outputs[0]] = true
		}
		for _, j := range idx {
			skip[j] = true
		}
		out = append(out, fused)
	}
	return out
}
