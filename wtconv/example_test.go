package wtconv_test

import (
	"fmt"

	"github.com/wtonnx/wtonnx/wtconv"
)

// The paper's worked example: one channel of 512 x 512, three levels of 5 x 5
// kernels, against large plain depthwise kernels.
func ExampleLayer_FLOPs() {
	l := wtconv.Layer{Channels: 1, Kernel: 5, Levels: 3, Stride: 1, Bias: true}
	c := l.FLOPs(512, 512)
	fmt.Printf("receptive field %dx%d\n", l.ReceptiveField(), l.ReceptiveField())
	fmt.Printf("base %.2fM + wavelet %.2fM = convs %.2fM\n", float64(c.Base)/1e6, float64(c.Wavelet)/1e6, float64(c.Convs)/1e6)
	fmt.Printf("transforms %.2fM, total %.2fM\n", float64(c.Transforms)/1e6, float64(c.Total)/1e6)
	fmt.Printf("31x31 depthwise %.1fM, 7x7 depthwise %.1fM\n",
		float64(wtconv.DepthwiseFLOPs(1, 512, 512, 31, 31, 1, 1))/1e6,
		float64(wtconv.DepthwiseFLOPs(1, 512, 512, 7, 7, 1, 1))/1e6)
	// Output:
	// receptive field 40x40
	// base 6.55M + wavelet 8.60M = convs 15.16M
	// transforms 2.75M, total 17.91M
	// 31x31 depthwise 251.9M, 7x7 depthwise 12.8M
}

func ExampleLayer_Params() {
	l := wtconv.Layer{Channels: 96, Kernel: 5, Levels: 3, Stride: 1, Bias: true}
	fmt.Println(l.Params(), "parameters; a 7x7 depthwise conv has", 96*49+96)
	// Output: 32544 parameters; a 7x7 depthwise conv has 4800
}

func ExampleAutoLevels() {
	for _, s := range []int{56, 28, 14, 7} {
		fmt.Printf("%dx%d: %d levels (at most %d)\n", s, s, wtconv.AutoLevels(s, s), wtconv.MaxLevels(s, s))
	}
	// Output:
	// 56x56: 5 levels (at most 6)
	// 28x28: 4 levels (at most 5)
	// 14x14: 3 levels (at most 4)
	// 7x7: 2 levels (at most 3)
}

// A layer converted with PreserveWeights computes the original depthwise conv.
func ExampleForward() {
	l := wtconv.Layer{Channels: 1, Kernel: 3, Levels: 2, Stride: 2, Bias: true}
	box := []float32{0, 0, 0, 0, 1, 0, 0, 0, 0} // identity kernel
	wt, err := wtconv.PreserveWeights(l, box, []float32{0.5})
	if err != nil {
		fmt.Println(err)
		return
	}
	x := make([]float32, 16)
	for i := range x {
		x[i] = float32(i)
	}
	y, h, w, err := wtconv.Forward(l, wt, x, 1, 4, 4)
	fmt.Println(y, h, w, err)
	// Output: [0.5 2.5 8.5 10.5] 2 2 <nil>
}

// A ConvNeXt 7x7 depthwise conv converted with 5x5 wavelet-domain kernels
// and 5 levels keeps its 7x7 base: the receptive field is 2^5 * 5.
func ExampleLayer_ReceptiveField() {
	l := wtconv.Layer{Channels: 96, BaseKernel: 7, Kernel: 5, Levels: 5, Stride: 1, Bias: true}
	fmt.Println(l.ReceptiveField(), l.Params())
	// Output: 160 54816
}

// The db2 wavelet has 4-tap filters: 4x4 analysis and synthesis filters,
// padded by 1 on every side.
func ExampleWaveletByName() {
	w, err := wtconv.WaveletByName("db2")
	if err != nil {
		panic(err)
	}
	kh, kw := w.FilterSize()
	fmt.Println(w.Name, w.Taps(), kh, kw, w.Pad(), w.IsHaar())
	// Output: db2 4 4 4 1 false
}
