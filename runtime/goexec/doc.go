// Package goexec is a pure-Go ONNX executor: it runs the operators that
// PyTorch-exported convolutional networks use (and the fused ai.wtonnx
// WTConv node) in float32 without any native library.
//
// Open decodes the model's constants once, inlines model-local functions,
// sorts the nodes topologically and resolves every node to a kernel for the
// model's operator-set version, so that an unsupported operator, opset or
// attribute is reported when the model is opened, naming the node. Run is
// safe to call from many goroutines at once: all per-run state lives in the
// call.
//
// Convolutions are computed as im2col followed by a blocked, packed float32
// GEMM with a register-blocked micro-kernel; depthwise convolutions use a
// direct kernel; work is spread over Options.Threads goroutines.
package goexec
