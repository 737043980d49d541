// Package runtime defines the engine interface through which wtonnx runs ONNX
// models, and the options common to every engine.
//
// Two engines implement it: runtime/ort (ONNX Runtime through
// github.com/yalue/onnxruntime_go, with CPU, CUDA and TensorRT execution
// providers) and runtime/goexec (a pure-Go executor that needs no native
// library). The verifier feeds the same inputs to several engines and compares
// what they return, so the interface is kept to what both can honour.
package runtime

import (
	"context"

	"github.com/wtonnx/wtonnx/tensor"
)

// TensorInfo describes one graph input or output. Dims holds -1 for a
// dimension that is not fixed; DimNames holds the symbolic name where the
// model gives one ("batch", "height"), else "".
type TensorInfo struct {
	Name     string
	DType    tensor.DType
	Dims     []int64
	DimNames []string
}

// Engine runs one loaded model. Implementations must allow concurrent Run
// calls from several goroutines.
type Engine interface {
	// Name identifies the engine and, where it matters, the execution
	// provider that was actually obtained ("ort/cpu", "ort/cuda", "go").
	Name() string
	Inputs() []TensorInfo
	Outputs() []TensorInfo
	// Run executes the model. outputs names the tensors wanted; nil means
	// every graph output. The returned map holds fresh tensors the caller owns.
	Run(ctx context.Context, inputs map[string]*tensor.Tensor, outputs []string) (map[string]*tensor.Tensor, error)
	// Close releases native resources. It is safe to call twice.
	Close() error
}
