package goexec

import (
	"fmt"
	"sort"
	"strings"

	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
)

// kernelFunc runs one node. in holds nil for absent optional inputs. It must
// not modify its inputs and returns fresh (or input-aliasing, never mutated)
// tensors.
type kernelFunc func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error)

// opSpec describes one operator: the opsets it is supported at, the
// attributes it understands, its arity and how to build its kernel.
type opSpec struct {
	minOpset      int64
	attrs         []string
	minIn, maxIn  int
	minOut, maxOt int
	build         func(b *buildCtx) (kernelFunc, error)
}

// buildCtx is what a builder sees of the node being prepared.
type buildCtx struct {
	node   *onnxpb.NodeProto
	opset  int64
	attrs  attrs
	consts map[string]*tensor.Tensor
	// constOut, when a builder sets it, is the node's (single) output value
	// computed at Open; the node is then not executed.
	constOut *tensor.Tensor
}

func (b *buildCtx) numIn() int {
	n := len(b.node.GetInput())
	for n > 0 && b.node.GetInput()[n-1] == "" {
		n--
	}
	return n
}

func (b *buildCtx) numOut() int {
	n := len(b.node.GetOutput())
	for n > 0 && b.node.GetOutput()[n-1] == "" {
		n--
	}
	return n
}

// hasIn reports whether optional input i is given.
func (b *buildCtx) hasIn(i int) bool {
	return i < len(b.node.GetInput()) && b.node.GetInput()[i] != ""
}

// constIn returns input i when it is an initializer or constant.
func (b *buildCtx) constIn(i int) (*tensor.Tensor, bool) {
	if !b.hasIn(i) {
		return nil, false
	}
	t, ok := b.consts[b.node.GetInput()[i]]
	return t, ok
}

func (b *buildCtx) checkAttrs(s *opSpec) error {
	var unknown []string
	for name := range b.attrs {
		ok := false
		for _, a := range s.attrs {
			if a == name {
				ok = true
				break
			}
		}
		if !ok {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("unsupported attribute(s) %s", strings.Join(unknown, ", "))
	}
	return nil
}

func (b *buildCtx) checkArity(s *opSpec) error {
	n := b.numIn()
	if n < s.minIn || n > s.maxIn {
		if s.minIn == s.maxIn {
			return fmt.Errorf("takes %d inputs, got %d", s.minIn, n)
		}
		return fmt.Errorf("takes %d to %d inputs, got %d", s.minIn, s.maxIn, n)
	}
	for i := 0; i < s.minIn; i++ {
		if !b.hasIn(i) {
			return fmt.Errorf("required input %d is empty", i)
		}
	}
	m := b.numOut()
	if m < s.minOut || m > s.maxOt {
		if m > s.maxOt {
			return fmt.Errorf("has %d outputs; this engine computes at most %d for this operator", m, s.maxOt)
		}
		return fmt.Errorf("has %d outputs, needs at least %d", m, s.minOut)
	}
	return nil
}

// WTConvDomain is the domain of the fused WTConv operator.
const WTConvDomain = "ai.wtonnx"

// SupportedOps lists the operators this engine runs, as "Op" for the default
// domain and "domain.Op" otherwise, sorted.
func SupportedOps() []string {
	var out []string
	for _, name := range defaultOpNames() {
		out = append(out, name)
	}
	out = append(out, WTConvDomain+".WTConv")
	sort.Strings(out)
	return out
}

func defaultOpNames() []string {
	return []string{
		"Abs", "Add", "AveragePool", "BatchNormalization", "Cast", "Ceil", "Clip", "Concat",
		"Constant", "ConstantOfShape", "Conv", "ConvTranspose", "Div", "Dropout", "Erf", "Exp",
		"Expand", "Flatten", "Floor", "Gather", "Gelu", "Gemm", "GlobalAveragePool", "GlobalMaxPool",
		"HardSigmoid", "HardSwish", "Identity", "LayerNormalization", "LeakyRelu", "Log",
		"MatMul", "Max", "MaxPool", "Min", "Mod", "Mul", "Neg", "Pad", "Pow", "PRelu", "Reciprocal",
		"ReduceMean", "Relu", "Reshape", "Shape", "Sigmoid", "Slice", "Softmax", "Split", "Sqrt",
		"Squeeze", "Sub", "Sum", "Tanh", "Transpose", "Unsqueeze",
	}
}

// lookupOp finds the operator and checks that opset is supported.
func lookupOp(domain, op string, opset int64) (*opSpec, error) {
	var s *opSpec
	switch domain {
	case "":
		s = defaultOp(op)
	case WTConvDomain:
		if op == "WTConv" {
			s = wtconvSpec()
			if opset != 1 {
				return nil, fmt.Errorf("%s.WTConv version %d is not supported (only version 1)", domain, opset)
			}
		}
	}
	if s == nil {
		if domain == "" {
			return nil, fmt.Errorf("operator %q is not supported by the Go engine", op)
		}
		return nil, fmt.Errorf("operator %q of domain %q is not supported by the Go engine", op, domain)
	}
	if opset < s.minOpset {
		return nil, fmt.Errorf("operator %q at opset %d is not supported (supported from opset %d)", op, opset, s.minOpset)
	}
	return s, nil
}

func spec(minOpset int64, minIn, maxIn int, attrs []string, build func(*buildCtx) (kernelFunc, error)) *opSpec {
	return &opSpec{minOpset: minOpset, attrs: attrs, minIn: minIn, maxIn: maxIn, minOut: 1, maxOt: 1, build: build}
}

func defaultOp(op string) *opSpec {
	switch op {
	case "Add", "Sub", "Mul", "Div":
		return spec(6, 2, 2, []string{"broadcast", "axis"}, buildBinary(op))
	case "Pow":
		return spec(1, 2, 2, []string{"broadcast", "axis"}, buildBinary(op))
	case "Mod":
		return spec(10, 2, 2, []string{"fmod"}, buildMod)
	case "PRelu":
		return spec(6, 2, 2, nil, buildBinary(op))
	case "Max", "Min", "Sum":
		return spec(6, 1, 1<<20, nil, buildVariadic(op))
	case "Relu", "Sigmoid", "Tanh", "Erf", "Sqrt", "Exp", "Log", "Neg", "Abs", "Reciprocal", "Floor", "Ceil":
		return spec(6, 1, 1, nil, buildUnary(op))
	case "HardSigmoid":
		return spec(6, 1, 1, []string{"alpha", "beta"}, buildUnary(op))
	case "HardSwish":
		return spec(14, 1, 1, nil, buildUnary(op))
	case "LeakyRelu":
		return spec(6, 1, 1, []string{"alpha"}, buildUnary(op))
	case "Gelu":
		return spec(20, 1, 1, []string{"approximate"}, buildUnary(op))
	case "Clip":
		return spec(6, 1, 3, []string{"min", "max"}, buildClip)
	case "Identity":
		return spec(1, 1, 1, nil, buildIdentity)
	case "Dropout":
		s := spec(7, 1, 3, []string{"ratio", "seed"}, buildDropout)
		s.maxOt = 1
		return s
	case "Constant":
		return spec(1, 0, 0, []string{"value", "value_float", "value_floats", "value_int", "value_ints"}, buildConstant)
	case "ConstantOfShape":
		return spec(9, 1, 1, []string{"value"}, buildConstantOfShape)
	case "Shape":
		return spec(1, 1, 1, []string{"start", "end"}, buildShape)
	case "Reshape":
		return spec(5, 2, 2, []string{"allowzero"}, buildReshape)
	case "Flatten":
		return spec(1, 1, 1, []string{"axis"}, buildFlatten)
	case "Squeeze":
		return spec(1, 1, 2, []string{"axes"}, buildSqueeze)
	case "Unsqueeze":
		return spec(1, 1, 2, []string{"axes"}, buildUnsqueeze)
	case "Transpose":
		return spec(1, 1, 1, []string{"perm"}, buildTranspose)
	case "Concat":
		return spec(4, 1, 1<<20, []string{"axis"}, buildConcat)
	case "Slice":
		return spec(1, 1, 5, []string{"starts", "ends", "axes"}, buildSlice)
	case "Split":
		s := spec(2, 1, 2, []string{"axis", "split", "num_outputs"}, buildSplit)
		s.maxOt = 1 << 20
		return s
	case "Gather":
		return spec(1, 2, 2, []string{"axis"}, buildGather)
	case "Expand":
		return spec(8, 2, 2, nil, buildExpand)
	case "Cast":
		return spec(6, 1, 1, []string{"to", "saturate"}, buildCast)
	case "Pad":
		return spec(2, 1, 4, []string{"mode", "pads", "value"}, buildPad)
	case "Conv":
		return spec(1, 2, 3, []string{"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"}, buildConv)
	case "ConvTranspose":
		return spec(1, 2, 3, []string{"auto_pad", "dilations", "group", "kernel_shape", "output_padding", "output_shape", "pads", "strides"}, buildConvTranspose)
	case "MaxPool":
		return spec(1, 1, 1, []string{"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"}, buildPool("MaxPool"))
	case "AveragePool":
		return spec(1, 1, 1, []string{"auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads", "strides"}, buildPool("AveragePool"))
	case "GlobalAveragePool", "GlobalMaxPool":
		return spec(1, 1, 1, nil, buildGlobalPool(op))
	case "BatchNormalization":
		return spec(6, 5, 5, []string{"epsilon", "momentum", "is_test", "spatial", "training_mode"}, buildBatchNorm)
	case "LayerNormalization":
		s := spec(17, 2, 3, []string{"axis", "epsilon", "stash_type"}, buildLayerNorm)
		s.maxOt = 3
		return s
	case "Softmax":
		return spec(1, 1, 1, []string{"axis"}, buildSoftmax)
	case "ReduceMean":
		return spec(1, 1, 2, []string{"axes", "keepdims", "noop_with_empty_axes"}, buildReduceMean)
	case "MatMul":
		return spec(1, 2, 2, nil, buildMatMul)
	case "Gemm":
		return spec(6, 2, 3, []string{"alpha", "beta", "transA", "transB", "broadcast"}, buildGemm)
	}
	return nil
}
