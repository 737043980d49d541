// Package checkpoint reads WTConv layer weights from .safetensors and .npz
// files and maps the official PyTorch module's state_dict names (and those
// of the authors' fast implementation) onto wtconv.Weights.
//
// The safetensors reader is strict and self-contained: every structural
// problem (truncated header, header length past the end of the file, bad
// JSON, offsets out of range, overlapping or non-contiguous data, unknown
// dtype, byte length not matching the shape) is an error naming the file and
// the tensor, and no allocation exceeds the file's own size.
package checkpoint
