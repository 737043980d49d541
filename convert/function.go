package convert

import (
	"fmt"
	"strconv"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/wtconv"
)

// FunctionDomain holds the model-local functions of the function form.
const FunctionDomain = "ai.wtonnx.function"

// FunctionName is the function-form op type of a layer signature:
// WTConv_<wavelet>_C<C>_B<kb>_K<k>_L<L>_S<s>, plus _nobias when the base
// conv has no bias, e.g. WTConv_db1_C96_B7_K5_L3_S1.
func FunctionName(l wtconv.Layer, kb int, bias bool) string {
	name := fmt.Sprintf("WTConv_%s_C%d_B%d_K%d_L%d_S%d", l.WaveletName(), l.Channels, kb, l.Kernel, l.Levels, l.Stride)
	if !bias {
		name += "_nobias"
	}
	return name
}

// functionLayer emits the fused node's inputs and attributes, but calling a
// model-local ONNX function whose body is the standard-operator form (the
// same emitLayer the ops form uses), so viewers show one node per layer and
// runtimes that inline functions (ONNX Runtime does) need no custom-op
// library.
//
// A function body cannot change its structure with an attribute, and Conv's
// group must be static, so each layer signature (wavelet, channels, base and
// wavelet kernels, levels, stride, bias) has its own function, named by
// FunctionName; layers of equal signature share one.
func (b *builder) functionLayer(p *layerPlan) ([]*onnxpb.NodeProto, error) {
	if b.opset < 10 {
		return nil, fmt.Errorf("the function form crops with Slice on run-time shapes, which needs opset 10 (the model has %d); use --format ops", b.opset)
	}
	nodes, err := b.fusedLayer(p)
	if err != nil {
		return nil, err
	}
	n := nodes[0]
	f, err := b.fusedInputsOf(p)
	if err != nil {
		return nil, err
	}
	bias := f.bias != nil
	name := FunctionName(p.layer, f.kb, bias)
	if !b.functions[name] {
		fn, err := wtconvFunction(name, p.layer, p.wavelet, f.kb, bias, b.opset)
		if err != nil {
			return nil, err
		}
		b.functions[name] = true
		b.m.Functions = append(b.m.Functions, fn)
	}
	n.OpType, n.Domain = ptr(name), ptr(FunctionDomain)
	if !bias {
		n.Input = append(n.Input[:2], n.Input[3:]...)
	}
	return nodes, nil
}

// fnSink writes a function body: nodes unnamed, constants as Constant nodes
// (functions have no initializers), one per key.
type fnSink struct {
	nodes  []*onnxpb.NodeProto
	n      int
	consts map[string]string
}

func (f *fnSink) op(op, _ string, inputs []string, attrs ...*onnxpb.AttributeProto) string {
	f.n++
	out := op + "_" + strconv.Itoa(f.n)
	f.nodes = append(f.nodes, &onnxpb.NodeProto{OpType: ptr(op), Input: inputs, Output: []string{out}, Attribute: attrs})
	return out
}

func (f *fnSink) constant(key string, t *onnxpb.TensorProto) string {
	if out, ok := f.consts[key]; ok {
		return out
	}
	out := f.op("Constant", "", nil, tensorAttr("value", t))
	f.consts[key] = out
	return out
}

func (f *fnSink) floats(key string, dims []int64, v []float32) string {
	return f.constant(key, onnxmodel.NewFloat32Tensor("", dims, v))
}

func (f *fnSink) ints(key string, dims []int64, v ...int64) string {
	return f.constant(key, onnxmodel.NewInt64Tensor("", dims, v))
}

func tensorAttr(name string, t *onnxpb.TensorProto) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: ptr(name), Type: ptr(onnxpb.AttributeProto_TENSOR), T: t}
}

// wtconvFunction builds the function: emitLayer with the per-level kernels
// and scales taken from the fused node's packed inputs.
func wtconvFunction(name string, l wtconv.Layer, wav wtconv.Wavelet, kb int, bias bool, opset int64) (*onnxpb.FunctionProto, error) {
	f := &fnSink{consts: map[string]string{}}
	C := int64(l.Channels)
	inputs := []string{"X", "base_weight"}
	if bias {
		inputs = append(inputs, "base_bias")
	}
	inputs = append(inputs, "base_scale", "wavelet_weight", "wavelet_scale")
	src := wtSources{
		levelWeight: func(i int) string {
			return f.op("Gather", "", []string{"wavelet_weight", f.ints("level_index_"+strconv.Itoa(i), nil, int64(i))}, intAttr("axis", 0))
		},
		levelScale: func(i int) string {
			sc := f.op("Gather", "", []string{"wavelet_scale", f.ints("level_index_"+strconv.Itoa(i), nil, int64(i))}, intAttr("axis", 0))
			return f.op("Reshape", "", []string{sc, f.ints("shape_1_4C_1_1", []int64{4}, 1, 4*C, 1, 1)})
		},
		base: func() string {
			in := []string{"X", "base_weight"}
			if bias {
				in = append(in, "base_bias")
			}
			return f.op("Conv", "", in, intsAttr("kernel_shape", int64(kb), int64(kb)), intsAttr("pads", samePads(kb)...),
				intsAttr("strides", int64(l.Stride), int64(l.Stride)), intAttr("group", C))
		},
		baseScale: func() string {
			return f.op("Reshape", "", []string{"base_scale", f.ints("shape_1_C_1_1", []int64{4}, 1, C, 1, 1)})
		},
	}
	fl := l
	fl.BaseKernel = kb
	if _, err := emitLayer(f, wtEmit{layer: fl, wav: wav, x: "X", opset: opset, src: src}); err != nil {
		return nil, err
	}
	f.nodes[len(f.nodes)-1].Output = []string{"Y"}
	return &onnxpb.FunctionProto{
		Name: ptr(name), Domain: ptr(FunctionDomain),
		Input: inputs, Output: []string{"Y"},
		Attribute:   []string{"levels", "stride", "wavelet"},
		Node:        f.nodes,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: ptr(""), Version: ptr(opset)}},
		DocString: ptr(fmt.Sprintf("WTConv layer (wavelet convolution, ECCV 2024): %d channels, %dx%d base kernel, %dx%d wavelet-domain kernels, %d levels, stride %d, wavelet %s; body in standard ONNX operators. Generated by wtonnx.",
			l.Channels, kb, kb, l.Kernel, l.Kernel, l.Levels, l.Stride, wav.Name)),
	}, nil
}
