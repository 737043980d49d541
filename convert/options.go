package convert

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/wtonnx/wtonnx/checkpoint"
	"github.com/wtonnx/wtonnx/wtconv"
)

// InitMode says where the new tensors of a WTConv layer come from.
type InitMode string

const (
	// InitPreserve keeps the original conv as the base branch and starts the
	// wavelet branch at zero: the converted model computes what the original
	// did, to the bit.
	InitPreserve InitMode = "preserve"
	// InitRandom keeps the original conv as base and draws the wavelet convs
	// like PyTorch's default Conv2d initialisation, scales 0.1 (the paper's).
	InitRandom InitMode = "random"
	// InitImport takes every tensor of the layer from a checkpoint.
	InitImport InitMode = "import"
)

// Format is the form a converted layer takes in the graph.
type Format string

const (
	// FormatOps emits standard ONNX operators only (the portable default).
	FormatOps Format = "ops"
	// FormatFunction emits one node per layer that calls a model-local ONNX
	// function whose body is the standard-operator form.
	FormatFunction Format = "function"
	// FormatCustomOp emits one ai.wtonnx WTConv node per layer, executed by
	// wtonnx's fused custom-operator library (or the Go engine).
	FormatCustomOp Format = "customop"
)

// AutoLevels asks for the level count to be chosen from each conv's input size.
const AutoLevels = -1

// DefaultKernel is the wavelet-domain kernel size (the authors' default).
const DefaultKernel = 5

// PrefixRule rewrites a checkpoint key prefix: the first rule whose From
// matches the default prefix (the weight initializer's name without
// ".weight") replaces the match with To.
type PrefixRule struct {
	From *regexp.Regexp
	To   string
}

// ParsePrefixRule parses "FROM=TO" (FROM a regular expression).
func ParsePrefixRule(s string) (PrefixRule, error) {
	from, to, ok := strings.Cut(s, "=")
	if !ok {
		return PrefixRule{}, fmt.Errorf("weights prefix rule %q: want FROM=TO", s)
	}
	re, err := regexp.Compile(from)
	if err != nil {
		return PrefixRule{}, fmt.Errorf("weights prefix rule %q: %w", s, err)
	}
	return PrefixRule{From: re, To: to}, nil
}

// ParseLevels parses "auto" or a level count of at least 1.
func ParseLevels(s string) (int, error) {
	if s == "auto" || s == "" {
		return AutoLevels, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 10 {
		return 0, fmt.Errorf("levels %q: want auto or a whole number from 1 to 10", s)
	}
	return n, nil
}

// ParseInputShape parses "name=1x3x224x224".
func ParseInputShape(s string) (string, []int64, error) {
	name, dims, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return "", nil, fmt.Errorf("input shape %q: want NAME=DxDx...", s)
	}
	var shape []int64
	for _, d := range strings.Split(dims, "x") {
		v, err := strconv.ParseInt(d, 10, 64)
		if err != nil || v < 1 || v > 1<<24 {
			return "", nil, fmt.Errorf("input shape %q: dimension %q is not a whole number from 1 to %d", s, d, 1<<24)
		}
		shape = append(shape, v)
	}
	return name, shape, nil
}

// Options control Convert.
type Options struct {
	Select    *regexp.Regexp // only nodes whose name matches (nil: all)
	Exclude   *regexp.Regexp // skip nodes whose name matches (nil: none)
	MinKernel int            // skip convs whose kernel is smaller

	Levels  int    // a level count, or AutoLevels
	Kernel  int    // wavelet-domain kernel; 0 means DefaultKernel (or the checkpoint's)
	Wavelet string // wavelet name (wtconv.WaveletByName); "" means wtconv.DefaultWavelet (db1, Haar)

	Init          InitMode
	Seed          uint64
	Weights       *checkpoint.Checkpoint // for InitImport
	WeightsPrefix []PrefixRule

	InputShapes map[string][]int64 // fix dynamic input dims
	Format      Format

	// KeepOverridableWeights leaves alone convs whose weights come from
	// initializers the model also lists as graph inputs (see
	// ClassifyOptions); by default they are converted and the consumed
	// initializers stop being inputs.
	KeepOverridableWeights bool

	// Progress, when set, is called after each converted layer.
	Progress func(done, total int)
}

func (o *Options) check() error {
	switch o.Init {
	case "":
		o.Init = InitPreserve
	case InitPreserve, InitRandom:
		if o.Weights != nil {
			return fmt.Errorf("a weights file is given but init is %q (use init import)", o.Init)
		}
	case InitImport:
		if o.Weights == nil {
			return fmt.Errorf("init import needs a weights file")
		}
	default:
		return fmt.Errorf("unknown init %q (want preserve, random or import)", o.Init)
	}
	switch o.Format {
	case "":
		o.Format = FormatOps
	case FormatOps, FormatFunction, FormatCustomOp:
	default:
		return fmt.Errorf("unknown format %q (want ops, function or customop)", o.Format)
	}
	if o.Wavelet == "" {
		o.Wavelet = wtconv.DefaultWavelet
	}
	name, err := wtconv.CanonicalWaveletName(o.Wavelet)
	if err != nil {
		return fmt.Errorf("wavelet: %w", err)
	}
	o.Wavelet = name
	if o.Levels != AutoLevels && (o.Levels < 1 || o.Levels > 10) {
		return fmt.Errorf("levels %d: want auto or 1..10", o.Levels)
	}
	if o.Kernel < 0 || o.Kernel > 31 {
		return fmt.Errorf("kernel %d: want 1..31", o.Kernel)
	}
	if o.MinKernel < 0 {
		return fmt.Errorf("min kernel %d is negative", o.MinKernel)
	}
	return nil
}
