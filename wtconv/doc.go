// Package wtconv is the mathematics of one WTConv layer, the wavelet
// convolution of "Wavelet Convolutions for Large Receptive Fields" (Finder et
// al., ECCV 2024), exactly as the project spec shared/spec/wtconv.md (beside the
// repository) defines it.
//
// It holds the layer description ([Layer]) with its parameter count, cost and
// receptive field, the wavelet filters ([Wavelet]), the trainable tensors
// ([Weights]) with their initialisers, and [Forward], a plain float64
// reference implementation that is the ground truth the ONNX graphs, the
// custom operator and the Go executor are checked against.
//
// The package knows nothing about ONNX; converters and engines import it.
//
// Tensor layouts follow the official PyTorch module: activations are NCHW,
// the base kernel is C x 1 x k x k, and every wavelet-domain tensor has 4C
// channels laid out channel-major, band-minor (channel 4c+band, band 0 = LL).
package wtconv
