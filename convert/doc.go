// Package convert rewrites depthwise convolutions of an ONNX model into
// WTConv layers (wavelet convolutions, ECCV 2024).
//
// A rewrite is a pattern plus a replacement, applied in the steps of
// onnx-graphsurgeon: find the candidates (Classify), build each replacement
// subgraph (standard operators, a model-local function, or one fused node of
// the ai.wtonnx domain), splice it in under the original output name, then
// remove what became dead and sort the graph. The input model is never
// modified; Convert works on a copy and is deterministic.
//
// The standard-operator form of one layer is, for levels i = 1..L:
//
//	T_i = Conv(X_{i-1}, haar, stride 2, group C, pads end 1)   // 4C channels, 4c+band
//	Y_i = Mul(Conv(T_i, w_i, group 4C, same pads), scale_i)
//	X_i = Gather(T_i, channels 0, 4, 8, ...)                     // the LL band
//
// then from the deepest level up Z_i = crop(ConvTranspose(Y_i) +
// ConvTranspose_LL(Z_{i+1})), and out = base_scale * BaseConv(X) + Z_1,
// subsampled for strided convs. Odd sizes need no Pad: the analysis conv pads
// one zero at the end, which is only read when the size is odd, and the
// synthesis is cropped back (by ConvTranspose pads when sizes are static, by
// a Slice when they are not). An n-tap wavelet (--wavelet db2 and up) has
// the same graph with n x n filters and pads n/2-1 (the spec's "Other
// wavelets"). emitLayer writes this subgraph once, for the standard-operator
// form and for the function body alike; the fused node carries the same
// tensors, the base and wavelet kernels at their own sizes.
package convert
