package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wtonnx/wtonnx/inspect"
	"github.com/wtonnx/wtonnx/report"
	"github.com/wtonnx/wtonnx/verify"
)

type reportOptions struct {
	Original    string
	Converted   string
	Output      string
	Engines     string
	Iters       int
	Layers      int
	Positions   int
	SkipVerify  bool
	InputShapes []string
	tol         toleranceFlags
	Force       bool
	JSON        bool
	engine      engineFlags
}

func newReportCmd() *cobra.Command {
	opts := &reportOptions{}
	cmd := &cobra.Command{
		Use:   "report ORIGINAL CONVERTED -o report.html",
		Short: "Write a self-contained HTML report of a conversion",
		Long: `Write one HTML file that shows what a conversion did: a summary, the
per-layer cost table (parameters, FLOPs, receptive field before and after),
impulse-response pictures of a few representative layers (as wtonnx erf draws
them), the verification (the converted model across engines, and against the
original) and a latency comparison (as wtonnx bench measures it).

The file needs nothing else to be viewed: pictures are embedded, the style is
inline, it refers to no network address, and it prints well.

Every section runs or nothing is written: a verification or latency run that
cannot start (an engine's library missing, a dynamic input without
--input-shape) is an error that names the section and the flag that fixes it
or leaves the section out (--skip-verify, --iters 0).`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Original, opts.Converted = args[0], args[1]
			return runReport(cmd.Context(), opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Output, "output", "o", "", "write the report here, `FILE`.html")
	f.StringVar(&opts.Engines, "engines", "ort,go", "engines for verification and latency, comma-separated")
	f.IntVar(&opts.Iters, "iters", report.DefaultIters, "measured inferences per model and engine (0 skips the latency comparison)")
	f.IntVar(&opts.Layers, "layers", report.DefaultLayers, "representative layers to picture (0: none)")
	f.IntVar(&opts.Positions, "positions", 0, "most impulse positions averaged per picture (0: erf's default)")
	f.BoolVar(&opts.SkipVerify, "skip-verify", false, "leave the verification out")
	f.StringArrayVar(&opts.InputShapes, "input-shape", nil, "fix a dynamic input's shape, NAME=1x3x224x224 (repeatable)")
	f.BoolVar(&opts.Force, "force", false, "overwrite an existing report")
	f.BoolVar(&opts.JSON, "json", false, "also print everything the report shows as JSON (pictures left out)")
	opts.engine.add(f)
	opts.tol.add(f)
	return cmd
}

// maxScaledError is the largest error relative to its output's scale over
// the comparisons of two different models.
func maxScaledError(res *verify.Result) float64 {
	m := 0.0
	for _, c := range res.Comparisons {
		if c.A.Model == c.B.Model {
			continue
		}
		for _, s := range c.Outputs {
			m = max(m, s.MaxScaledError)
		}
	}
	return m
}

// validate checks every flag value before any work.
func (o *reportOptions) validate() error {
	if o.Output == "" {
		return fmt.Errorf("report: give the output file with -o report.html")
	}
	for flag, v := range map[string]int{"--iters": o.Iters, "--layers": o.Layers, "--positions": o.Positions} {
		if v < 0 {
			return fmt.Errorf("%s %d: want 0 or more", flag, v)
		}
	}
	if err := o.engine.validate(); err != nil {
		return err
	}
	for _, e := range strings.Split(o.Engines, ",") {
		if e = strings.TrimSpace(e); e != "" && e != "ort" && e != "go" {
			return fmt.Errorf("--engines: unknown engine %q (want ort or go)", e)
		}
	}
	if _, err := parseInputShapes(o.InputShapes); err != nil {
		return fmt.Errorf("--input-shape: %w", err)
	}
	return checkOutputs(o.Force, []string{o.Original, o.Converted}, o.output())
}

func (o *reportOptions) output() outputFile {
	return outputFile{Flag: "-o", Path: o.Output, Exts: []string{".html", ".htm"}}
}

func runReport(ctx context.Context, opts *reportOptions, stdout, stderr io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := opts.validate(); err != nil {
		return err
	}
	tol, err := opts.tol.tolerance()
	if err != nil {
		return err
	}
	shapes, err := parseInputShapes(opts.InputShapes)
	if err != nil {
		return fmt.Errorf("--input-shape: %w", err)
	}
	var engines []string
	for _, e := range strings.Split(opts.Engines, ",") {
		if e = strings.TrimSpace(e); e != "" {
			engines = append(engines, e)
		}
	}
	ro := report.Options{
		Original: opts.Original, Converted: opts.Converted, Engines: engines,
		Iters: opts.Iters, Layers: opts.Layers, Positions: opts.Positions, SkipVerify: opts.SkipVerify,
		InputShapes: shapes, Tolerance: tol, Engine: opts.engine.options(stderr), Logf: noteTo(stderr),
	}
	if opts.Iters == 0 {
		ro.Iters = -1
	}
	if opts.Layers == 0 {
		ro.Layers = -1
	}
	r, err := report.Build(ctx, ro)
	if err != nil {
		return err
	}
	// Every section runs, or the report is not written: a report with a
	// hole would read as a result.
	var failed []string
	for _, c := range r.Checks {
		if c.Error != "" {
			failed = append(failed, fmt.Sprintf("verification %q (%s) could not run: %s; fix the engine (--ort-lib FILE, --engines go) or leave the section out with --skip-verify", c.Title, c.ID, c.Error))
		}
	}
	for _, l := range r.Latencies {
		if l.Error != "" {
			failed = append(failed, fmt.Sprintf("latency on %s could not run: %s; fix the engine (--ort-lib FILE, --engines) or leave the section out with --iters 0", l.Engine, l.Error))
		}
	}
	if len(failed) > 0 {
		for _, f := range failed[1:] {
			fmt.Fprintln(stderr, "wtonnx:", f)
		}
		return fmt.Errorf("report: %s; %s not written", failed[0], opts.Output)
	}
	if err := opts.output().write(opts.Force, r.WriteHTML); err != nil {
		return err
	}
	if opts.JSON {
		return writeJSON(stdout, r)
	}
	c := r.Comparison
	what := plural(c.ConvertedLayers, "layer", "layers") + " converted"
	if c.ConvertedLayers == 0 && c.FusedLayers > 0 {
		what = plural(c.FusedLayers, "layer", "layers") + " fused"
	}
	fmt.Fprintf(stdout, "%s; largest receptive field %d -> %d px; params %s -> %s; multiply-accumulates %s -> %s\n",
		what, c.Before.MaxReceptiveField, c.After.MaxReceptiveField,
		inspect.FormatCount(c.Before.ModelParams), inspect.FormatCount(c.After.ModelParams), inspect.FormatFLOPs(c.Before.ModelFLOPs), inspect.FormatFLOPs(c.After.ModelFLOPs))
	if p := r.Provenance; p != nil {
		fmt.Fprintf(stdout, "made by wtonnx %s: %s\n", p.Version, p.CommandLine())
	}
	if u := c.Before.UnknownFLOPs + c.After.UnknownFLOPs; u > 0 {
		fmt.Fprintf(stdout, "  (multiply-accumulates leave out %s whose size shape inference could not fix)\n", plural(u, "node", "nodes"))
	}
	for _, ch := range r.Checks {
		if ch.Result != nil {
			fmt.Fprintf(stdout, "%s: %s", ch.Title, ch.Verdict)
			if ch.Verdict == report.VerdictChanged {
				fmt.Fprintf(stdout, " (the intended change of init %s: largest error %.3g of the output's scale)", r.Provenance.Options["init"], maxScaledError(ch.Result))
			}
			if notes := verdictNotes(ch.Result); notes != "" {
				fmt.Fprintf(stdout, " (%s)", notes)
			}
			fmt.Fprintln(stdout)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(stdout, "note: %s\n", n)
	}
	for _, l := range r.Latencies {
		if l.Result != nil && l.Result.MedianRatio > 0 {
			fmt.Fprintf(stdout, "latency on %s: converted / original median %.2fx\n", l.Result.Engine, l.Result.MedianRatio)
		}
	}
	fmt.Fprintf(stdout, "Wrote %s\n", opts.Output)
	return nil
}
