// Package fuse rewrites the WTConv layers a model already holds (PyTorch's
// export of the authors' WTConv2d, or any form wtonnx writes) into another
// form: the fused ai.wtonnx WTConv node, a model-local function, or the
// clean standard-operator form.
//
// It follows the onnx-graphsurgeon recipe: find (wtconvgraph.Recognize),
// build the replacement (convert's builders, through convert.Splice),
// splice, clean up the shape arithmetic only the old layer used, sort. Every
// replaced layer is checked numerically before the model is returned: the
// recognised subgraph and its replacement, each cut out as a model of its
// own, run on the Go engine on one random input of the layer's shape, and a
// difference beyond float32 rounding refuses the whole model, naming the
// layer.
package fuse

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"

	"github.com/wtonnx/wtonnx/convert"
	"github.com/wtonnx/wtonnx/graph"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/runtime/engines"
	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/wtconvgraph"
)

// Options say which layers to fuse and into what.
type Options struct {
	Format  convert.Format // customop (default), function or ops
	Select  *regexp.Regexp // fuse only layers whose name matches
	Exclude *regexp.Regexp // leave layers whose name matches
	// Seed draws the input of the numerical check.
	Seed uint64
	// Tolerance is the largest difference the check accepts, relative to
	// max |y| of the recognised subgraph; 0 means DefaultTolerance.
	Tolerance float64
}

// DefaultTolerance is the check's relative tolerance: float32 rounding of
// two orders of summation, with room.
const DefaultTolerance = 1e-4

// LayerReport describes one fused layer.
type LayerReport struct {
	Name       string  `json:"name"`
	From       string  `json:"from"` // the form it had: pytorch, ops, function, customop
	Channels   int     `json:"channels"`
	BaseKernel []int   `json:"base_kernel"`
	Kernel     int     `json:"kernel"`
	Levels     int     `json:"levels"`
	Stride     int     `json:"stride"`
	Bias       bool    `json:"bias"`
	Wavelet    string  `json:"wavelet"`
	InputHW    []int64 `json:"input_hw,omitempty"`
	Params     int64   `json:"params"`
	Nodes      int     `json:"nodes"` // nodes of the layer before, shape arithmetic included
	// CheckHW is the input size of the numerical check; CheckMaxDiff the
	// largest difference it saw and CheckMaxAbs max |y| (0 on a dry run).
	CheckHW      []int   `json:"check_hw,omitempty"`
	CheckMaxDiff float64 `json:"check_max_diff"`
	CheckMaxAbs  float64 `json:"check_max_abs"`
}

// Skipped is a recognised layer left as it was.
type Skipped struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// Report is the summary of a fuse (or of its plan, for a dry run).
type Report struct {
	Format      convert.Format         `json:"format"`
	Fused       []LayerReport          `json:"fused"`
	Skipped     []Skipped              `json:"skipped"`
	NearMisses  []wtconvgraph.NearMiss `json:"near_misses"`
	NodesBefore int                    `json:"nodes_before"`
	NodesAfter  int                    `json:"nodes_after,omitempty"`
	Warnings    []string               `json:"warnings,omitempty"`
	replace     []convert.Replacement
}

func formName(f wtconvgraph.Form) string {
	if f == wtconvgraph.FormFused {
		return string(convert.FormatCustomOp)
	}
	return string(f)
}

// Plan recognises the layers of m and decides which to fuse.
func Plan(m *onnxpb.ModelProto, opts Options) (*Report, error) {
	if opts.Format == "" {
		opts.Format = convert.FormatCustomOp
	}
	switch opts.Format {
	case convert.FormatCustomOp, convert.FormatFunction, convert.FormatOps:
	default:
		return nil, fmt.Errorf("unknown format %q (want customop, function or ops)", opts.Format)
	}
	shapes, err := graph.InferShapes(m, nil)
	if err != nil {
		return nil, err
	}
	r, err := wtconvgraph.Recognize(m, shapes)
	if err != nil {
		return nil, err
	}
	rep := &Report{Format: opts.Format, Fused: []LayerReport{}, Skipped: []Skipped{}, NearMisses: r.NearMisses,
		NodesBefore: len(m.GetGraph().GetNode())}
	if rep.NearMisses == nil {
		rep.NearMisses = []wtconvgraph.NearMiss{}
	}
	for _, l := range r.Layers {
		from := formName(l.Form)
		switch {
		case opts.Select != nil && !opts.Select.MatchString(l.Name):
			rep.Skipped = append(rep.Skipped, Skipped{l.Name, fmt.Sprintf("not selected (--select %s)", opts.Select)})
			continue
		case opts.Exclude != nil && opts.Exclude.MatchString(l.Name):
			rep.Skipped = append(rep.Skipped, Skipped{l.Name, fmt.Sprintf("excluded (--exclude %s)", opts.Exclude)})
			continue
		case from == string(opts.Format):
			rep.Skipped = append(rep.Skipped, Skipped{l.Name, "already in the " + from + " form"})
			continue
		}
		rep.Fused = append(rep.Fused, LayerReport{
			Name: l.Name, From: from, Channels: l.Layer.Channels, BaseKernel: []int{l.BaseKernel[0], l.BaseKernel[1]},
			Kernel: l.Layer.Kernel, Levels: l.Layer.Levels, Stride: l.Layer.Stride, Bias: l.Layer.Bias,
			Wavelet: l.Layer.WaveletName(), InputHW: l.InputHW, Params: l.Params(), Nodes: len(l.NodeIndex),
		})
		ll, lw := l.Layer, l.Weights
		if l.BaseKernel[0] != l.BaseKernel[1] {
			ll, lw = l.Embedded() // a rectangular base, in a square kernel
		}
		rep.replace = append(rep.replace, convert.Replacement{
			LayerSpec: convert.LayerSpec{Name: l.Name, Input: l.Input, Output: l.Output, Layer: ll, Weights: lw, InputHW: l.InputHW},
			Nodes:     l.NodeIndex,
		})
	}
	if len(rep.Fused) == 0 {
		why := "the model holds no WTConv layer"
		if len(r.Layers) > 0 {
			why = fmt.Sprintf("none of its %d WTConv layers is to be fused (first: %s: %s)", len(r.Layers), rep.Skipped[0].Name, rep.Skipped[0].Reason)
		} else if len(r.NearMisses) > 0 {
			why += fmt.Sprintf(" (%d near misses; first: %s: %s)", len(r.NearMisses), r.NearMisses[0].Node, r.NearMisses[0].Reason)
		}
		rep.Warnings = append(rep.Warnings, "nothing fused: "+why+"; the model is written unchanged")
	}
	return rep, nil
}

// Fuse returns a copy of m with the planned layers in opts.Format, and the
// report. m is not modified. With nothing to fuse the result is m itself and
// the report carries a warning.
func Fuse(m *onnxpb.ModelProto, opts Options) (*onnxpb.ModelProto, *Report, error) {
	rep, err := Plan(m, opts)
	if err != nil {
		return nil, nil, err
	}
	if len(rep.replace) == 0 {
		rep.NodesAfter = rep.NodesBefore
		return m, rep, nil
	}
	tol := opts.Tolerance
	if tol == 0 {
		tol = DefaultTolerance
	}
	for i, r := range rep.replace {
		hw, diff, maxAbs, err := Check(m, r, rep.Format, opts.Seed+uint64(i))
		if err != nil {
			return nil, nil, fmt.Errorf("layer %s: checking the %s form against the recognised subgraph: %w", r.Name, rep.Format, err)
		}
		if diff > tol*math.Max(maxAbs, 1e-30) {
			return nil, nil, fmt.Errorf("layer %s: the %s form differs from the recognised subgraph by %.3g (max |y| %.3g, tolerance %.0e relative); nothing written",
				r.Name, rep.Format, diff, maxAbs, tol)
		}
		rep.Fused[i].CheckHW, rep.Fused[i].CheckMaxDiff, rep.Fused[i].CheckMaxAbs = hw, diff, maxAbs
	}
	out, err := convert.Splice(m, rep.replace, rep.Format)
	if err != nil {
		return nil, nil, err
	}
	rep.NodesAfter = len(out.GetGraph().GetNode())
	return out, rep, nil
}

// Check cuts the layer r out of m as a model of its own, builds its
// replacement in format the same way Fuse does, runs both on the Go engine
// on one random N=1 input (the layer's static size; for a dynamic one an
// odd size its levels accept, else one that halves evenly at every level)
// and returns that size, the largest difference and max |y| of the
// original.
func Check(m *onnxpb.ModelProto, r convert.Replacement, format convert.Format, seed uint64) ([]int, float64, float64, error) {
	var sizes [][2]int
	if len(r.InputHW) == 2 {
		sizes = [][2]int{{int(r.InputHW[0]), int(r.InputHW[1])}}
	} else {
		// A dynamic size: odd sizes exercise the odd-size padding; an
		// export traced at an even size has none and runs only on sizes
		// that halve evenly at every level.
		L := r.Layer.Levels
		sizes = [][2]int{{1<<L + 3, 1<<L + 1}, {2 << L, 3 << L}}
	}
	var err error
	for _, hw := range sizes {
		var diff, maxAbs float64
		var ranBefore bool
		diff, maxAbs, ranBefore, err = checkAt(m, r, format, seed, hw[0], hw[1])
		if err == nil {
			return []int{hw[0], hw[1]}, diff, maxAbs, nil
		}
		if ranBefore {
			break // the recognised subgraph ran; its replacement did not
		}
	}
	return nil, 0, 0, err
}

// checkAt runs the check on an h x w input; ranBefore tells whether the
// recognised subgraph itself ran.
func checkAt(m *onnxpb.ModelProto, r convert.Replacement, format convert.Format, seed uint64, h, w int) (diff, maxAbs float64, ranBefore bool, err error) {
	sub, idx, err := extract(m, r, []int64{1, int64(r.Layer.Channels), int64(h), int64(w)})
	if err != nil {
		return 0, 0, false, err
	}
	r.Nodes = idx
	rng := rand.New(rand.NewPCG(seed, 0x77746f6e6e78))
	x := tensor.NewFloat32([]int{1, r.Layer.Channels, h, w}, nil)
	for i := range x.F32 {
		x.F32[i] = float32(rng.NormFloat64())
	}
	run := func(mm *onnxpb.ModelProto) (*tensor.Tensor, error) {
		e, err := engines.Open(engines.Go, engines.Model{Proto: mm}, engines.Options{})
		if err != nil {
			return nil, err
		}
		defer e.Close()
		out, err := e.Run(context.Background(), map[string]*tensor.Tensor{r.Input: x}, nil)
		if err != nil {
			return nil, err
		}
		return out[r.Output], nil
	}
	a, err := run(sub)
	if err != nil {
		return 0, 0, false, fmt.Errorf("running the recognised subgraph on a %dx%d input: %w", h, w, err)
	}
	repl, err := convert.Splice(sub, []convert.Replacement{r}, format)
	if err != nil {
		return 0, 0, true, err
	}
	b, err := run(repl)
	if err != nil {
		return 0, 0, true, fmt.Errorf("running the replacement: %w", err)
	}
	if !tensor.SameShape(a.Shape, b.Shape) {
		return 0, 0, true, fmt.Errorf("the replacement's output has shape %v, the subgraph's %v", b.Shape, a.Shape)
	}
	for i := range a.F32 {
		d := math.Abs(float64(a.F32[i] - b.F32[i]))
		if math.IsNaN(d) {
			d = math.Inf(1)
		}
		diff = max(diff, d)
	}
	return diff, a.MaxAbs(), true, nil
}

// extract builds a model holding only the layer: input r.Input of the given
// shape, output r.Output, the layer's nodes and whatever else computes
// their other inputs (constants, shape arithmetic), and the initializers
// they read. It returns the layer's node indices in the new model.
func extract(m *onnxpb.ModelProto, r convert.Replacement, shape []int64) (*onnxpb.ModelProto, []int, error) {
	g := m.GetGraph()
	ix := graph.NewIndex(g)
	pos := map[*onnxpb.NodeProto]int{}
	for i, n := range g.GetNode() {
		pos[n] = i
	}
	keep := map[int]bool{}
	layer := map[int]bool{}
	for _, i := range r.Nodes {
		keep[i], layer[i] = true, true
	}
	var need func(name string) error
	need = func(name string) error {
		if name == "" || name == r.Input || ix.Initializer(name) != nil {
			return nil
		}
		p := ix.Producer(name)
		if p == nil {
			return fmt.Errorf("the layer reads %q, a graph input other than its own input", name)
		}
		if keep[pos[p]] {
			return nil
		}
		keep[pos[p]] = true
		for _, in := range p.GetInput() {
			if err := need(in); err != nil {
				return err
			}
		}
		return nil
	}
	for _, i := range r.Nodes {
		for _, in := range g.GetNode()[i].GetInput() {
			if err := need(in); err != nil {
				return nil, nil, err
			}
		}
	}
	sub := &onnxpb.GraphProto{Name: ptr("wtconv_layer")}
	var idx []int
	inits := map[string]bool{}
	for i, n := range g.GetNode() {
		if !keep[i] {
			continue
		}
		if layer[i] {
			idx = append(idx, len(sub.Node))
		}
		sub.Node = append(sub.Node, n)
		for _, in := range n.GetInput() {
			if t := ix.Initializer(in); t != nil && !inits[in] {
				inits[in] = true
				sub.Initializer = append(sub.Initializer, t)
			}
		}
	}
	float := int32(onnxpb.TensorProto_FLOAT)
	vi := func(name string, dims []int64) *onnxpb.ValueInfoProto {
		var d []*onnxpb.TensorShapeProto_Dimension
		for _, v := range dims {
			d = append(d, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: v}})
		}
		tt := &onnxpb.TypeProto_Tensor{ElemType: &float}
		if dims != nil {
			tt.Shape = &onnxpb.TensorShapeProto{Dim: d}
		}
		return &onnxpb.ValueInfoProto{Name: ptr(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}}}
	}
	sub.Input = []*onnxpb.ValueInfoProto{vi(r.Input, shape)}
	sub.Output = []*onnxpb.ValueInfoProto{vi(r.Output, nil)}
	out := &onnxpb.ModelProto{IrVersion: m.IrVersion, OpsetImport: m.GetOpsetImport(), Functions: m.GetFunctions(), Graph: sub,
		ProducerName: ptr("wtonnx fuse check")}
	if _, err := onnxmodel.Marshal(out); err != nil {
		return nil, nil, err
	}
	return out, idx, nil
}

func ptr[T any](v T) *T { return &v }
