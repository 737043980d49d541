package checkpoint_test

import (
	"fmt"

	"github.com/wtonnx/wtonnx/checkpoint"
)

// Reading the weights the authors' PyTorch module saved for one layer.
func ExampleCheckpoint_LayerWeights() {
	ck, err := checkpoint.Open("../../shared/reference/wtconv-official/odd_c4_k3_l2/weights.safetensors")
	if err != nil {
		fmt.Println(err)
		return
	}
	info, err := ck.LayerInfo("layer.")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%+v\n", info)
	wt, err := ck.LayerWeights("layer.", info.Layer())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(wt.Base), len(wt.Bias), len(wt.Wavelet), len(wt.Wavelet[0]), len(wt.WaveletScale[1]))
	// Output:
	// {Channels:4 Kernel:3 BaseKernel:0 Levels:2 Bias:true Strided:false Naming:official}
	// 36 4 2 144 16
}
