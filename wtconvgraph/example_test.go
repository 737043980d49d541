package wtconvgraph_test

import (
	"fmt"
	"sort"

	"github.com/wtonnx/wtonnx/convert"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/testmodels"
	"github.com/wtonnx/wtonnx/wtconvgraph"
)

// Convert the ConvNeXt fixture, then find its WTConv layers again.
func ExampleFind() {
	fx, err := testmodels.Load("convnext")
	if err != nil {
		panic(err)
	}
	src, err := onnxmodel.Load(fx.ModelPath())
	if err != nil {
		panic(err)
	}
	m, _, err := convert.Convert(src, convert.Options{Levels: 3})
	if err != nil {
		panic(err)
	}
	layers, err := wtconvgraph.Find(m, nil)
	if err != nil {
		panic(err)
	}
	l := layers[0]
	fmt.Println(len(layers), l.Form, l.Layer.Channels, l.BaseKernel, l.Layer.Kernel, l.Layer.Levels, l.ReceptiveField())
	// Output: 5 ops 16 [7 7] 5 3 40
}

// Recognise the layers of a network exported from PyTorch and list their
// state_dict keys.
func ExampleRecognize() {
	m, err := onnxmodel.Load("../testmodels/exported/t04_network/model.onnx")
	if err != nil {
		panic(err)
	}
	r, err := wtconvgraph.Recognize(m, nil)
	if err != nil {
		panic(err)
	}
	for _, l := range r.Layers {
		fmt.Println(l.ModulePath(), l.Form, l.Layer.Channels, l.Layer.Kernel, l.Layer.Levels, l.Layer.Stride)
	}
	sd, err := l0StateDict(r.Layers[0])
	if err != nil {
		panic(err)
	}
	fmt.Println(sd)
	// Output:
	// stage1.0.dw pytorch 8 5 3 1
	// stage1.1.dw pytorch 8 3 3 1
	// down.1 pytorch 8 3 2 2
	// stage2.0.dw pytorch 16 5 2 1
	// [stage1.0.dw.base_conv.bias stage1.0.dw.base_conv.weight stage1.0.dw.base_scale.weight stage1.0.dw.iwt_filter stage1.0.dw.wavelet_convs.0.weight stage1.0.dw.wavelet_convs.1.weight stage1.0.dw.wavelet_convs.2.weight stage1.0.dw.wavelet_scale.0.weight stage1.0.dw.wavelet_scale.1.weight stage1.0.dw.wavelet_scale.2.weight stage1.0.dw.wt_filter]
}

func l0StateDict(l wtconvgraph.Layer) ([]string, error) {
	sd, err := l.StateDict(l.ModulePath())
	if err != nil {
		return nil, err
	}
	var keys []string
	for k := range sd {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, nil
}
