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
// Convolutions are computed as im2col (none for 1x1) followed by a
// blocked, packed float32 GEMM with a register-blocked micro-kernel;
// constant weights (Conv's, and MatMul's B) are packed once per Engine, on
// first use. Depthwise convolutions use a direct kernel over a zero-padded
// copy of each plane. Parallel sections run on a persistent team of
// Options.Threads goroutines per Engine (stopped by Close). Open also fuses
// what PyTorch exports as separate nodes: an activation into the Conv
// before it, torch's erf GELU chain (Div, Erf, Add, Mul, Mul) into one
// pass, and a bias Add (and activation) into a MatMul by a constant matrix;
// asking Run for a tensor that fusion hides runs the unfused plan.
//
// On amd64 the GEMM micro-kernels are assembly (AVX-512 or AVX2/FMA) in
// every build but purego. Built with GOEXPERIMENT=simd, the depthwise,
// clamp, dot and erf kernels use simd/archsimd; a plain build has assembly
// depthwise taps and Go loops for the rest; the purego build tag, and other
// architectures, use Go loops throughout. Every vector kernel falls back to
// a loop on CPUs without AVX2 and FMA.
package goexec
