package engines_test

import (
	"context"
	"fmt"
	"log"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/runtime/engines"
	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/testmodels"
)

// Open runs a model on the engine named by a string, with the options
// every command shares.
func ExampleOpen() {
	f, err := testmodels.Load("mobilenet_v2")
	if err != nil {
		log.Fatal(err)
	}
	m, err := onnxmodel.Load(f.ModelPath())
	if err != nil {
		log.Fatal(err)
	}
	e, err := engines.Open(engines.Go, engines.Model{Path: f.ModelPath(), Proto: m}, engines.Options{Threads: 2})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	x, err := tensor.ReadNPY(f.InputPath())
	if err != nil {
		log.Fatal(err)
	}
	out, err := e.Run(context.Background(), map[string]*tensor.Tensor{"input": x}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(e.Name(), out["logits"].Shape)
	// Output: go [1 10]
}
