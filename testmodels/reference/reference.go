// Package reference loads the WTConv reference cases that tests across
// wtonnx compare against: the authors' own (computed by their PyTorch
// WTConv2d, in ../shared/reference/wtconv-official beside the repository)
// and wtonnx's extra cases computed with PyTorch by
// wtconv/testdata/gen_torch_cases.py (even kernels, strides, no bias,
// batches, deep levels on tiny maps). Every case folder holds case.json,
// x.npy, y.npy and weights.safetensors (official key names under "layer.").
package reference

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"

	"github.com/wtonnx/wtonnx/checkpoint"
	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/wtconv"
)

// Case is one reference case, as its case.json describes it.
type Case struct {
	Name   string `json:"name"`
	Dir    string `json:"-"`
	C      int    `json:"C"`
	K      int    `json:"k"`
	L      int    `json:"L"`
	S      int    `json:"s"`
	Bias   bool   `json:"bias"`
	N      int    `json:"N"`
	H      int    `json:"H"`
	W      int    `json:"W"`
	SrcK   int    `json:"src_k"` // kernel of the source model's depthwise conv
	YShape []int  `json:"y_shape"`
}

// repoDir is the repository root, found from this file's location.
func repoDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// OfficialDir is the folder of the authors' cases.
func OfficialDir() string {
	return filepath.Join(repoDir(), "..", "shared", "reference", "wtconv-official")
}

// TorchDir is the folder of wtonnx's PyTorch-computed cases.
func TorchDir() string { return filepath.Join(repoDir(), "wtconv", "testdata", "torch") }

// Official returns the authors' cases; it fails when there are none (shared/
// must sit beside the repository).
func Official() ([]Case, error) { return load(OfficialDir()) }

// Torch returns wtonnx's own PyTorch-computed cases.
func Torch() ([]Case, error) { return load(TorchDir()) }

// All returns the official cases followed by wtonnx's own.
func All() ([]Case, error) {
	off, err := Official()
	if err != nil {
		return nil, err
	}
	own, err := Torch()
	if err != nil {
		return nil, err
	}
	return append(off, own...), nil
}

func load(root string) ([]Case, error) {
	paths, err := filepath.Glob(filepath.Join(root, "*", "case.json"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no reference cases under %s (shared/ must sit beside the repository)", root)
	}
	sort.Strings(paths)
	var cases []Case
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var c Case
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		c.Dir = filepath.Dir(p)
		if c.SrcK == 0 {
			c.SrcK = c.K
		}
		cases = append(cases, c)
	}
	return cases, nil
}

// Layer is the case's layer description.
func (c Case) Layer() wtconv.Layer {
	return wtconv.Layer{Channels: c.C, Kernel: c.K, Levels: c.L, Stride: c.S, Bias: c.Bias, Wavelet: wtconv.DefaultWavelet}
}

// WeightsPath is the case's checkpoint.
func (c Case) WeightsPath() string { return filepath.Join(c.Dir, "weights.safetensors") }

// SourcePath is the one-node source model of an official case ("" for
// wtonnx's own cases, which have none).
func (c Case) SourcePath() string {
	p := filepath.Join(c.Dir, "source.onnx")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// Weights reads the layer's weights from the checkpoint.
func (c Case) Weights() (*wtconv.Weights, error) {
	ck, err := checkpoint.Open(c.WeightsPath())
	if err != nil {
		return nil, err
	}
	return ck.LayerWeights("layer.", c.Layer())
}

// Input reads x.npy and checks its shape against case.json.
func (c Case) Input() (*tensor.Tensor, error) {
	x, err := tensor.ReadNPY(filepath.Join(c.Dir, "x.npy"))
	if err != nil {
		return nil, err
	}
	if !tensor.SameShape(x.Shape, []int{c.N, c.C, c.H, c.W}) {
		return nil, fmt.Errorf("%s: x.npy has shape %v, case.json says %dx%dx%dx%d", c.Dir, x.Shape, c.N, c.C, c.H, c.W)
	}
	return x, nil
}

// Output reads y.npy, the reference output.
func (c Case) Output() (*tensor.Tensor, error) {
	y, err := tensor.ReadNPY(filepath.Join(c.Dir, "y.npy"))
	if err != nil {
		return nil, err
	}
	if c.YShape != nil && !tensor.SameShape(y.Shape, c.YShape) {
		return nil, fmt.Errorf("%s: y.npy has shape %v, case.json says %v", c.Dir, y.Shape, c.YShape)
	}
	return y, nil
}
