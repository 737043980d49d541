package ort_test

import (
	"context"
	"fmt"
	"log"

	"github.com/wtonnx/wtonnx/runtime/ort"
	"github.com/wtonnx/wtonnx/tensor"
)

// Open a model on the CPU execution provider and run it on a .npy input.
func ExampleOpenFile() {
	lib, err := ort.FindLibrary("") // flag, $WTONNX_ORT_LIB, or `make setup`'s cache
	if err != nil {
		log.Fatal(err)
	}
	dir := "../../../shared/reference/wtconv-official/basic_c4_k3_l1/"
	e, err := ort.OpenFile(dir+"source.onnx", ort.Options{LibraryPath: lib, EP: "cpu"})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	x, err := tensor.ReadNPY(dir + "x.npy")
	if err != nil {
		log.Fatal(err)
	}
	in := e.Inputs()[0]
	out, err := e.Run(context.Background(), map[string]*tensor.Tensor{in.Name: x}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(e.Name(), in.Name, in.Dims, "->", out["y"].Shape)
	// Output: ort/cpu x [1 4 16 16] -> [1 4 16 16]
}

// EP "auto" tries TensorRT, then CUDA, then the CPU, noting each fallback.
func ExampleOptions_auto() {
	opts := ort.Options{
		EP:   "auto",
		Logf: func(format string, args ...any) { log.Printf(format, args...) },
	}
	e, err := ort.OpenFile("../../../shared/onnx-conformance/test_ReLU/model.onnx", opts)
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	fmt.Println(e.Provider() != "")
	// Output: true
}
