package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wtonnx/wtonnx/convert"
	"github.com/wtonnx/wtonnx/inspect"
	"github.com/wtonnx/wtonnx/onnxmodel"
)

type inspectOptions struct {
	Model           string
	Vs              string
	InputShapes     []string
	JSON            bool
	Explain         bool
	KeepOverridable bool
}

// validate checks every flag value before any work.
func (o *inspectOptions) validate() error {
	if _, err := parseInputShapes(o.InputShapes); err != nil {
		return fmt.Errorf("--input-shape: %w", err)
	}
	if o.Vs != "" && o.KeepOverridable {
		return errors.New("--keep-overridable-weights and --vs conflict: --vs compares two models, it converts nothing")
	}
	return nil
}

func newInspectCmd() *cobra.Command {
	opts := &inspectOptions{}
	cmd := &cobra.Command{
		Use:   "inspect MODEL [--vs CONVERTED]",
		Short: "Summarise a model and list its depthwise convolutions and their costs",
		Long: `Print the model's IR and opsets, inputs and outputs, an operator histogram and
every depthwise or grouped convolution: channels, kernel, stride, padding,
dilation, feature-map size, and whether it can become a WTConv layer (if not,
why). Then the cost table: every WTConv layer and remaining depthwise conv with
its parameters, FLOPs (multiply-accumulates on its feature map, by the paper's
formulas) and theoretical receptive field, and model totals.

With --vs CONVERTED, compare MODEL (the original) with its converted form
layer by layer instead: parameters, FLOPs and receptive field before and
after.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Model = args[0]
			return runInspect(opts, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&opts.Vs, "vs", "", "compare with this converted model, layer by layer")
	cmd.Flags().StringArrayVar(&opts.InputShapes, "input-shape", nil, "fix a dynamic input's shape, NAME=1x3x224x224 (repeatable)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON for scripts")
	cmd.Flags().BoolVar(&opts.Explain, "explain", false, "say why each near miss (a conv with a wavelet filter bank that is not a whole WTConv layer) was not recognised")
	cmd.Flags().BoolVar(&opts.KeepOverridable, "keep-overridable-weights", false, "give convert's verdict under --keep-overridable-weights (convs whose weights are also graph inputs stay)")
	return cmd
}

func runInspect(opts *inspectOptions, out io.Writer) error {
	if err := opts.validate(); err != nil {
		return err
	}
	shapes, err := parseInputShapes(opts.InputShapes)
	if err != nil {
		return err
	}
	if opts.Vs != "" {
		c, err := inspect.CompareFiles(opts.Model, opts.Vs, shapes)
		if err != nil {
			return err
		}
		if opts.JSON {
			return writeJSON(out, c)
		}
		printComparison(out, c)
		return nil
	}
	m, err := onnxmodel.Load(opts.Model)
	if err != nil {
		return err
	}
	s, err := inspect.InspectWith(m, inspect.Options{InputShapes: shapes, KeepOverridableWeights: opts.KeepOverridable})
	if err != nil {
		return fmt.Errorf("%s: %w", opts.Model, err)
	}
	if opts.JSON {
		err = writeJSON(out, s)
	} else {
		printSummary(out, opts.Model, s)
		printWTConvLayers(out, s, opts.Explain)
		printCosts(out, s.Costs)
	}
	if err == nil && len(s.Findings) > 0 {
		// The summary is printed; the exit status says the model is invalid.
		return &exitError{code: 1, err: fmt.Errorf("%s is invalid: %s", opts.Model, plural(len(s.Findings), "finding", "findings"))}
	}
	return err
}

func parseInputShapes(specs []string) (map[string][]int64, error) {
	if len(specs) == 0 {
		return nil, nil
	}
	shapes := map[string][]int64{}
	for _, spec := range specs {
		name, dims, err := convert.ParseInputShape(spec)
		if err != nil {
			return nil, err
		}
		shapes[name] = dims
	}
	return shapes, nil
}

func writeJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printSummary(out io.Writer, path string, s *inspect.Summary) {
	var ops []string
	for _, o := range s.Opsets {
		d := o.Domain
		if d == "" {
			d = "ai.onnx"
		}
		ops = append(ops, fmt.Sprintf("%s %d", d, o.Version))
	}
	fmt.Fprintf(out, "%s\n  IR %d, opset %s", path, s.IRVersion, strings.Join(ops, ", "))
	if s.Producer != "" {
		fmt.Fprintf(out, ", produced by %s", s.Producer)
	}
	fmt.Fprintf(out, "\n  %d nodes\n", s.Nodes)
	printGoEngine(out, s.GoEngine)
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	for _, t := range s.Inputs {
		fmt.Fprintf(tw, "  input\t%s\t%s\t[%s]\n", t.Name, t.DType, strings.Join(t.Dims, " x "))
	}
	for _, t := range s.Outputs {
		fmt.Fprintf(tw, "  output\t%s\t%s\t[%s]\n", t.Name, t.DType, strings.Join(t.Dims, " x "))
	}
	tw.Flush()
	fmt.Fprintf(out, "\nOperators:")
	for i, o := range s.Operators {
		if i%6 == 0 {
			fmt.Fprint(out, "\n ")
		}
		fmt.Fprintf(out, " %s x%d", o.Op, o.Count)
	}
	fmt.Fprintln(out)
	if len(s.Findings) > 0 {
		fmt.Fprintf(out, "\nFindings (the model is invalid; convert and run refuse it):\n")
		for _, f := range s.Findings {
			fmt.Fprintf(out, "  %s\n", f)
		}
	}
	fmt.Fprintf(out, "\nDepthwise and grouped convolutions: %d depthwise, %d can become WTConv\n", s.Depthwise, s.Candidates)
	if n := overridable(s.Convs); n > 0 {
		verb := "take"
		if n == 1 {
			verb = "takes"
		}
		fmt.Fprintf(out, "  (%d of them %s weights the model also lists as graph inputs; convert takes those as constants, --keep-overridable-weights leaves such convs alone)\n", n, verb)
	}
	if len(s.Convs) == 0 {
		return
	}
	tw = tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  NODE\tC\tKERNEL\tSTRIDE\tPADS\tDIL\tINPUT\tWTCONV")
	for _, c := range s.Convs {
		verdict := "yes"
		if !c.Candidate {
			verdict = "no: " + c.Reason
		}
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Node, c.Channels, dims(c.Kernel, "x"), dims(c.Strides, ","),
			dims(c.Pads, ","), dims(c.Dilations, ","), dims(c.InputHW, "x"), verdict)
	}
	tw.Flush()
}

// printWTConvLayers lists the recognised layers and the near misses.
func printWTConvLayers(out io.Writer, s *inspect.Summary, explain bool) {
	fmt.Fprintf(out, "\nWTConv layers: %d recognised", len(s.WTConvLayers))
	if n := len(s.NearMisses); n > 0 {
		fmt.Fprintf(out, ", %d near misses", n)
		if !explain {
			fmt.Fprint(out, " (--explain says why)")
		}
	}
	fmt.Fprintln(out)
	if len(s.WTConvLayers) > 0 {
		tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  LAYER\tMODULE\tFORM\tC\tBASE\tK\tLEVELS\tSTRIDE\tBIAS\tWAVELET\tINPUT\tNODES")
		for _, l := range s.WTConvLayers {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%dx%d\t%d\t%d\t%d\t%v\t%s\t%s\t%d\n", l.Name, l.Module, l.Form, l.Channels,
				l.BaseKernel[0], l.BaseKernel[1], l.Kernel, l.Levels, l.Stride, l.Bias, l.Wavelet, dims(l.InputHW, "x"), l.Nodes)
		}
		tw.Flush()
	}
	if explain {
		for _, nm := range s.NearMisses {
			fmt.Fprintf(out, "  not a layer: %s: %s\n", nm.Node, nm.Reason)
		}
	}
}

// overridable counts the candidate convs whose weights are also graph inputs.
func overridable(convs []convert.ConvInfo) int {
	n := 0
	for _, c := range convs {
		if c.Candidate && len(c.Overridable) > 0 {
			n++
		}
	}
	return n
}

func printCosts(out io.Writer, c *inspect.Costs) {
	if c == nil {
		return
	}
	fmt.Fprintf(out, "\nCosts: %s, %s\n", plural(c.Totals.WTConv, "WTConv layer", "WTConv layers"), plural(c.Totals.Depthwise, "depthwise conv", "depthwise convs"))
	if len(c.Layers) > 0 {
		tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  LAYER\tKIND\tINPUT\tPARAMS\tFLOPS\tRF")
		for _, r := range c.Layers {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%d\n", r.Node, layerKind(&r), dims(r.InputHW, "x"), inspect.FormatCount(r.Params), inspect.FormatFLOPs(r.FLOPs), r.ReceptiveField)
		}
		tw.Flush()
	}
	t := c.Totals
	fmt.Fprintf(out, "  layers: %s params, %s FLOPs; model: %s params, %s multiply-accumulates", inspect.FormatCount(t.Params), inspect.FormatFLOPs(t.FLOPs), inspect.FormatCount(t.ModelParams), inspect.FormatFLOPs(t.ModelFLOPs))
	if t.UnknownFLOPs > 0 {
		fmt.Fprintf(out, " (%s of unknown size left out; fix the input size with --input-shape NAME=1x3x224x224 to count them)", plural(t.UnknownFLOPs, "node", "nodes"))
	}
	fmt.Fprintln(out)
}

// layerKind is "dw 7x7" or "wtconv 7x7+5x5 L3 ops" ("... L3 db2 ops" for a
// wavelet other than Haar).
func layerKind(r *inspect.LayerCost) string {
	k := fmt.Sprintf("%dx%d", r.Kernel[0], r.Kernel[1])
	if r.Kind == inspect.KindDepthwise {
		s := "dw " + k
		if r.Stride > 1 {
			s += fmt.Sprintf(" /%d", r.Stride)
		}
		if r.Dilation > 1 {
			s += fmt.Sprintf(" dil %d", r.Dilation)
		}
		return s
	}
	if r.WaveletKernel != r.Kernel[0] || r.WaveletKernel != r.Kernel[1] {
		k += fmt.Sprintf("+%dx%d", r.WaveletKernel, r.WaveletKernel)
	}
	s := fmt.Sprintf("wtconv %s L%d", k, r.Levels)
	if r.Wavelet != "" && r.Wavelet != "db1" {
		s += " " + r.Wavelet
	}
	if r.Stride > 1 {
		s += fmt.Sprintf(" /%d", r.Stride)
	}
	return s + " " + r.Form
}

func printComparison(out io.Writer, c *inspect.Comparison) {
	fmt.Fprintf(out, "%s -> %s\n  %d of %d depthwise convs became WTConv layers", c.Original, c.Converted, c.ConvertedLayers, c.Before.Depthwise)
	if c.FusedLayers > 0 {
		fmt.Fprintf(out, "; %d WTConv layers changed form", c.FusedLayers)
	}
	fmt.Fprint(out, "\n\n")
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  LAYER\tINPUT\tBEFORE\tAFTER\tPARAMS\tFLOPS\tRF")
	side := func(r *inspect.LayerCost) string {
		if r == nil {
			return "-"
		}
		return layerKind(r)
	}
	pair := func(a, b *inspect.LayerCost, f func(*inspect.LayerCost) string) string {
		x, y := "-", "-"
		if a != nil {
			x = f(a)
		}
		if b != nil {
			y = f(b)
		}
		return x + " -> " + y
	}
	for _, p := range c.Layers {
		in := p.Before
		if in == nil {
			in = p.After
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Node, dims(in.InputHW, "x"), side(p.Before), side(p.After),
			pair(p.Before, p.After, func(r *inspect.LayerCost) string { return inspect.FormatCount(r.Params) }),
			pair(p.Before, p.After, func(r *inspect.LayerCost) string { return inspect.FormatFLOPs(r.FLOPs) }),
			pair(p.Before, p.After, func(r *inspect.LayerCost) string { return fmt.Sprint(r.ReceptiveField) }))
	}
	tw.Flush()
	b, a := c.Before, c.After
	fmt.Fprintf(out, "\n  layers: params %s -> %s, FLOPs %s -> %s, largest receptive field %d -> %d\n",
		inspect.FormatCount(b.Params), inspect.FormatCount(a.Params), inspect.FormatFLOPs(b.FLOPs), inspect.FormatFLOPs(a.FLOPs), b.MaxReceptiveField, a.MaxReceptiveField)
	fmt.Fprintf(out, "  model:  params %s -> %s (%s), multiply-accumulates %s -> %s (%s)\n",
		inspect.FormatCount(b.ModelParams), inspect.FormatCount(a.ModelParams), inspect.FormatChange(b.ModelParams, a.ModelParams),
		inspect.FormatFLOPs(b.ModelFLOPs), inspect.FormatFLOPs(a.ModelFLOPs), inspect.FormatChange(b.ModelFLOPs, a.ModelFLOPs))
}

func dims(v []int64, sep string) string {
	if len(v) == 0 {
		return "?"
	}
	s := make([]string, len(v))
	for i, d := range v {
		if d < 0 {
			s[i] = "?"
		} else {
			s[i] = fmt.Sprint(d)
		}
	}
	return strings.Join(s, sep)
}

// printGoEngine says up front whether the Go engine runs the model.
func printGoEngine(out io.Writer, ge *inspect.GoEngine) {
	if ge == nil {
		return
	}
	if ge.Runs {
		fmt.Fprintln(out, "  Go engine: runs every operator of the model")
		return
	}
	if len(ge.Lacks) > 0 {
		var names []string
		for _, g := range ge.Lacks {
			names = append(names, g.Op)
		}
		fmt.Fprintf(out, "  Go engine lacks: %s\n", strings.Join(names, ", "))
		for _, g := range ge.Lacks {
			fmt.Fprintf(out, "    %s (%d node(s), first %q): %s\n", g.Op, g.Nodes, g.FirstNode, g.Reason)
		}
	}
	if len(ge.Double) > 0 {
		fmt.Fprintf(out, "  Go engine refuses DOUBLE tensors (it computes float32): %s\n", strings.Join(ge.Double, ", "))
	}
}
