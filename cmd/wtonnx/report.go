package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wtonnx/wtonnx/inspect"
	"github.com/wtonnx/wtonnx/report"
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

A verification or latency run that cannot start (an engine's library missing)
is recorded in the report and warned about here; problems with the models
themselves are errors.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Original, opts.Converted = args[0], args[1]
			return runReport(cmd.Context(), opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Output, "output", "o", "", "write the report here (HTML)")
	f.StringVar(&opts.Engines, "engines", "ort,go", "engines for verification and latency, comma-separated")
	f.IntVar(&opts.Iters, "iters", report.DefaultIters, "measured inferences per model and engine (0 skips the latency comparison)")
	f.IntVar(&opts.Layers, "layers", report.DefaultLayers, "representative layers to picture (0: none)")
	f.IntVar(&opts.Positions, "positions", 0, "most impulse positions averaged per picture (0: erf's default)")
	f.BoolVar(&opts.SkipVerify, "skip-verify", false, "leave the verification out")
	f.StringArrayVar(&opts.InputShapes, "input-shape", nil, "fix a dynamic input's shape, NAME=1x3x224x224 (repeatable)")
	f.BoolVar(&opts.Force, "force", false, "overwrite an existing report")
	f.BoolVar(&opts.JSON, "json", false, "also print everything the report shows as JSON (pictures left out)")
	opts.engine.add(f)
	return cmd
}

func runReport(ctx context.Context, opts *reportOptions, stdout, stderr io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if opts.Output == "" {
		return fmt.Errorf("report: give the output file with -o report.html")
	}
	if opts.Iters < 0 || opts.Layers < 0 || opts.Positions < 0 {
		return fmt.Errorf("report: --iters, --layers and --positions must not be negative")
	}
	for _, in := range []string{opts.Original, opts.Converted} {
		if err := checkOutputPath(in, opts.Output, opts.Force); err != nil {
			return err
		}
	}
	shapes, err := parseInputShapes(opts.InputShapes)
	if err != nil {
		return err
	}
	var engines []string
	for _, e := range strings.Split(opts.Engines, ",") {
		if e = strings.TrimSpace(e); e != "" {
			engines = append(engines, e)
		}
	}
	eo := opts.engine.options(stderr)
	ro := report.Options{
		Original: opts.Original, Converted: opts.Converted, Engines: engines,
		Iters: opts.Iters, Layers: opts.Layers, Positions: opts.Positions, SkipVerify: opts.SkipVerify,
		InputShapes: shapes, EP: eo.EP, DeviceID: eo.DeviceID, Threads: eo.Threads, ORTLibrary: eo.ORTLibrary, CustomOpLibrary: eo.CustomOpLibrary,
		Logf: noteTo(stderr),
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
	for _, c := range r.Checks {
		if c.Error != "" {
			fmt.Fprintf(stderr, "wtonnx: warning: %s: could not run: %s\n", c.Title, c.Error)
		}
	}
	for _, l := range r.Latencies {
		if l.Error != "" {
			fmt.Fprintf(stderr, "wtonnx: warning: latency on %s: could not run: %s\n", l.Engine, l.Error)
		}
	}
	if err := writeFileAtomic(opts.Output, opts.Force, r.WriteHTML); err != nil {
		return err
	}
	if opts.JSON {
		return writeJSON(stdout, r)
	}
	c := r.Comparison
	what := fmt.Sprintf("%d layers converted", c.ConvertedLayers)
	if c.ConvertedLayers == 0 && c.FusedLayers > 0 {
		what = fmt.Sprintf("%d layers fused", c.FusedLayers)
	}
	fmt.Fprintf(stdout, "%s; largest receptive field %d -> %d px; params %s -> %s; multiply-accumulates %s -> %s\n",
		what, c.Before.MaxReceptiveField, c.After.MaxReceptiveField,
		inspect.FormatCount(c.Before.ModelParams), inspect.FormatCount(c.After.ModelParams), inspect.FormatFLOPs(c.Before.ModelFLOPs), inspect.FormatFLOPs(c.After.ModelFLOPs))
	for _, ch := range r.Checks {
		if ch.Result != nil {
			fmt.Fprintf(stdout, "%s: %s", ch.Title, ch.Result.Verdict)
			if ch.Result.ModelB != "" && ch.Result.Verdict != "pass" {
				fmt.Fprint(stdout, " (expected unless the conversion used --init preserve: a non-zero wavelet branch changes the outputs)")
			}
			fmt.Fprintln(stdout)
		}
	}
	for _, l := range r.Latencies {
		if l.Result != nil && l.Result.MedianRatio > 0 {
			fmt.Fprintf(stdout, "latency on %s: converted / original median %.2fx\n", l.Result.Engine, l.Result.MedianRatio)
		}
	}
	fmt.Fprintf(stdout, "Wrote %s\n", opts.Output)
	return nil
}
