package goexec

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/opset"
)

// flatNode is a graph node after function inlining, with the operator-set
// versions that apply to it (a function body may import its own).
type flatNode struct {
	proto  *onnxpb.NodeProto
	opsets map[string]int64
	// via names the function calls this node was inlined from, for errors.
	via string
}

func nodeLabel(n *onnxpb.NodeProto) string {
	name := n.GetName()
	if name == "" && len(n.GetOutput()) > 0 {
		name = "-> " + n.GetOutput()[0]
	}
	op := n.GetOpType()
	if d := n.GetDomain(); d != "" && d != "ai.onnx" {
		op = d + "." + op
	}
	return fmt.Sprintf("node %q (%s)", name, op)
}

func (f *flatNode) label() string {
	l := nodeLabel(f.proto)
	if f.via != "" {
		l += " inlined from " + f.via
	}
	return l
}

// normDomain maps the two spellings of the default domain to "".
func normDomain(d string) string { return opset.NormDomain(d) }

type funcKey struct{ domain, name string }

// maxInlineDepth bounds nested function expansion (and catches recursion).
const maxInlineDepth = 32

// inliner expands calls to model-local functions.
type inliner struct {
	funcs   map[funcKey]*onnxpb.FunctionProto
	counter int
}

func (in *inliner) expand(nodes []*onnxpb.NodeProto, opsets map[string]int64, via string, depth int, out []flatNode) ([]flatNode, error) {
	for _, n := range nodes {
		f, ok := in.funcs[funcKey{normDomain(n.GetDomain()), n.GetOpType()}]
		if !ok {
			out = append(out, flatNode{proto: n, opsets: opsets, via: via})
			continue
		}
		if depth >= maxInlineDepth {
			return nil, fmt.Errorf("%s: functions nested deeper than %d (recursive function %q?)", nodeLabel(n), maxInlineDepth, f.GetName())
		}
		body, fopsets, err := in.instantiate(n, f, opsets)
		if err != nil {
			return nil, err
		}
		v := nodeLabel(n)
		if via != "" {
			v = via + " > " + v
		}
		out, err = in.expand(body, fopsets, v, depth+1, out)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// instantiate returns the body of f with the call's inputs, outputs and
// attributes substituted and internal names made unique.
func (in *inliner) instantiate(call *onnxpb.NodeProto, f *onnxpb.FunctionProto, opsets map[string]int64) ([]*onnxpb.NodeProto, map[string]int64, error) {
	in.counter++
	prefix := fmt.Sprintf("%s/%s#%d/", f.GetName(), call.GetName(), in.counter)
	if len(call.GetInput()) > len(f.GetInput()) {
		return nil, nil, fmt.Errorf("%s: %d inputs given, function %q takes %d", nodeLabel(call), len(call.GetInput()), f.GetName(), len(f.GetInput()))
	}
	if len(call.GetOutput()) > len(f.GetOutput()) {
		return nil, nil, fmt.Errorf("%s: %d outputs given, function %q has %d", nodeLabel(call), len(call.GetOutput()), f.GetName(), len(f.GetOutput()))
	}
	rename := map[string]string{}
	for i, name := range f.GetInput() {
		actual := ""
		if i < len(call.GetInput()) {
			actual = call.GetInput()[i]
		}
		rename[name] = actual
	}
	for i, name := range f.GetOutput() {
		actual := ""
		if i < len(call.GetOutput()) {
			actual = call.GetOutput()[i]
		}
		if actual == "" {
			actual = prefix + name
		}
		rename[name] = actual
	}
	callAttrs := newAttrs(call)
	defaults := map[string]*onnxpb.AttributeProto{}
	defs, err := functionAttrDefaults(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: function %q: %w", nodeLabel(call), f.GetName(), err)
	}
	for _, a := range defs {
		defaults[a.GetName()] = a
	}
	known := map[string]bool{}
	for _, a := range f.GetAttribute() {
		known[a] = true
	}
	for a := range defaults {
		known[a] = true
	}
	for name := range callAttrs {
		if !known[name] {
			return nil, nil, fmt.Errorf("%s: function %q has no attribute %q", nodeLabel(call), f.GetName(), name)
		}
	}
	mapName := func(s string) string {
		if s == "" {
			return ""
		}
		if r, ok := rename[s]; ok {
			return r
		}
		return prefix + s
	}
	fopsets := map[string]int64{}
	for k, v := range opsets {
		fopsets[k] = v
	}
	for _, o := range f.GetOpsetImport() {
		fopsets[normDomain(o.GetDomain())] = o.GetVersion()
	}
	body := make([]*onnxpb.NodeProto, 0, len(f.GetNode()))
	for _, bn := range f.GetNode() {
		nn := proto.Clone(bn).(*onnxpb.NodeProto)
		if nn.GetName() != "" {
			name := prefix + nn.GetName()
			nn.Name = &name
		}
		for i, s := range nn.Input {
			nn.Input[i] = mapName(s)
		}
		for i, s := range nn.Output {
			nn.Output[i] = mapName(s)
		}
		var resolved []*onnxpb.AttributeProto
		for _, a := range nn.GetAttribute() {
			ref := a.GetRefAttrName()
			if ref == "" {
				resolved = append(resolved, a)
				continue
			}
			src, ok := callAttrs[ref]
			if !ok {
				src, ok = defaults[ref]
			}
			if !ok {
				continue // attribute left unset: the operator's default applies
			}
			c := proto.Clone(src).(*onnxpb.AttributeProto)
			name := a.GetName()
			c.Name = &name
			c.RefAttrName = nil
			resolved = append(resolved, c)
		}
		nn.Attribute = resolved
		body = append(body, nn)
	}
	return body, fopsets, nil
}

// topoSort orders nodes so that each runs after the producers of its inputs.
// available holds names that exist before any node runs.
func topoSort(nodes []flatNode, available map[string]bool) ([]flatNode, error) {
	producer := map[string]int{}
	for i, n := range nodes {
		for _, o := range n.proto.GetOutput() {
			if o == "" {
				continue
			}
			if j, dup := producer[o]; dup {
				return nil, fmt.Errorf("tensor %q is produced twice, by %s and %s", o, nodes[j].label(), n.label())
			}
			if available[o] {
				return nil, fmt.Errorf("%s: output %q clashes with a graph input or initializer", n.label(), o)
			}
			producer[o] = i
		}
	}
	indeg := make([]int, len(nodes))
	users := make([][]int, len(nodes))
	for i, n := range nodes {
		for _, in := range n.proto.GetInput() {
			if in == "" || available[in] {
				continue
			}
			p, ok := producer[in]
			if !ok {
				return nil, fmt.Errorf("%s: input %q is not a graph input, an initializer or the output of any node", n.label(), in)
			}
			indeg[i]++
			users[p] = append(users[p], i)
		}
	}
	order := make([]flatNode, 0, len(nodes))
	var queue []int
	for i := range nodes {
		if indeg[i] == 0 {
			queue = append(queue, i)
		}
	}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		order = append(order, nodes[i])
		for _, u := range users[i] {
			indeg[u]--
			if indeg[u] == 0 {
				queue = append(queue, u)
			}
		}
	}
	if len(order) != len(nodes) {
		var stuck []string
		for i := range nodes {
			if indeg[i] > 0 {
				stuck = append(stuck, nodes[i].label())
				if len(stuck) == 3 {
					break
				}
			}
		}
		return nil, fmt.Errorf("graph has a cycle through %s", strings.Join(stuck, ", "))
	}
	return order, nil
}

// functionAttrDefaults reads FunctionProto.attribute_proto (field 11, IR 9:
// attributes with default values), which the generated IR 8 schema keeps
// as an unknown field.
func functionAttrDefaults(f *onnxpb.FunctionProto) ([]*onnxpb.AttributeProto, error) {
	var out []*onnxpb.AttributeProto
	b := f.ProtoReflect().GetUnknown()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, fmt.Errorf("malformed unknown fields: %w", protowire.ParseError(n))
		}
		b = b[n:]
		if num == 11 && typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return nil, fmt.Errorf("malformed attribute_proto: %w", protowire.ParseError(m))
			}
			a := &onnxpb.AttributeProto{}
			if err := proto.Unmarshal(v, a); err != nil {
				return nil, fmt.Errorf("attribute_proto: %w", err)
			}
			out = append(out, a)
			b = b[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return nil, fmt.Errorf("malformed unknown fields: %w", protowire.ParseError(m))
		}
		b = b[m:]
	}
	return out, nil
}
