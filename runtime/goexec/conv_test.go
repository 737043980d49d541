package goexec

import (
	"fmt"
	"testing"

	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
)

// naiveConv is a direct 2-D convolution used as the reference.
func naiveConv(x *tensor.Tensor, w *tensor.Tensor, bias []float32, group, sh, sw, dh, dw, pt, pl, oh, ow int) *tensor.Tensor {
	n, c, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	m, cg, kh, kw := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	mg := m / group
	out := tensor.NewFloat32([]int{n, m, oh, ow}, nil)
	for b := 0; b < n; b++ {
		for oc := 0; oc < m; oc++ {
			g := oc / mg
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					var s float64
					if bias != nil {
						s = float64(bias[oc])
					}
					for ic := 0; ic < cg; ic++ {
						for ky := 0; ky < kh; ky++ {
							for kx := 0; kx < kw; kx++ {
								iy, ix := oy*sh-pt+ky*dh, ox*sw-pl+kx*dw
								if iy < 0 || iy >= h || ix < 0 || ix >= wd {
									continue
								}
								s += float64(x.F32[((b*c+g*cg+ic)*h+iy)*wd+ix]) * float64(w.F32[((oc*cg+ic)*kh+ky)*kw+kx])
							}
						}
					}
					out.F32[((b*m+oc)*oh+oy)*ow+ox] = float32(s)
				}
			}
		}
	}
	return out
}

func TestConvAgainstNaive(t *testing.T) {
	type cfg struct {
		n, c, h, w, m, k1, k2, group, s, d int
		pads                               []int64
		autoPad                            string
		bias                               bool
	}
	cases := []cfg{
		{1, 3, 9, 7, 5, 3, 3, 1, 1, 1, []int64{1, 1, 1, 1}, "", true},
		{2, 4, 8, 8, 6, 3, 2, 2, 2, 1, []int64{0, 1, 2, 0}, "", false},
		{1, 8, 10, 11, 8, 3, 3, 8, 1, 1, []int64{1, 1, 1, 1}, "", true},            // depthwise
		{1, 4, 10, 11, 8, 5, 5, 4, 2, 1, []int64{2, 2, 2, 2}, "", true},            // depthwise x2 multiplier, stride 2
		{1, 6, 12, 12, 6, 3, 3, 6, 1, 2, []int64{2, 2, 2, 2}, "", false},           // dilated depthwise
		{1, 5, 9, 9, 7, 3, 3, 1, 2, 2, nil, "SAME_UPPER", true},                    // dilated, strided
		{1, 5, 8, 9, 7, 4, 4, 1, 3, 1, nil, "SAME_LOWER", true},                    // even kernel
		{1, 5, 8, 9, 7, 3, 3, 1, 2, 1, nil, "VALID", true},                         // valid
		{2, 16, 7, 7, 24, 1, 1, 1, 1, 1, nil, "", true},                            // pointwise
		{1, 3, 30, 30, 40, 3, 3, 1, 1, 1, []int64{1, 1, 1, 1}, "", true},           // larger GEMM
		{1, 6, 9, 9, 6, 7, 7, 6, 1, 1, []int64{3, 3, 3, 3}, "", true},              // 7x7 depthwise
		{1, 6, 12, 12, 6, 3, 3, 6, 2, 1, []int64{0, 0, 1, 1}, "SAME_UPPER0", true}, // asymmetric stride-2 depthwise
		{1, 3, 13, 17, 3, 5, 3, 3, 2, 2, []int64{3, 1, 0, 4}, "", true},            // strided dilated depthwise, uneven pads
		{2, 4, 5, 3, 4, 3, 3, 4, 3, 1, []int64{4, 4, 4, 4}, "", true},              // depthwise, pads wider than the input
		{1, 2, 4, 3, 2, 3, 3, 2, 2, 1, []int64{5, 5, 3, 5}, "", true},              // stride-2 depthwise, odd pads wider than the input
		{1, 2, 29, 33, 2, 7, 7, 2, 1, 1, []int64{3, 3, 3, 3}, "", false},           // 7x7 depthwise, plane not a block multiple
		{1, 3, 9, 10, 6, 3, 3, 3, 3, 3, []int64{0, 2, 1, 0}, "", true},             // depthwise x2 multiplier, stride 3, dilation 3
	}
	for i, c := range cases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			x := tensor.NewFloat32([]int{c.n, c.c, c.h, c.w}, randSlice(c.n*c.c*c.h*c.w, uint32(i+1)))
			w := tensor.NewFloat32([]int{c.m, c.c / c.group, c.k1, c.k2}, randSlice(c.m*c.c/c.group*c.k1*c.k2, uint32(i+50)))
			in := []*tensor.Tensor{x, w}
			var bias []float32
			if c.bias {
				bias = randSlice(c.m, uint32(i+99))
				in = append(in, tensor.NewFloat32([]int{c.m}, bias))
			}
			attrs := []*onnxpb.AttributeProto{aInts("strides", int64(c.s), int64(c.s)), aInts("dilations", int64(c.d), int64(c.d)), aInt("group", int64(c.group))}
			// Reference geometry.
			ekh, ekw := (c.k1-1)*c.d+1, (c.k2-1)*c.d+1
			var pt, pl, oh, ow int
			switch c.autoPad {
			case "SAME_UPPER", "SAME_LOWER":
				attrs = append(attrs, aStr("auto_pad", c.autoPad))
				oh, ow = (c.h+c.s-1)/c.s, (c.w+c.s-1)/c.s
				th, tw := max(0, (oh-1)*c.s+ekh-c.h), max(0, (ow-1)*c.s+ekw-c.w)
				pt, pl = th/2, tw/2
				if c.autoPad == "SAME_LOWER" {
					pt, pl = th-th/2, tw-tw/2
				}
			case "VALID":
				attrs = append(attrs, aStr("auto_pad", "VALID"))
				oh, ow = (c.h-ekh)/c.s+1, (c.w-ekw)/c.s+1
			default:
				p := c.pads
				if p == nil {
					p = []int64{0, 0, 0, 0}
				}
				attrs = append(attrs, aInts("pads", p...))
				pt, pl = int(p[0]), int(p[1])
				oh, ow = (c.h+int(p[0]+p[2])-ekh)/c.s+1, (c.w+int(p[1]+p[3])-ekw)/c.s+1
			}
			want := naiveConv(x, w, bias, c.group, c.s, c.s, c.d, c.d, pt, pl, oh, ow)
			got := runOp(t, 11, "Conv", in, attrs...)
			if err := compare(got, want, 1e-4, 1e-5); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestConvHand checks a case small enough to verify by hand.
func TestConvHand(t *testing.T) {
	// 3x3 input, 2x2 all-ones kernel, bias 1: sums of 2x2 windows + 1.
	y := runOp(t, 13, "Conv", []*tensor.Tensor{seq(1, 1, 3, 3), f32([]int{1, 1, 2, 2}, 1, 1, 1, 1), f32([]int{1}, 1)})
	expectF32(t, y, []int{1, 1, 2, 2}, 9, 13, 21, 25)
	// 1-D convolution.
	expectF32(t, runOp(t, 13, "Conv", []*tensor.Tensor{seq(1, 1, 4), f32([]int{1, 1, 2}, 1, -1)}), []int{1, 1, 3}, -1, -1, -1)
}

// naiveConvTranspose scatters each input pixel through the kernel.
func naiveConvTranspose(x, w *tensor.Tensor, bias []float32, group, s, d, pt, pl, oh, ow int) *tensor.Tensor {
	n, c, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	mg, kh, kw := w.Shape[1], w.Shape[2], w.Shape[3]
	cg := c / group
	m := mg * group
	acc := make([]float64, n*m*oh*ow)
	for b := 0; b < n; b++ {
		for ic := 0; ic < c; ic++ {
			g := ic / cg
			for o := 0; o < mg; o++ {
				oc := g*mg + o
				for iy := 0; iy < h; iy++ {
					for ix := 0; ix < wd; ix++ {
						v := float64(x.F32[((b*c+ic)*h+iy)*wd+ix])
						for ky := 0; ky < kh; ky++ {
							for kx := 0; kx < kw; kx++ {
								oy, ox := iy*s-pt+ky*d, ix*s-pl+kx*d
								if oy < 0 || oy >= oh || ox < 0 || ox >= ow {
									continue
								}
								acc[((b*m+oc)*oh+oy)*ow+ox] += v * float64(w.F32[((ic*mg+o)*kh+ky)*kw+kx])
							}
						}
					}
				}
			}
		}
	}
	out := tensor.NewFloat32([]int{n, m, oh, ow}, nil)
	for i := range acc {
		if bias != nil {
			acc[i] += float64(bias[(i/(oh*ow))%m])
		}
		out.F32[i] = float32(acc[i])
	}
	return out
}

func TestConvTransposeAgainstNaive(t *testing.T) {
	type cfg struct{ n, c, h, w, mg, k, group, s, d, pad, outPad int }
	for i, c := range []cfg{
		{1, 3, 5, 4, 2, 3, 1, 2, 1, 1, 1},
		{2, 4, 3, 3, 3, 2, 2, 2, 1, 0, 0},
		{1, 2, 4, 5, 2, 3, 1, 3, 2, 2, 1},
		{1, 8, 4, 4, 1, 2, 8, 2, 1, 0, 0}, // Haar-synthesis-like depthwise
	} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			x := tensor.NewFloat32([]int{c.n, c.c, c.h, c.w}, randSlice(c.n*c.c*c.h*c.w, uint32(i+3)))
			w := tensor.NewFloat32([]int{c.c, c.mg, c.k, c.k}, randSlice(c.c*c.mg*c.k*c.k, uint32(i+7)))
			bias := randSlice(c.mg*c.group, 11)
			ek := (c.k-1)*c.d + 1
			oh := c.s*(c.h-1) + c.outPad + ek - 2*c.pad
			ow := c.s*(c.w-1) + c.outPad + ek - 2*c.pad
			p := int64(c.pad)
			got := runOp(t, 11, "ConvTranspose", []*tensor.Tensor{x, w, tensor.NewFloat32([]int{c.mg * c.group}, bias)},
				aInts("strides", int64(c.s), int64(c.s)), aInts("dilations", int64(c.d), int64(c.d)), aInt("group", int64(c.group)),
				aInts("pads", p, p, p, p), aInts("output_padding", int64(c.outPad), int64(c.outPad)))
			want := naiveConvTranspose(x, w, bias, c.group, c.s, c.d, c.pad, c.pad, oh, ow)
			if err := compare(got, want, 1e-4, 1e-5); err != nil {
				t.Fatal(err)
			}
			// output_shape gives the same result as the explicit pads.
			got2 := runOp(t, 11, "ConvTranspose", []*tensor.Tensor{x, w, tensor.NewFloat32([]int{c.mg * c.group}, bias)},
				aInts("strides", int64(c.s), int64(c.s)), aInts("dilations", int64(c.d), int64(c.d)), aInt("group", int64(c.group)),
				aInts("output_shape", int64(oh), int64(ow)), aInts("output_padding", int64(c.outPad), int64(c.outPad)))
			if err := compare(got2, want, 1e-4, 1e-5); err != nil {
				t.Fatalf("with output_shape: %v", err)
			}
		})
	}
}
