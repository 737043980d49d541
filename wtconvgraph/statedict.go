package wtconvgraph

import (
	"fmt"
	"strings"

	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/wtconv"
)

// ModulePath is the layer's module path in the authors' PyTorch model, the
// prefix of its state_dict keys (without the trailing dot):
//
//   - where PyTorch kept the initializer names, from the base conv's weight
//     ("features.1.0.block.0.base_conv.weight" -> "features.1.0.block.0");
//   - for a layer convert made from a conv whose weight is called
//     "<path>.weight", that path: what convert --init import reads by default;
//   - else from the exporter's node path ("/features/features.1/conv/base_conv/Conv"
//     or, for convert's forms, the converted conv "/features/features.1/conv/Conv"
//     -> "features.1.conv");
//   - else the layer's name with "/" turned into ".".
func (l *Layer) ModulePath() string {
	w := l.TensorNames["base_conv.weight"]
	if p, ok := strings.CutSuffix(w, ".base_conv.weight"); ok && p != "" {
		return p
	}
	if p, ok := strings.CutSuffix(w, ".weight"); ok && p != "" && !strings.Contains(p, "/") {
		return p
	}
	if l.baseNode != nil {
		if p := ModulePath(l.baseNode.GetName()); p != "" {
			return p
		}
	}
	if strings.HasPrefix(l.Name, "/") {
		parts := strings.Split(strings.TrimPrefix(l.Name, "/"), "/")
		if len(parts) > 1 {
			if p := ModulePath("/" + strings.Join(parts[:len(parts)-1], "/") + "/base_conv/x"); p != "" {
				return p
			}
		}
	}
	return strings.Trim(strings.ReplaceAll(l.Name, "/", "."), ".")
}

// StateDict returns the layer's tensors under the authors' WTConv2d
// state_dict keys and shapes, prefixed with prefix + ".": base_conv.weight
// (C x 1 x kh x kw), base_conv.bias (C, when the layer has one),
// base_scale.weight (1 x C x 1 x 1), wavelet_convs.<i>.weight
// (4C x 1 x k x k), wavelet_scale.<i>.weight (1 x 4C x 1 x 1) and the fixed
// wt_filter and iwt_filter (4C x 1 x n x n), and stride_filter (C x 1 x 1 x 1
// ones) where the layer subsamples with it, as older versions of the module do.
func (l *Layer) StateDict(prefix string) (map[string]*tensor.Tensor, error) {
	C, k := l.Layer.Channels, l.Layer.Kernel
	kh, kw := l.BaseKernel[0], l.BaseKernel[1]
	if l.Form == FormFused || l.Form == FormFunction {
		kh, kw = k, k
	}
	wav, err := wtconv.WaveletByName(l.Layer.WaveletName())
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", l.Name, err)
	}
	n, _ := wav.FilterSize()
	p := prefix + "."
	wt := l.Weights
	out := map[string]*tensor.Tensor{
		p + "base_conv.weight":  tensor.NewFloat32([]int{C, 1, kh, kw}, clone(wt.Base)),
		p + "base_scale.weight": tensor.NewFloat32([]int{1, C, 1, 1}, clone(wt.BaseScale)),
		p + "wt_filter":         tensor.NewFloat32([]int{4 * C, 1, n, n}, wav.AnalysisWeight(C)),
		p + "iwt_filter":        tensor.NewFloat32([]int{4 * C, 1, n, n}, wav.SynthesisWeight(C)),
	}
	if l.TensorNames["stride_filter"] != "" {
		out[p+"stride_filter"] = tensor.NewFloat32([]int{C, 1, 1, 1}, fill(C, 1))
	}
	if wt.Bias != nil {
		out[p+"base_conv.bias"] = tensor.NewFloat32([]int{C}, clone(wt.Bias))
	}
	for i := range wt.Wavelet {
		out[fmt.Sprintf("%swavelet_convs.%d.weight", p, i)] = tensor.NewFloat32([]int{4 * C, 1, k, k}, clone(wt.Wavelet[i]))
		out[fmt.Sprintf("%swavelet_scale.%d.weight", p, i)] = tensor.NewFloat32([]int{1, 4 * C, 1, 1}, clone(wt.WaveletScale[i]))
	}
	for name, t := range out {
		if err := t.Validate(); err != nil {
			return nil, fmt.Errorf("layer %s: %s: %w", l.Name, name, err)
		}
	}
	return out, nil
}

// StateDict gathers every layer's tensors under its module path; two layers
// with one path are an error naming both.
func StateDict(layers []Layer) (map[string]*tensor.Tensor, error) {
	out := map[string]*tensor.Tensor{}
	owner := map[string]string{}
	for i := range layers {
		l := &layers[i]
		prefix := l.ModulePath()
		if prev, dup := owner[prefix]; dup {
			return nil, fmt.Errorf("layers %s and %s both have the module path %q", prev, l.Name, prefix)
		}
		owner[prefix] = l.Name
		sd, err := l.StateDict(prefix)
		if err != nil {
			return nil, err
		}
		for k, v := range sd {
			out[k] = v
		}
	}
	return out, nil
}

func clone(v []float32) []float32 { return append([]float32(nil), v...) }
