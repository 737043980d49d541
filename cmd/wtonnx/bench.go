package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wtonnx/wtonnx/bench"
	"github.com/wtonnx/wtonnx/runtime/ort"
)

type benchOptions struct {
	Model, Vs string
	Engine    string
	engineFlags
	inputFlags
	Warmup, Iters int
	JSON          bool
	NoSpin        bool
}

func newBenchCmd() *cobra.Command {
	opts := &benchOptions{}
	cmd := &cobra.Command{
		Use:   "bench MODEL.onnx [--vs OTHER.onnx]",
		Short: "Measure latency, throughput and memory of a model",
		Long: `Run a model repeatedly and report its latency (min, median, p90, mean),
throughput (batch / median) and the process's peak memory.

--vs OTHER.onnx measures a second model with the same inputs in the same run,
alternating inference by inference, and reports the ratio of the medians
(MODEL / OTHER: below 1, MODEL is faster). 

With more than one thread, ONNX Runtime's pool threads keep spinning for a
while after each run, so with --vs each model's run shares the cores with the
other session's spinning threads. --no-spin makes them sleep instead (JSON
"no_spin": true): the sessions no longer disturb each other, but each also
stops spinning between the parallel sections of its own runs, which slows
models of many small layers. Deployed sessions spin (ONNX Runtime's default).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Model = args[0]
			return runBench(cmd.Context(), opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Vs, "vs", "", "a second model to measure alongside")
	f.StringVar(&opts.Engine, "engine", "ort", "engine: ort (ONNX Runtime) or go (pure Go)")
	opts.engineFlags.add(f)
	opts.inputFlags.add(f)
	f.IntVar(&opts.Warmup, "warmup", 3, "unmeasured inferences first")
	f.IntVar(&opts.Iters, "iters", 20, "measured inferences (of each model)")
	f.BoolVar(&opts.JSON, "json", false, "print the result as JSON")
	f.BoolVar(&opts.NoSpin, "no-spin", false, "ONNX Runtime's threads sleep between parallel sections instead of spinning")
	return cmd
}

// validate checks every flag value before any work.
func (o *benchOptions) validate() error {
	switch o.Engine {
	case "ort", "go":
	default:
		return fmt.Errorf("--engine %q: want ort or go", o.Engine)
	}
	if o.Warmup < 0 {
		return fmt.Errorf("--warmup %d: want 0 or more", o.Warmup)
	}
	if o.Iters < 1 {
		return fmt.Errorf("--iters %d: want 1 or more", o.Iters)
	}
	if o.Vs != "" && samePath(o.Model, o.Vs) {
		return fmt.Errorf("--vs %s: that is MODEL itself; give a second model", o.Vs)
	}
	if err := o.engineFlags.validate(); err != nil {
		return err
	}
	_, err := o.spec()
	return err
}

func runBench(ctx context.Context, opts *benchOptions, stdout, stderr io.Writer) error {
	if err := opts.validate(); err != nil {
		return err
	}
	spec, err := opts.spec()
	if err != nil {
		return err
	}
	bo := bench.Options{
		Model: opts.Model, Vs: opts.Vs, Kind: opts.Engine, Engine: opts.options(stderr),
		Warmup: opts.Warmup, Iters: opts.Iters, Inputs: spec,
	}
	bo.Engine.NoSpin = opts.NoSpin
	if bar := newBar(stderr, "benchmarking"); bar != nil {
		bo.Progress = func(i, n int) {
			bar.ChangeMax(n)
			_ = bar.Set(i)
		}
		defer bar.Finish()
	}
	res, err := bench.Run(ctx, bo)
	if err != nil {
		return err
	}
	if opts.JSON {
		return writeJSON(stdout, res)
	}
	threads := "default threads"
	if res.Threads > 0 {
		threads = plural(res.Threads, "thread", "threads")
	}
	fmt.Fprintf(stdout, "%s, %s, %d warm-up + %d measured inferences", res.Engine, threads, res.Warmup, res.Iters)
	if len(res.Models) == 2 {
		fmt.Fprint(stdout, " of each model, interleaved")
	}
	if res.NoSpin {
		fmt.Fprint(stdout, ", ONNX Runtime threads not spinning")
	}
	fmt.Fprintln(stdout)
	for _, in := range res.Inputs {
		fmt.Fprintf(stdout, "input %s %s %s (%s)\n", in.Name, in.DType, shapeString(in.Shape), in.Source)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "MODEL\tMIN ms\tMEDIAN ms\tP90 ms\tMEAN ms\tTHROUGHPUT/s\tGO ALLOC/RUN\tOPEN s\t")
	var paths []string
	for _, m := range res.Models {
		paths = append(paths, m.Path)
	}
	labels := modelLabels(paths)
	for i, m := range res.Models {
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%.3f\t%.3f\t%.1f\t%s\t%.2f\t\n", labels[i],
			m.Latency.Min, m.Latency.Median, m.Latency.P90, m.Latency.Mean, m.Throughput, fmtBytes(float64(m.GoAllocBytesPerRun)), m.OpenSeconds)
	}
	tw.Flush()
	for _, m := range res.Models {
		if len(m.NodeProviders) > 0 {
			fmt.Fprintf(stdout, "%s nodes by execution provider: %s\n", filepath.Base(m.Path), ort.FormatCounts(m.NodeProviders))
		}
	}
	if len(res.Models) == 2 {
		fmt.Fprintf(stdout, "median %s / %s = %.3f\n", labels[0], labels[1], res.MedianRatio)
	}
	mem := res.Memory
	if mem.VmHWMAfterBytes > 0 {
		fmt.Fprintf(stdout, "memory: peak RSS %s (%s before opening), RSS now %s, Go heap peak %s\n",
			fmtBytes(float64(mem.VmHWMAfterBytes)), fmtBytes(float64(mem.VmHWMBeforeBytes)), fmtBytes(float64(mem.VmRSSAfterBytes)), fmtBytes(float64(mem.GoHeapPeakBytes)))
		if int64(mem.GoHeapPeakBytes) > mem.VmHWMAfterBytes {
			fmt.Fprintln(stdout, "  (the Go heap peak exceeds the peak RSS: it counts memory allocated but never written, which the kernel has not made resident)")
		}
	} else {
		fmt.Fprintf(stdout, "memory: Go heap peak %s (no /proc/self/status here)\n", fmtBytes(float64(mem.GoHeapPeakBytes)))
	}
	return nil
}

// modelLabels names models for a table: their file names, or, where two
// share one, as much of their paths as tells them apart.
func modelLabels(paths []string) []string {
	labels := make([]string, len(paths))
	for i, p := range paths {
		labels[i] = filepath.Base(p)
	}
	for depth := 2; depth <= 8; depth++ {
		dup := false
		for i := range labels {
			for j := range labels[:i] {
				if labels[i] == labels[j] {
					dup = true
					labels[i], labels[j] = lastElems(paths[i], depth), lastElems(paths[j], depth)
				}
			}
		}
		if !dup {
			return labels
		}
	}
	for i := range labels {
		labels[i] = fmt.Sprintf("%s (%c)", labels[i], 'A'+i)
	}
	return labels
}

// lastElems is the last n elements of path.
func lastElems(path string, n int) string {
	parts := strings.Split(filepath.ToSlash(filepath.Clean(path)), "/")
	if len(parts) > n {
		parts = parts[len(parts)-n:]
	}
	return strings.Join(parts, "/")
}

func fmtBytes(b float64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.2f GiB", b/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", b/(1<<10))
	}
	return fmt.Sprintf("%.0f B", b)
}
