package triton_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/wtonnx/wtonnx/testmodels"
	"github.com/wtonnx/wtonnx/triton"
)

// Export a model with a dynamic batch axis for CPU instances.
func ExampleExport() {
	f, err := testmodels.Load("mobilenet_v2_dynamic")
	if err != nil {
		fmt.Println(err)
		return
	}
	repo, err := os.MkdirTemp("", "triton-repo-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(repo)
	res, err := triton.Export(triton.Options{
		Model: f.ModelPath(), Repo: repo, Name: "mobilenet", MaxBatch: triton.AutoMaxBatch, Kind: triton.KindCPU, Instances: 2,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Files)
	cfg, _ := os.ReadFile(filepath.Join(repo, "mobilenet", "config.pbtxt"))
	fmt.Print(string(cfg))
	// Output:
	// [config.pbtxt 1/model.onnx]
	// name: "mobilenet"
	// platform: "onnxruntime_onnx"
	// max_batch_size: 8
	// input [
	//   {
	//     name: "input"
	//     data_type: TYPE_FP32
	//     dims: [ 3, -1, -1 ]
	//   }
	// ]
	// output [
	//   {
	//     name: "logits"
	//     data_type: TYPE_FP32
	//     dims: [ 10 ]
	//   }
	// ]
	// dynamic_batching { }
	// instance_group [
	//   {
	//     count: 2
	//     kind: KIND_CPU
	//   }
	// ]
}
