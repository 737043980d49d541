package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wtonnx/wtonnx/graph"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/runtime/engines"
	"github.com/wtonnx/wtonnx/runtime/ort"
	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/verify"
)

// engineFlags are the flags run, verify and bench share to open engines.
type engineFlags struct {
	EP          string
	Device      int
	Threads     int
	ORTLib      string
	CustomOpLib string
}

func (e *engineFlags) add(f *pflag.FlagSet) {
	f.StringVar(&e.EP, "ep", "cpu", "ONNX Runtime execution provider: cpu, cuda, tensorrt or auto (GPU if available, else CPU)")
	f.IntVar(&e.Device, "device", 0, "GPU ordinal for --ep cuda/tensorrt")
	f.IntVar(&e.Threads, "threads", 0, "intra-op threads (0: the engine's default)")
	f.StringVar(&e.ORTLib, "ort-lib", "", "ONNX Runtime shared library `FILE` (default: $WTONNX_ORT_LIB, then the copy 'make setup' caches)")
	f.StringVar(&e.CustomOpLib, "customop-lib", "", "wtonnx custom-op library `FILE` for ai.wtonnx nodes (default: $WTONNX_CUSTOMOP_LIB, then the build of 'make customop')")
}

// validate checks the engine flags' values before any work.
func (e *engineFlags) validate() error {
	if e.Threads < 0 {
		return fmt.Errorf("--threads %d: want 0 (the engine's default) or more", e.Threads)
	}
	if e.Device < 0 {
		return fmt.Errorf("--device %d: want a GPU ordinal, 0 or more", e.Device)
	}
	return nil
}

func (e *engineFlags) options(stderr io.Writer) engines.Options {
	return engines.Options{
		EP: e.EP, DeviceID: e.Device, Threads: e.Threads, ORTLibrary: e.ORTLib, CustomOpLibrary: e.CustomOpLib,
		Logf: noteTo(stderr),
	}
}

// noteTo prints one-line notes on stderr.
func noteTo(stderr io.Writer) func(string, ...any) {
	return func(format string, args ...any) {
		fmt.Fprintf(stderr, "wtonnx: note: "+format+"\n", args...)
	}
}

// inputFlags are the flags that say where inputs come from.
type inputFlags struct {
	Files  []string
	Seed   uint64
	Dist   string
	Shapes []string
}

func (in *inputFlags) add(f *pflag.FlagSet) {
	f.StringArrayVarP(&in.Files, "input", "i", nil, "feed an input from a .npy file, NAME=FILE (or just FILE for a model's only input; repeatable)")
	f.Uint64Var(&in.Seed, "seed", defaultSeed, "seed of the random values fed to inputs without a file")
	f.StringVar(&in.Dist, "dist", "uniform", "distribution of random float inputs: uniform (in [-1, 1)) or normal")
	f.StringArrayVar(&in.Shapes, "input-shape", nil, "shape of an input with dynamic dimensions, NAME=1x3x224x224 (repeatable)")
}

func (in *inputFlags) spec() (verify.InputSpec, error) {
	s := verify.InputSpec{Seed: in.Seed, Dist: in.Dist}
	for _, v := range in.Files {
		name, file, ok := strings.Cut(v, "=")
		if !ok {
			name, file = "", v
		}
		if file == "" {
			return s, fmt.Errorf("--input %q: want NAME=FILE.npy", v)
		}
		if s.Files == nil {
			s.Files = map[string]string{}
		}
		if prev, dup := s.Files[name]; dup {
			return s, fmt.Errorf("--input: %q is given twice (%s and %s)", name, prev, file)
		}
		s.Files[name] = file
	}
	shapes, err := parseInputShapes(in.Shapes)
	if err != nil {
		return s, fmt.Errorf("--input-shape: %w", err)
	}
	s.Shapes = shapes
	return s, nil
}

type runOptions struct {
	Model  string
	Engine string
	engineFlags
	inputFlags
	OutDir string
	JSON   bool
}

func newRunCmd() *cobra.Command {
	opts := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run MODEL.onnx",
		Short: "Run a model once and print (or save) its outputs",
		Long: `Run a model once on ONNX Runtime (--engine ort) or the pure-Go engine
(--engine go). Inputs come from .npy files (-i NAME=FILE.npy) or are random
(seeded, uniform in [-1, 1)); integer inputs without a file are zeros.
Prints each output's shape, min, max and mean, and the time taken; -o DIR also
writes every output as DIR/<output name>.npy (characters other than letters,
digits, '.', '-' and '_' become '_').`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Model = args[0]
			return runRun(cmd.Context(), opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Engine, "engine", "ort", "engine: ort (ONNX Runtime) or go (pure Go)")
	opts.engineFlags.add(f)
	opts.inputFlags.add(f)
	f.StringVarP(&opts.OutDir, "output-dir", "o", "", "write each output to DIR/<name>.npy")
	f.BoolVar(&opts.JSON, "json", false, "print the result as JSON")
	return cmd
}

// validate checks every flag value before any work.
func (o *runOptions) validate() error {
	switch o.Engine {
	case "ort", "go":
	default:
		return fmt.Errorf("--engine %q: want ort or go", o.Engine)
	}
	if err := o.engineFlags.validate(); err != nil {
		return err
	}
	if _, err := o.spec(); err != nil {
		return err
	}
	if o.OutDir != "" {
		if st, err := os.Stat(o.OutDir); err == nil && !st.IsDir() {
			return fmt.Errorf("-o %s: that is a file; -o names a folder for the outputs", o.OutDir)
		}
	}
	return nil
}

// checkModelConvs refuses a model whose Conv nodes contradict the ONNX
// specification, naming the node and tensor, before an engine sees it.
func checkModelConvs(path string, shapes map[string][]int64) error {
	m, err := onnxmodel.Load(path)
	if err != nil {
		return err
	}
	inferred, err := graph.InferShapes(m, shapes)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := graph.CheckConvs(m, inferred); err != nil {
		return fmt.Errorf("%s: invalid model: %w", path, err)
	}
	return nil
}

func runRun(ctx context.Context, opts *runOptions, stdout, stderr io.Writer) error {
	if err := opts.validate(); err != nil {
		return err
	}
	spec, err := opts.spec()
	if err != nil {
		return err
	}
	if err := checkModelConvs(opts.Model, spec.Shapes); err != nil {
		return err
	}
	x, err := verify.Execute(ctx, verify.ExecuteOptions{
		Model: opts.Model, Kind: opts.Engine, Engine: opts.options(stderr), Inputs: spec,
	})
	if err != nil {
		return err
	}
	if opts.OutDir != "" {
		if err := writeOutputs(opts.OutDir, x); err != nil {
			return err
		}
	}
	if opts.JSON {
		return writeJSON(stdout, x)
	}
	fmt.Fprintf(stdout, "%s on %s: ran in %s (opened in %s)\n", x.Model, x.Engine, fmtSeconds(x.RunSeconds), fmtSeconds(x.OpenSeconds))
	for _, in := range x.Inputs {
		fmt.Fprintf(stdout, "input  %s %s %s (%s)\n", in.Name, in.DType, shapeString(in.Shape), in.Source)
	}
	if len(x.NodeProviders) > 0 {
		fmt.Fprintf(stdout, "nodes by execution provider: %s\n", ort.FormatCounts(x.NodeProviders))
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "OUTPUT\tDTYPE\tSHAPE\tMIN\tMAX\tMEAN\tFILE")
	for _, o := range x.Outputs {
		file := o.File
		if file == "" {
			file = "-"
		}
		extra := ""
		if o.NaN > 0 || o.Inf > 0 {
			extra = fmt.Sprintf(" (%d NaN, %d Inf)", o.NaN, o.Inf)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.6g\t%.6g\t%.6g%s\t%s\n", o.Name, o.DType, shapeString(o.Shape), o.Min, o.Max, o.Mean, extra, file)
	}
	return tw.Flush()
}

// writeOutputs writes every output as DIR/<sanitized name>.npy. Each file
// appears complete or not at all; on failure the files this call wrote are
// removed again.
func writeOutputs(dir string, x *verify.Execution) (err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("output folder: %w", err)
	}
	var written []string
	defer func() {
		if err != nil {
			for _, p := range written {
				os.Remove(p)
			}
		}
	}()
	names := make([]string, len(x.Outputs))
	for i, o := range x.Outputs {
		names[i] = o.Name
	}
	files := verify.OutputFileNames(names)
	for i := range x.Outputs {
		o := &x.Outputs[i]
		path := filepath.Join(dir, files[i])
		if err := tensor.WriteNPY(path, x.Tensors[o.Name]); err != nil {
			return fmt.Errorf("writing output %q to %s: %w", o.Name, path, err)
		}
		written = append(written, path)
		o.File = path
	}
	return nil
}

func shapeString(shape []int) string {
	if len(shape) == 0 {
		return "scalar"
	}
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = fmt.Sprint(d)
	}
	return strings.Join(parts, "x")
}

func fmtSeconds(s float64) string {
	switch {
	case s >= 1:
		return fmt.Sprintf("%.2f s", s)
	case s >= 1e-3:
		return fmt.Sprintf("%.1f ms", s*1e3)
	}
	return fmt.Sprintf("%.0f µs", s*1e6)
}
