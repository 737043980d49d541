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
// direct kernel over a zero-padded copy of each plane; work is spread over
// Options.Threads goroutines. Open also fuses what PyTorch exports as
// separate nodes: an activation into the Conv before it, torch's erf GELU
// chain (Div, Erf, Add, Mul, Mul) into one pass, and a bias Add (and
// activation) into a MatMul by a constant matrix; asking Run for a tensor
// that fusion hides runs the unfused plan.
//
// Built with GOEXPERIMENT=simd on amd64, the GEMM, depthwise, clamp and erf
// kernels use AVX2 and FMA through simd/archsimd (with portable fallbacks
// on other CPUs); the ordinary build uses portable Go loops throughout.
package goexec
