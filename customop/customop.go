// Package customop locates the fused WTConv operator for ONNX Runtime: a
// native shared library (libwtonnx_customop.so, built from the C sources in
// this directory by `make customop`) that registers the operator
// ai.wtonnx::WTConv with an ONNX Runtime session.
//
// # The operator
//
// Domain "ai.wtonnx", op_type "WTConv", operator-set version 1, CPU execution
// provider, float32. It computes one whole WTConv layer ("Wavelet
// Convolutions for Large Receptive Fields", ECCV 2024) in a single node:
//
//	inputs  0 X              [N, C, H, W]
//	        1 base_weight    [C, 1, kb, kb] base depthwise kernel (kb >= 1, even allowed)
//	        2 base_bias      [C]            optional
//	        3 base_scale     [C]
//	        4 wavelet_weight [L, 4C, 1, k, k]  level i's kernel, channel 4c+band; optional when L = 0
//	        5 wavelet_scale  [L, 4C]        optional when L = 0
//	output  0 Y              [N, C, ceil(H/s), ceil(W/s)]
//	attributes  levels (int, required), stride (int, default 1),
//	            wavelet (string, default "db1" = Haar; "haar" and db1..db38)
//
// The base kernel kb and the wavelet-domain kernel k come from their tensors'
// shapes and may differ (ConvNeXt: a 7 x 7 base with 5 x 5 wavelet convs).
// The semantics are exactly those of the official PyTorch module (and of
// wtconv.Forward): wavelet analysis level by level (Haar on a 2 x 2 fast
// path; an n-tap Daubechies wavelet with n x n filters and pads n/2 - 1
// after the odd-size end pad), a depthwise "same" k x k convolution and a
// per-channel scale at each level, synthesis from the deepest level up with
// cropping, the base depthwise convolution plus bias times the base scale,
// and stride subsampling at the end. Levels whose input is below 2 x 2 are
// computed as the authors' module computes them (padded to even size).
//
// The kernel fuses the layer per (batch, channel) plane, so a plane and its
// wavelet bands stay in cache, and spreads the planes over ONNX Runtime's
// intra-op thread pool. Bad attributes fail session creation, bad input
// shapes fail Run, each with a message naming the node and the input or
// attribute.
//
// # Using it
//
// FindLibrary returns the library's path; hand it to ONNX Runtime's
// RegisterCustomOpsLibrary, for example through
// runtime/ort.Options.CustomOpLibraries. This package itself uses no cgo: the
// library is loaded by ONNX Runtime, not linked into Go programs.
package customop

import (
	"fmt"
	"os"

	"github.com/wtonnx/wtonnx/internal/libfind"
)

const (
	// Domain is the ONNX operator domain of the fused operator.
	Domain = "ai.wtonnx"
	// OpType is the fused operator's op_type.
	OpType = "WTConv"
	// OpsetVersion is the version models import Domain at.
	OpsetVersion = 1

	// EnvLibrary names the environment variable that points at the library
	// when no explicit path is given.
	EnvLibrary = "WTONNX_CUSTOMOP_LIB"
	// LibraryFile is the library's file name.
	LibraryFile = "libwtonnx_customop.so"
	// CacheDir is where `make customop` writes the library, relative to the
	// repository root.
	CacheDir = ".cache/customop"
	// ModulePath identifies the wtonnx repository root (the directory whose
	// go.mod declares it).
	ModulePath = libfind.ModulePath
	// APIRangeSymbol is the library's export that reports the ONNX Runtime
	// C API versions it accepts, as void(uint32_t *lo, uint32_t *hi).
	APIRangeSymbol = "wtonnx_customop_api_range"
)

// FindLibrary returns the path of the custom-op library: flag when it is not
// empty, else $WTONNX_CUSTOMOP_LIB, else <repo>/.cache/customop/libwtonnx_customop.so
// where <repo> is the wtonnx repository above the working directory or the
// executable. A named file that does not exist is an error; so is finding
// nothing, with a message saying to run `make customop`.
func FindLibrary(flag string) (string, error) {
	cwd, _ := os.Getwd()
	exe, _ := os.Executable()
	return findLibrary(flag, os.Getenv(EnvLibrary), cwd, exe)
}

func findLibrary(flag, env, cwd, exe string) (string, error) {
	return libfind.Find(librarySpec, flag, env, cwd, exe)
}

var librarySpec = libfind.Spec{
	What: "custom-op library", File: LibraryFile, EnvVar: EnvLibrary, CacheDir: CacheDir,
	NotFound: func(where string) error {
		return fmt.Errorf("WTConv custom-op library not found (%s): run `make customop` in the wtonnx repository "+
			"to build %s/%s, or set %s to its path", where, CacheDir, LibraryFile, EnvLibrary)
	},
}
