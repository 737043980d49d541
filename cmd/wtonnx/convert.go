package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/tabwriter"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/wtonnx/wtonnx/checkpoint"
	"github.com/wtonnx/wtonnx/convert"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
)

type convertOptions struct {
	Input, Output     string
	Select, Exclude   string
	MinKernel         int
	Levels            string
	Kernel            int
	Init              string
	Seed              uint64
	Weights           string
	WeightsPrefix     []string
	InputShapes       []string
	Format            string
	DryRun, JSON      bool
	Force             bool
	ExternalThreshold int64
}

func newConvertCmd() *cobra.Command {
	opts := &convertOptions{}
	cmd := &cobra.Command{
		Use:   "convert IN.onnx -o OUT.onnx",
		Short: "Turn depthwise convolutions into WTConv layers",
		Long: `Rewrite the depthwise Conv nodes of a model into WTConv layers: by default in
standard ONNX operators (Conv, Mul, Gather, ConvTranspose, Add, Slice), or as
one fused ai.wtonnx WTConv node per layer (--format customop).

--init preserve (default) keeps each original conv as the base branch and
starts the wavelet branch at zero, so the converted model computes what the
original did. --init random draws the wavelet convs like PyTorch does.
--init import --weights FILE takes every tensor from a checkpoint with the
official WTConv key names (.safetensors or .npz).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Input = args[0]
			return runConvert(opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Output, "output", "o", "", "where to write the converted model")
	f.StringVar(&opts.Select, "select", "", "convert only nodes whose name matches this regular expression")
	f.StringVar(&opts.Exclude, "exclude", "", "skip nodes whose name matches this regular expression")
	f.IntVar(&opts.MinKernel, "min-kernel", 0, "skip convs whose kernel is smaller than this")
	f.StringVar(&opts.Levels, "levels", "auto", "wavelet levels: auto (from each conv's input size, at most 5) or N")
	f.IntVar(&opts.Kernel, "kernel", 0, "kernel size of the wavelet-domain convs (default 5, or the checkpoint's)")
	f.StringVar(&opts.Init, "init", "preserve", "preserve, random or import")
	f.Uint64Var(&opts.Seed, "seed", 0, "seed for --init random")
	f.StringVar(&opts.Weights, "weights", "", "checkpoint for --init import (.safetensors or .npz)")
	f.StringArrayVar(&opts.WeightsPrefix, "weights-prefix", nil, "map checkpoint key prefixes, FROM=TO with FROM a regular expression (repeatable)")
	f.StringArrayVar(&opts.InputShapes, "input-shape", nil, "fix a dynamic input's shape, NAME=1x3x224x224 (repeatable)")
	f.StringVar(&opts.Format, "format", "ops", "ops (standard operators), function (one node per layer calling a model-local ONNX function) or customop (one fused ai.wtonnx node per layer)")
	f.BoolVar(&opts.DryRun, "dry-run", false, "print the plan and write nothing")
	f.BoolVar(&opts.JSON, "json", false, "print the report as JSON")
	f.BoolVar(&opts.Force, "force", false, "overwrite an existing output file")
	f.Int64Var(&opts.ExternalThreshold, "external-data-threshold", 0, "store initializers of at least this many bytes in OUT.onnx.data (0: never)")
	return cmd
}

// buildConvertOptions turns flag values into convert.Options.
func buildConvertOptions(opts *convertOptions) (convert.Options, error) {
	var co convert.Options
	var err error
	if opts.Select != "" {
		if co.Select, err = regexp.Compile(opts.Select); err != nil {
			return co, fmt.Errorf("--select: %w", err)
		}
	}
	if opts.Exclude != "" {
		if co.Exclude, err = regexp.Compile(opts.Exclude); err != nil {
			return co, fmt.Errorf("--exclude: %w", err)
		}
	}
	if co.Levels, err = convert.ParseLevels(opts.Levels); err != nil {
		return co, fmt.Errorf("--levels: %w", err)
	}
	co.MinKernel, co.Kernel, co.Seed = opts.MinKernel, opts.Kernel, opts.Seed
	co.Init, co.Format = convert.InitMode(opts.Init), convert.Format(opts.Format)
	for _, r := range opts.WeightsPrefix {
		rule, err := convert.ParsePrefixRule(r)
		if err != nil {
			return co, fmt.Errorf("--weights-prefix: %w", err)
		}
		co.WeightsPrefix = append(co.WeightsPrefix, rule)
	}
	if co.InputShapes, err = parseInputShapes(opts.InputShapes); err != nil {
		return co, fmt.Errorf("--input-shape: %w", err)
	}
	if opts.Weights != "" {
		if co.Init != convert.InitImport {
			return co, fmt.Errorf("--weights needs --init import")
		}
		if co.Weights, err = checkpoint.Open(opts.Weights); err != nil {
			return co, err
		}
	}
	return co, nil
}

func runConvert(opts *convertOptions, stdout, stderr io.Writer) error {
	if opts.Output == "" && !opts.DryRun {
		return errors.New("convert: -o OUT.onnx is required (or --dry-run)")
	}
	if opts.Output != "" && !opts.DryRun {
		if err := checkOutputPath(opts.Input, opts.Output, opts.Force); err != nil {
			return err
		}
	}
	co, err := buildConvertOptions(opts)
	if err != nil {
		return err
	}
	m, err := onnxmodel.Load(opts.Input)
	if err != nil {
		return err
	}
	if opts.DryRun {
		rep, err := convert.Plan(m, co)
		if err != nil {
			return fmt.Errorf("%s: %w", opts.Input, err)
		}
		return printConvertReport(stdout, stderr, rep, opts, "would convert")
	}
	if bar := newBar(stderr, "converting"); bar != nil {
		co.Progress = func(done, total int) {
			if total >= 8 {
				bar.ChangeMax(total)
				_ = bar.Set(done)
			}
		}
		defer bar.Finish()
	}
	out, rep, err := convert.Convert(m, co)
	if err != nil {
		return fmt.Errorf("%s: %w", opts.Input, err)
	}
	if err := writeOrCopy(out, len(rep.Converted) == 0, opts.Input, opts.Output, opts.Force, opts.ExternalThreshold); err != nil {
		return err
	}
	return printConvertReport(stdout, stderr, rep, opts, "converted")
}

// writeOrCopy saves m to out, or, when nothing changed, copies the input
// file as it is, so a batch pipeline gets its output and the bytes are
// exactly the input's. A model with external data is saved whole instead:
// its .onnx alone would refer to a data file that is not beside the output.
func writeOrCopy(m *onnxpb.ModelProto, unchanged bool, in, out string, force bool, threshold int64) error {
	if unchanged && threshold == 0 && selfContained(in) {
		return copyFile(in, out, force)
	}
	return onnxmodel.Save(m, out, onnxmodel.SaveOptions{Overwrite: force, ExternalDataThreshold: threshold})
}

// checkOutputPath refuses to write over the input or an existing file.
func checkOutputPath(in, out string, force bool) error {
	ai, err1 := filepath.Abs(in)
	ao, err2 := filepath.Abs(out)
	if err1 == nil && err2 == nil && ai == ao {
		return fmt.Errorf("the output %s is the input; inputs are never modified", out)
	}
	if st1, err := os.Stat(in); err == nil {
		if st2, err := os.Stat(out); err == nil && os.SameFile(st1, st2) {
			return fmt.Errorf("the output %s is the input; inputs are never modified", out)
		}
	}
	if !force {
		if _, err := os.Lstat(out); err == nil {
			return fmt.Errorf("%s already exists (use --force to overwrite it)", out)
		}
	}
	// Fail now rather than after the work: the folder must exist.
	if st, err := os.Stat(filepath.Dir(out)); err != nil || !st.IsDir() {
		return fmt.Errorf("cannot write %s: the folder %s does not exist", out, filepath.Dir(out))
	}
	return nil
}

// selfContained tells whether the model file at path keeps all its tensors
// in itself (no external data).
func selfContained(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	_, err = onnxmodel.Parse(data)
	return err == nil
}

func copyFile(src, dst string, overwrite bool) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o644); err != nil { // CreateTemp makes it private
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if !overwrite {
		if _, err := os.Lstat(dst); err == nil {
			return fmt.Errorf("%s already exists", dst)
		}
	}
	return os.Rename(tmp.Name(), dst)
}

func printConvertReport(stdout, stderr io.Writer, rep *convert.Report, opts *convertOptions, verb string) error {
	for _, w := range rep.Warnings {
		fmt.Fprintln(stderr, "wtonnx: warning:", w)
	}
	if opts.JSON {
		return writeJSON(stdout, rep)
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	if len(rep.Converted) > 0 {
		fmt.Fprintf(tw, "NODE\tC\tINPUT\tBASE\tK\tLEVELS\tSTRIDE\tRF\tPARAMS\tMFLOPS\n")
		for _, l := range rep.Converted {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%d\t%d\t%d -> %d\t%d -> %d\t%s -> %s\n", l.Node, l.Channels, dims(l.InputHW, "x"),
				dims(l.BaseKernel, "x"), l.Kernel, l.Levels, l.Stride, l.RFBefore, l.RFAfter, l.ParamsBefore, l.ParamsAfter,
				mflops(l.FLOPsBefore), mflops(l.FLOPsAfter))
		}
		tw.Flush()
	}
	if len(rep.Skipped) > 0 {
		fmt.Fprintf(stdout, "\nLeft as they are:\n")
		for _, s := range rep.Skipped {
			fmt.Fprintf(stdout, "  %s: %s\n", s.Node, s.Reason)
		}
	}
	t := rep.Totals
	fmt.Fprintf(stdout, "\n%s %d layers (init %s, format %s), skipped %d; params of those layers %d -> %d, MFLOPs %s -> %s\n",
		strings.ToUpper(verb[:1])+verb[1:], t.Converted, rep.Init, rep.Format, t.Skipped, t.ParamsBefore, t.ParamsAfter,
		mflops(t.FLOPsBefore), mflops(t.FLOPsAfter))
	if verb == "converted" {
		fmt.Fprintf(stdout, "Wrote %s\n", opts.Output)
	}
	return nil
}

func mflops(f int64) string {
	if f == 0 {
		return "?"
	}
	return fmt.Sprintf("%.2f", float64(f)/1e6)
}

// newBar returns a progress bar on w when w is a terminal, else nil.
func newBar(w io.Writer, what string) *progressbar.ProgressBar {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return progressbar.NewOptions(1, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(what),
		progressbar.OptionClearOnFinish())
}
