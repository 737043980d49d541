package convert

import (
	"fmt"
	"math"
	"strconv"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
)

// FunctionDomain holds the model-local functions of the function form.
const FunctionDomain = "ai.wtonnx.function"

// functionLayer emits the fused node's inputs and attributes, but calling a
// model-local ONNX function whose body is the standard-operator form, so
// viewers show one node per layer and runtimes that inline functions (ONNX
// Runtime does) need no custom-op library.
//
// A function body cannot change its structure with an attribute, and Conv's
// group must be static, so each layer signature (channels, kernel, levels,
// stride, bias) has its own function, named after it, e.g.
// WTConv_C96_K5_L3_S1; layers of equal signature share one.
func (b *builder) functionLayer(p *layerPlan) ([]*onnxpb.NodeProto, error) {
	if b.opset < 10 {
		return nil, fmt.Errorf("the function form crops with Slice on run-time shapes, which needs opset 10 (the model has %d); use --format ops", b.opset)
	}
	nodes, err := b.fusedLayer(p)
	if err != nil {
		return nil, err
	}
	n := nodes[0]
	C, L, s := p.layer.Channels, p.layer.Levels, p.layer.Stride
	K := kernelOfFused(b, n)
	bias := n.GetInput()[2] != ""
	name := fmt.Sprintf("WTConv_C%d_K%d_L%d_S%d", C, K, L, s)
	if !bias {
		name += "_nobias"
	}
	if b.functions == nil {
		b.functions = map[string]bool{}
	}
	if !b.functions[name] {
		b.functions[name] = true
		b.m.Functions = append(b.m.Functions, wtconvFunction(name, C, K, L, s, bias, b.opset, b.haar.AnalysisFilters()))
	}
	n.OpType, n.Domain = ptr(name), ptr(FunctionDomain)
	if !bias {
		n.Input = append(n.Input[:2], n.Input[3:]...)
	}
	return nodes, nil
}

// kernelOfFused reads K from the fused node's base_weight initializer.
func kernelOfFused(b *builder, n *onnxpb.NodeProto) int {
	for _, t := range b.g.GetInitializer() {
		if t.GetName() == n.GetInput()[1] {
			return int(t.GetDims()[3])
		}
	}
	return 0
}

// fnBody accumulates the nodes of a function body; constants become
// Constant nodes, since functions have no initializers.
type fnBody struct {
	nodes []*onnxpb.NodeProto
	n     int
}

func (f *fnBody) op(op string, inputs []string, attrs ...*onnxpb.AttributeProto) string {
	f.n++
	out := op + "_" + strconv.Itoa(f.n)
	f.nodes = append(f.nodes, &onnxpb.NodeProto{OpType: ptr(op), Input: inputs, Output: []string{out}, Attribute: attrs})
	return out
}

func (f *fnBody) floats(dims []int64, v []float32) string {
	return f.op("Constant", nil, tensorAttr("value", onnxmodel.NewFloat32Tensor("", dims, v)))
}

func (f *fnBody) ints(dims []int64, v ...int64) string {
	return f.op("Constant", nil, tensorAttr("value", onnxmodel.NewInt64Tensor("", dims, v)))
}

func tensorAttr(name string, t *onnxpb.TensorProto) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: ptr(name), Type: ptr(onnxpb.AttributeProto_TENSOR), T: t}
}

// wtconvFunction builds the body: the standard-operator form with the
// per-level kernels and scales taken from the packed inputs.
func wtconvFunction(name string, C, K, L, s int, bias bool, opset int64, haarFilters []float32) *onnxpb.FunctionProto {
	f := &fnBody{}
	c, c4 := int64(C), int64(4*C)
	haarData := make([]float32, 0, 16*C)
	llData := make([]float32, 0, 4*C)
	llIdx := make([]int64, C)
	for i := 0; i < C; i++ {
		haarData = append(haarData, haarFilters...)
		llData = append(llData, haarFilters[:4]...)
		llIdx[i] = int64(4 * i)
	}
	haar := f.floats([]int64{c4, 1, 2, 2}, haarData)
	ll := f.floats([]int64{c, 1, 2, 2}, llData)
	llIndex := f.ints([]int64{c}, llIdx...)
	shape4C := f.ints([]int64{4}, 1, c4, 1, 1)
	pads := []int64{int64((K - 1) / 2), int64((K - 1) / 2), int64(K - 1 - (K-1)/2), int64(K - 1 - (K-1)/2)}
	zeros2, i2, i4, axes23 := f.ints([]int64{2}, 0, 0), f.ints([]int64{1}, 2), f.ints([]int64{1}, 4), f.ints([]int64{2}, 2, 3)

	inputs := []string{"X", "base_weight"}
	if bias {
		inputs = append(inputs, "base_bias")
	}
	inputs = append(inputs, "base_scale", "wavelet_weight", "wavelet_scale")

	levelIn := []string{"X"}
	ys := make([]string, L+1)
	for i := 1; i <= L; i++ {
		idx := f.ints(nil, int64(i-1))
		w := f.op("Gather", []string{"wavelet_weight", idx}, intAttr("axis", 0))
		sc := f.op("Reshape", []string{f.op("Gather", []string{"wavelet_scale", idx}, intAttr("axis", 0)), shape4C})
		t := f.op("Conv", []string{levelIn[i-1], haar}, intsAttr("kernel_shape", 2, 2), intsAttr("strides", 2, 2),
			intsAttr("pads", 0, 0, 1, 1), intAttr("group", c))
		cv := f.op("Conv", []string{t, w}, intsAttr("kernel_shape", int64(K), int64(K)), intsAttr("pads", pads...), intAttr("group", c4))
		ys[i] = f.op("Mul", []string{cv, sc})
		if i < L {
			levelIn = append(levelIn, f.op("Gather", []string{t, llIndex}, intAttr("axis", 1)))
		}
	}
	z := ""
	for i := L; i >= 1; i-- {
		tAttrs := []*onnxpb.AttributeProto{intsAttr("kernel_shape", 2, 2), intsAttr("strides", 2, 2), intAttr("group", c)}
		sy := f.op("ConvTranspose", []string{ys[i], haar}, tAttrs...)
		if z != "" {
			sy = f.op("Add", []string{sy, f.op("ConvTranspose", []string{z, ll}, tAttrs...)})
		}
		hw := f.op("Slice", []string{f.op("Shape", []string{levelIn[i-1]}), i2, i4})
		z = f.op("Slice", []string{sy, zeros2, hw, axes23})
	}
	baseIn := []string{"X", "base_weight"}
	if bias {
		baseIn = append(baseIn, "base_bias")
	}
	out := f.op("Conv", baseIn, intsAttr("kernel_shape", int64(K), int64(K)), intsAttr("pads", pads...),
		intsAttr("strides", int64(s), int64(s)), intAttr("group", c))
	out = f.op("Mul", []string{out, f.op("Reshape", []string{"base_scale", f.ints([]int64{4}, 1, c, 1, 1)})})
	if z != "" {
		if s > 1 {
			big := int64(math.MaxInt64)
			z = f.op("Slice", []string{z, zeros2, f.ints([]int64{2}, big, big), axes23, f.ints([]int64{2}, int64(s), int64(s))})
		}
		out = f.op("Add", []string{out, z})
	}
	f.nodes[len(f.nodes)-1].Output = []string{"Y"}
	return &onnxpb.FunctionProto{
		Name: ptr(name), Domain: ptr(FunctionDomain),
		Input: inputs, Output: []string{"Y"},
		Attribute:   []string{"levels", "stride", "wavelet"},
		Node:        f.nodes,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: ptr(""), Version: ptr(opset)}},
		DocString:   ptr(fmt.Sprintf("WTConv layer (wavelet convolution, ECCV 2024): %d channels, %dx%d kernels, %d levels, stride %d, Haar wavelet; body in standard ONNX operators. Generated by wtonnx.", C, K, K, L, s)),
	}
}
