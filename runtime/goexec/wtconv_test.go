package goexec

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/testmodels/reference"
	"github.com/wtonnx/wtonnx/wtconv"
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
			// The db2 variant: the same weights with db2 filters, against
			// the float64 reference (which matches the authors' db2 export).
			l := rc.Layer()
			l.Wavelet = "db2"
			wt, err := rc.Weights()
			if err != nil {
				t.Fatal(err)
			}
			ref, _, _, err := wtconv.Forward(l, wt, x.F32, rc.N, rc.H, rc.W)
			if err != nil {
				t.Fatal(err)
			}
			e2, err := Open(wtconvModel(rc.L, rc.S, "db2", caseInits(t, rc)), Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			got2 := run1(t, e2, map[string]*tensor.Tensor{"x": x})["y"]
			d2, m2 := maxAbsDiff(got2.F32, ref), tensor.NewFloat32(got2.Shape, ref).MaxAbs()
			if d2 > 1e-5*m2 {
				t.Errorf("db2: max |err| %g exceeds 1e-5 * max|y| = %g", d2, 1e-5*m2)
			}
			if maxAbsDiff(got2.F32, got.F32) < 1e-3*m {
				t.Errorf("db2 and db1 give the same output: the wavelet attribute is ignored")
			}
		})
	}
}

// TestWTConvMatchesForward runs the fused kernel against wtconv.Forward on
// what the reference cases lack: base and wavelet kernels of different
// sizes, db2 and db3, strides, and levels whose input is below 2 x 2
// (computed, as the authors' module does).
func TestWTConvMatchesForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	rnd := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(rng.NormFloat64())
		}
		return s
	}
	for _, tc := range []struct {
		wav               string
		kb, k, L, s, h, w int
	}{
		{"db1", 7, 5, 3, 1, 13, 11}, {"db1", 3, 5, 2, 2, 9, 12}, {"db1", 3, 3, 4, 1, 3, 2}, {"db1", 5, 3, 3, 1, 1, 1},
		{"db2", 7, 5, 3, 1, 13, 11}, {"db2", 5, 5, 2, 2, 16, 16}, {"db2", 3, 3, 4, 1, 3, 2}, {"db2", 3, 3, 2, 1, 1, 1},
		{"db3", 5, 3, 2, 1, 9, 9}, {"db3", 4, 4, 3, 3, 10, 7},
	} {
		name := fmt.Sprintf("%s_kb%d_k%d_L%d_s%d_%dx%d", tc.wav, tc.kb, tc.k, tc.L, tc.s, tc.h, tc.w)
		t.Run(name, func(t *testing.T) {
			const C, N = 3, 2
			l := wtconv.Layer{Channels: C, BaseKernel: tc.kb, Kernel: tc.k, Levels: tc.L, Stride: tc.s, Bias: true, Wavelet: tc.wav}
			wt := &wtconv.Weights{Base: rnd(C * tc.kb * tc.kb), Bias: rnd(C), BaseScale: rnd(C)}
			var ww, ws []float32
			for i := 0; i < tc.L; i++ {
				wt.Wavelet = append(wt.Wavelet, rnd(4*C*tc.k*tc.k))
				wt.WaveletScale = append(wt.WaveletScale, rnd(4*C))
				ww = append(ww, wt.Wavelet[i]...)
				ws = append(ws, wt.WaveletScale[i]...)
			}
			x := tensor.NewFloat32([]int{N, C, tc.h, tc.w}, rnd(N*C*tc.h*tc.w))
			ref, oh, ow, err := wtconv.Forward(l, wt, x.F32, N, tc.h, tc.w)
			if err != nil {
				t.Fatal(err)
			}
			inits := []*tensor.Tensor{tensor.NewFloat32([]int{C, 1, tc.kb, tc.kb}, wt.Base), tensor.NewFloat32([]int{C}, wt.Bias),
				tensor.NewFloat32([]int{C}, wt.BaseScale), tensor.NewFloat32([]int{tc.L, 4 * C, 1, tc.k, tc.k}, ww),
				tensor.NewFloat32([]int{tc.L, 4 * C}, ws)}
			e, err := Open(wtconvModel(tc.L, tc.s, tc.wav, inits), Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			got := run1(t, e, map[string]*tensor.Tensor{"x": x})["y"]
			if !tensor.SameShape(got.Shape, []int{N, C, oh, ow}) {
				t.Fatalf("shape %v, want %v", got.Shape, []int{N, C, oh, ow})
			}
			d, m := maxAbsDiff(got.F32, ref), tensor.NewFloat32(got.Shape, ref).MaxAbs()
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
	if _, err := Open(wtconvModel(L, 1, "sym2", good()), Options{}); err == nil || !strings.Contains(err.Error(), `unsupported wavelet "sym2"`) {
		t.Errorf("wavelet sym2: got %v", err)
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
		{"wavelet k", L, func(in []*tensor.Tensor) { in[3] = tensor.NewFloat32([]int{L, 4 * c, 1, k, k + 2}, nil) }, x, "wavelet_weight"},
		{"levels vs dim 0", L + 1, func(in []*tensor.Tensor) {}, x, "wavelet_weight"},
		{"scale", L, func(in []*tensor.Tensor) { in[4] = tensor.NewFloat32([]int{L, c}, nil) }, x, "wavelet_scale"},
		{"base scale", L, func(in []*tensor.Tensor) { in[2] = tensor.NewFloat32([]int{1, c, 1, 1}, nil) }, x, "base_scale"},
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
