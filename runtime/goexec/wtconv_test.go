package goexec

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/testmodels/reference"
)

func strp(s string) *string { return &s }

// officialCase returns the authors' reference case called name.
func officialCase(t *testing.T, name string) reference.Case {
	t.Helper()
	cases, err := reference.Official()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no official case %q", name)
	return reference.Case{}
}

// wtconvModel builds a one-node model x -> WTConv -> y with the given
// initializers (nil entries become absent optional inputs).
func wtconvModel(levels, stride int, wavelet string, inits []*tensor.Tensor) *onnxpb.ModelProto {
	names := []string{"base_weight", "base_bias", "base_scale", "wavelet_weight", "wavelet_scale"}
	node := &onnxpb.NodeProto{OpType: strp("WTConv"), Domain: strp(WTConvDomain), Name: strp("wt"),
		Input: []string{"x"}, Output: []string{"y"}}
	g := &onnxpb.GraphProto{Name: strp("g")}
	for i, t := range inits {
		if t == nil {
			node.Input = append(node.Input, "")
			continue
		}
		node.Input = append(node.Input, names[i])
		g.Initializer = append(g.Initializer, onnxmodel.FromTensor(names[i], t))
	}
	lv, st := int64(levels), int64(stride)
	node.Attribute = []*onnxpb.AttributeProto{
		{Name: strp("levels"), Type: onnxpb.AttributeProto_INT.Enum(), I: &lv},
		{Name: strp("stride"), Type: onnxpb.AttributeProto_INT.Enum(), I: &st},
	}
	if wavelet != "" {
		node.Attribute = append(node.Attribute, &onnxpb.AttributeProto{Name: strp("wavelet"), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(wavelet)})
	}
	g.Node = []*onnxpb.NodeProto{node}
	g.Input = []*onnxpb.ValueInfoProto{floatInput("x", -1, -1, -1, -1)}
	g.Output = []*onnxpb.ValueInfoProto{floatInput("y", -1, -1, -1, -1)}
	return &onnxpb.ModelProto{IrVersion: ptr(int64(8)), Graph: g, OpsetImport: []*onnxpb.OperatorSetIdProto{
		{Domain: strp(""), Version: ptr(int64(17))}, {Domain: strp(WTConvDomain), Version: ptr(int64(1))}}}
}

func ptr[T any](v T) *T { return &v }

// floatInput declares a float tensor; -1 dims are dynamic.
func floatInput(name string, dims ...int64) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for i, d := range dims {
		dim := &onnxpb.TensorShapeProto_Dimension{}
		if d >= 0 {
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}
		} else {
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: fmt.Sprintf("d%d", i)}
		}
		shape.Dim = append(shape.Dim, dim)
	}
	return &onnxpb.ValueInfoProto{Name: &name, Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
		TensorType: &onnxpb.TypeProto_Tensor{ElemType: ptr(int32(onnxpb.TensorProto_FLOAT)), Shape: shape}}}}
}

// caseInits reads a reference case's weights into the WTConv inputs
// (base_weight, base_bias, base_scale, wavelet_weight, wavelet_scale).
func caseInits(t *testing.T, rc reference.Case) []*tensor.Tensor {
	t.Helper()
	wt, err := rc.Weights()
	if err != nil {
		t.Fatal(err)
	}
	C, K, L := rc.C, rc.K, rc.L
	inits := make([]*tensor.Tensor, 5)
	inits[0] = tensor.NewFloat32([]int{C, 1, K, K}, wt.Base)
	if wt.Bias != nil {
		inits[1] = tensor.NewFloat32([]int{C}, wt.Bias)
	}
	inits[2] = tensor.NewFloat32([]int{C}, wt.BaseScale)
	if L > 0 {
		var ww, ws []float32
		for i := 0; i < L; i++ {
			ww = append(ww, wt.Wavelet[i]...)
			ws = append(ws, wt.WaveletScale[i]...)
		}
		inits[3] = tensor.NewFloat32([]int{L, 4 * C, 1, K, K}, ww)
		inits[4] = tensor.NewFloat32([]int{L, 4 * C}, ws)
	}
	return inits
}

// TestWTConvReference runs the fused kernel on the authors' reference cases
// and wtonnx's PyTorch-computed ones (even kernels, strides, no bias,
// batches, deep levels) and requires max |error| <= 1e-5 * max|y|.
func TestWTConvReference(t *testing.T) {
	cases, err := reference.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, rc := range cases {
		t.Run(rc.Name, func(t *testing.T) {
			x, err := rc.Input()
			if err != nil {
				t.Fatal(err)
			}
			want, err := rc.Output()
			if err != nil {
				t.Fatal(err)
			}
			e, err := Open(wtconvModel(rc.L, rc.S, "db1", caseInits(t, rc)), Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			got := run1(t, e, map[string]*tensor.Tensor{"x": x})["y"]
			if !tensor.SameShape(got.Shape, want.Shape) {
				t.Fatalf("shape %v, want %v", got.Shape, want.Shape)
			}
			d, m := maxAbsDiff(got.F32, want.F32), want.MaxAbs()
			t.Logf("max |err| %.3g, max |y| %.3g", d, m)
			if d > 1e-5*m {
				t.Errorf("max |err| %g exceeds 1e-5 * max|y| = %g", d, 1e-5*m)
			}
		})
	}
}

// TestWTConvErrors checks that bad attributes and shapes are reported
// clearly, naming the offending input or attribute.
func TestWTConvErrors(t *testing.T) {
	c, k, L := 3, 3, 2
	good := func() []*tensor.Tensor {
		return []*tensor.Tensor{
			tensor.NewFloat32([]int{c, 1, k, k}, nil), tensor.NewFloat32([]int{c}, nil), tensor.NewFloat32([]int{c}, nil),
			tensor.NewFloat32([]int{L, 4 * c, 1, k, k}, nil), tensor.NewFloat32([]int{L, 4 * c}, nil),
		}
	}
	x := tensor.NewFloat32([]int{1, c, 8, 8}, nil)
	if _, err := Open(wtconvModel(L, 1, "db2", good()), Options{}); err == nil || !strings.Contains(err.Error(), `"db2"`) {
		t.Errorf("wavelet db2: got %v", err)
	}
	if _, err := Open(wtconvModel(-1, 1, "", good()), Options{}); err == nil || !strings.Contains(err.Error(), "levels") {
		t.Errorf("levels -1: got %v", err)
	}
	if _, err := Open(wtconvModel(L, 0, "", good()), Options{}); err == nil || !strings.Contains(err.Error(), "stride") {
		t.Errorf("stride 0: got %v", err)
	}
	cases := []struct {
		name   string
		levels int
		mod    func([]*tensor.Tensor)
		x      *tensor.Tensor
		want   string
	}{
		{"channels", L, func(in []*tensor.Tensor) { in[0] = tensor.NewFloat32([]int{c + 1, 1, k, k}, nil) }, x, "base_weight"},
		{"wavelet k", L, func(in []*tensor.Tensor) { in[3] = tensor.NewFloat32([]int{L, 4 * c, 1, k + 2, k + 2}, nil) }, x, "wavelet_weight"},
		{"levels vs dim 0", L + 1, func(in []*tensor.Tensor) {}, x, "wavelet_weight"},
		{"scale", L, func(in []*tensor.Tensor) { in[4] = tensor.NewFloat32([]int{L, c}, nil) }, x, "wavelet_scale"},
		{"base scale", L, func(in []*tensor.Tensor) { in[2] = tensor.NewFloat32([]int{1, c, 1, 1}, nil) }, x, "base_scale"},
		{"too small", 4, func(in []*tensor.Tensor) {
			in[3] = tensor.NewFloat32([]int{4, 4 * c, 1, k, k}, nil)
			in[4] = tensor.NewFloat32([]int{4, 4 * c}, nil)
		}, tensor.NewFloat32([]int{1, c, 8, 8}, nil), "levels 4 need at least"},
		{"rank", L, func(in []*tensor.Tensor) {}, tensor.NewFloat32([]int{c, 8, 8}, nil), `input "x" has rank 3`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := good()
			tc.mod(in)
			e, err := Open(wtconvModel(tc.levels, 1, "", in), Options{})
			if err == nil {
				_, err = e.Run(context.Background(), map[string]*tensor.Tensor{"x": tc.x}, nil)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// TestWTConvStride checks that stride s equals the stride-1 output
// subsampled with [::s, ::s], on odd sizes, an even kernel and several
// levels, using weights of the official cases.
func TestWTConvStride(t *testing.T) {
	c := officialCase(t, "even_c6_k5_l2")
	inits := caseInits(t, c)
	x := tensor.NewFloat32([]int{2, 6, 13, 11}, nil)
	for i := range x.F32 {
		x.F32[i] = float32((i*7919)%113)/56 - 1
	}
	e1, err := Open(wtconvModel(c.L, 1, "", inits), Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	full := run1(t, e1, map[string]*tensor.Tensor{"x": x})["y"]
	for _, s := range []int{2, 3} {
		es, err := Open(wtconvModel(c.L, s, "", inits), Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		got := run1(t, es, map[string]*tensor.Tensor{"x": x})["y"]
		oh, ow := (13+s-1)/s, (11+s-1)/s
		if !tensor.SameShape(got.Shape, []int{2, 6, oh, ow}) {
			t.Fatalf("stride %d: shape %v", s, got.Shape)
		}
		for p := 0; p < 12; p++ {
			for y := 0; y < oh; y++ {
				for xx := 0; xx < ow; xx++ {
					g := got.F32[(p*oh+y)*ow+xx]
					w := full.F32[(p*13+y*s)*11+xx*s]
					if d := g - w; d > 1e-5 || d < -1e-5 {
						t.Fatalf("stride %d plane %d (%d,%d): %g, stride-1 subsampled %g", s, p, y, xx, g, w)
					}
				}
			}
		}
	}
}
