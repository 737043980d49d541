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
	"github.com/wtonnx/wtonnx/provenance"
	"github.com/wtonnx/wtonnx/wtconv"
)

type convertOptions struct {
	Input, Output     string
	Select, Exclude   string
	MinKernel         int
	Levels            string
	Kernel            int
	Wavelet           string
	Init              string
	Seed              uint64
	Weights           string
	WeightsPrefix     []string
	InputShapes       []string
	Format            string
	DryRun, JSON      bool
	Force             bool
	ExternalThreshold int64
	KeepOverridable   bool
	// set records which flags were given, for the checks that depend on it.
	set func(flag string) bool
}

// validate checks every flag value before any work; each message names the
// flag (and the other flag of a conflict).
func (o *convertOptions) validate() error {
	set := o.set
	if set == nil {
		set = func(string) bool { return false }
	}
	if o.Output == "" && !o.DryRun {
		return errors.New("convert: -o OUT.onnx is required (or --dry-run)")
	}
	if set("kernel") && (o.Kernel < 1 || o.Kernel > 31) {
		return fmt.Errorf("--kernel %d: want a whole number from 1 to 31", o.Kernel)
	}
	if o.MinKernel < 0 {
		return fmt.Errorf("--min-kernel %d: want 0 or more", o.MinKernel)
	}
	if o.ExternalThreshold < 0 {
		return fmt.Errorf("--external-data-threshold %d: want 0 (never) or a byte count", o.ExternalThreshold)
	}
	if _, err := wtconv.WaveletByName(o.Wavelet); err != nil {
		return fmt.Errorf("--wavelet %q: %w", o.Wavelet, err)
	}
	switch convert.InitMode(o.Init) {
	case convert.InitPreserve, convert.InitRandom, convert.InitImport:
	default:
		return fmt.Errorf("--init %q: want preserve, random or import", o.Init)
	}
	switch convert.Format(o.Format) {
	case convert.FormatOps, convert.FormatFunction, convert.FormatCustomOp:
	default:
		return fmt.Errorf("--format %q: want ops, function or customop", o.Format)
	}
	if set("seed") && o.Init != string(convert.InitRandom) {
		return fmt.Errorf("--seed needs --init random (--init is %s)", o.Init)
	}
	if o.Weights != "" && o.Init != string(convert.InitImport) {
		return fmt.Errorf("--weights needs --init import (--init is %s)", o.Init)
	}
	if o.Init == string(convert.InitImport) && o.Weights == "" {
		return errors.New("--init import needs --weights FILE")
	}
	if len(o.WeightsPrefix) > 0 && o.Init != string(convert.InitImport) {
		return fmt.Errorf("--weights-prefix needs --init import (--init is %s)", o.Init)
	}
	if o.DryRun && o.ExternalThreshold > 0 {
		return errors.New("--external-data-threshold and --dry-run conflict: a dry run writes nothing")
	}
	if o.DryRun && o.Force {
		return errors.New("--force and --dry-run conflict: a dry run writes nothing")
	}
	if o.Output != "" && !o.DryRun {
		return checkOutputs(o.Force, []string{o.Input}, o.outputFile())
	}
	return nil
}

func (o *convertOptions) outputFile() outputFile {
	return outputFile{Flag: "-o", Path: o.Output, Exts: []string{".onnx"}}
}

func newConvertCmd() *cobra.Command {
	opts := &convertOptions{}
	cmd := &cobra.Command{
		Use:   "convert IN.onnx -o OUT.onnx",
		Short: "Turn depthwise convolutions into WTConv layers",
		Long: `Rewrite the depthwise Conv nodes of a model into WTConv layers: by default in
standard ONNX operators (Conv, Mul, Gather, ConvTranspose, Add, Slice), or as
one node per layer calling a model-local ONNX function whose body is that
standard-operator form (--format function, IR 8 and opset 10 or newer), or as
one fused ai.wtonnx WTConv node per layer (--format customop).

Weights that the model also lists as graph inputs (every initializer of an
IR 3 model; PyTorch exports with keep_initializers_as_inputs) are taken at
their stored values, and the converted model no longer lists the ones the
WTConv layers consume as inputs; --keep-overridable-weights leaves such
convs alone instead.

On a GPU (--ep cuda or tensorrt, Triton GPU instances) use the default
--format ops (or function): every node runs on the GPU. The customop form's
fused nodes run on ONNX Runtime's CPU execution provider only, so on a GPU
each one copies its tensors to the host and back; it is the fast form on the
CPU. 'wtonnx run --json' lists the provider each node ran on.

--init preserve (default) keeps each original conv as the base branch and
starts the wavelet branch at zero, so the converted model computes what the
original did. --init random draws the wavelet convs like PyTorch does.
--init import --weights FILE takes every tensor from a checkpoint with the
official WTConv key names (.safetensors or .npz).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Input = args[0]
			opts.set = cmd.Flags().Changed
			return runConvert(opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Output, "output", "o", "", "where to write the converted model")
	f.StringVar(&opts.Select, "select", "", "convert only nodes whose name matches this regular expression")
	f.StringVar(&opts.Exclude, "exclude", "", "skip nodes whose name matches this regular expression")
	f.IntVar(&opts.MinKernel, "min-kernel", 0, "skip convs whose kernel is smaller than this")
	f.StringVar(&opts.Levels, "levels", "auto", "wavelet levels: auto (from each conv's input size, at most 5) or N")
	f.IntVar(&opts.Kernel, "kernel", 0, "kernel size of the wavelet-domain convs, 1 to 31 (default 5, or the checkpoint's)")
	f.StringVar(&opts.Wavelet, "wavelet", "db1", "wavelet of the transform: db1 (Haar, the authors' default) through db38, PyWavelets' names")
	f.StringVar(&opts.Init, "init", "preserve", "preserve, random or import")
	f.Uint64Var(&opts.Seed, "seed", defaultSeed, "seed for --init random")
	f.StringVar(&opts.Weights, "weights", "", "checkpoint for --init import (`FILE`.safetensors or .npz)")
	f.StringArrayVar(&opts.WeightsPrefix, "weights-prefix", nil, "map checkpoint key prefixes, FROM=TO with FROM a regular expression (repeatable)")
	f.StringArrayVar(&opts.InputShapes, "input-shape", nil, "fix a dynamic input's shape, NAME=1x3x224x224 (repeatable)")
	f.StringVar(&opts.Format, "format", "ops", "ops (standard operators), function (one node per layer calling a model-local ONNX function) or customop (one fused ai.wtonnx node per layer)")
	f.BoolVar(&opts.DryRun, "dry-run", false, "print the plan and write nothing")
	f.BoolVar(&opts.JSON, "json", false, "print the report as JSON")
	f.BoolVar(&opts.Force, "force", false, "overwrite an existing output file")
	f.Int64Var(&opts.ExternalThreshold, "external-data-threshold", 0, "store initializers of at least this many `BYTES` in OUT.onnx.data (0: never)")
	f.BoolVar(&opts.KeepOverridable, "keep-overridable-weights", false, "leave alone convs whose weights the model also lists as graph inputs (callers may override them)")
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
	co.MinKernel, co.Kernel, co.Seed, co.Wavelet = opts.MinKernel, opts.Kernel, opts.Seed, opts.Wavelet
	co.KeepOverridableWeights = opts.KeepOverridable
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
		if co.Weights, err = checkpoint.Open(opts.Weights); err != nil {
			return co, err
		}
	}
	return co, nil
}

func runConvert(opts *convertOptions, stdout, stderr io.Writer) error {
	if err := opts.validate(); err != nil {
		return err
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
		return printConvertReport(stdout, stderr, rep, opts, nil)
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
	// Even a model with nothing to convert is written through Save, not
	// copied: every model wtonnx writes carries its provenance.
	rec, err := convertProvenance(opts)
	if err != nil {
		return err
	}
	provenance.Stamp(out, rec)
	files, err := onnxmodel.SaveFiles(out, opts.Output, onnxmodel.SaveOptions{Overwrite: opts.Force, ExternalDataThreshold: opts.ExternalThreshold})
	if err != nil {
		return err
	}
	return printConvertReport(stdout, stderr, rep, opts, files)
}

// convertProvenance records how convert made its output: the options that
// shape it (as given, defaults included) and the source's SHA-256.
func convertProvenance(opts *convertOptions) (provenance.Record, error) {
	sum, err := provenance.FileSHA256(opts.Input)
	if err != nil {
		return provenance.Record{}, fmt.Errorf("provenance: %w", err)
	}
	o := map[string]string{
		"init":   opts.Init,
		"levels": opts.Levels,
		"format": opts.Format,
	}
	if opts.Wavelet != "" && opts.Wavelet != wtconv.DefaultWavelet {
		o["wavelet"] = opts.Wavelet
	}
	if opts.Kernel != 0 {
		o["kernel"] = fmt.Sprint(opts.Kernel)
	}
	if opts.Init == string(convert.InitRandom) {
		o["seed"] = fmt.Sprint(opts.Seed)
	}
	if opts.Weights != "" {
		ws, err := provenance.FileSHA256(opts.Weights)
		if err != nil {
			return provenance.Record{}, fmt.Errorf("provenance: %w", err)
		}
		o["weights"], o["weights.sha256"] = filepath.Base(opts.Weights), ws
	}
	for k, v := range map[string]string{
		"select": opts.Select, "exclude": opts.Exclude,
		"weights-prefix": strings.Join(opts.WeightsPrefix, ","), "input-shape": strings.Join(opts.InputShapes, ","),
	} {
		if v != "" {
			o[k] = v
		}
	}
	if opts.MinKernel != 0 {
		o["min-kernel"] = fmt.Sprint(opts.MinKernel)
	}
	return provenance.Record{
		Version: provenance.Version(), Command: "convert", Options: o,
		Source: filepath.Base(opts.Input), SourceSHA256: sum,
	}, nil
}

// convertJSON is convert --json: the report plus where it went.
type convertJSON struct {
	*convert.Report
	Input  string   `json:"input"`
	Output *string  `json:"output"` // null for a dry run without -o
	DryRun bool     `json:"dry_run"`
	Files  []string `json:"files_written"`
}

// printConvertReport prints the report; files are those written (nil for a
// dry run).
func printConvertReport(stdout, stderr io.Writer, rep *convert.Report, opts *convertOptions, files []string) error {
	for _, w := range rep.Warnings {
		fmt.Fprintln(stderr, "wtonnx: warning:", w)
	}
	for _, n := range rep.Notes {
		fmt.Fprintln(stderr, "wtonnx: note:", n)
	}
	if opts.JSON {
		j := convertJSON{Report: rep, Input: opts.Input, DryRun: opts.DryRun, Files: files}
		if j.Files == nil {
			j.Files = []string{}
		}
		if opts.Output != "" {
			j.Output = &opts.Output
		}
		return writeJSON(stdout, j)
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
	printSkipped(stdout, rep.Skipped)
	t := rep.Totals
	verb := "Converted"
	if files == nil {
		verb = "Would convert"
	}
	fmt.Fprintf(stdout, "\n%s %s (init %s, format %s), skipped %d", verb, plural(t.Converted, "layer", "layers"), rep.Init, rep.Format, t.Skipped)
	if t.Converted > 0 {
		fmt.Fprintf(stdout, "; params of those layers %d -> %d, MFLOPs %s -> %s", t.ParamsBefore, t.ParamsAfter, mflops(t.FLOPsBefore), mflops(t.FLOPsAfter))
	}
	fmt.Fprintln(stdout)
	if t.FLOPsUnknown > 0 {
		fmt.Fprintf(stdout, "(MFLOPs ?: the input size of %s is not static; give --input-shape NAME=1x3x224x224 to count them)\n", plural(t.FLOPsUnknown, "layer", "layers"))
	}
	switch len(files) {
	case 0:
	case 1:
		fmt.Fprintf(stdout, "Wrote %s\n", files[0])
	default:
		fmt.Fprintf(stdout, "Wrote %s (with its external data in %s)\n", files[0], strings.Join(files[1:], ", "))
	}
	return nil
}

// printSkipped lists the convs left alone: one line per conv, or one line
// for all of them when they share their reason.
func printSkipped(w io.Writer, skipped []convert.Skipped) {
	if len(skipped) == 0 {
		return
	}
	shared := true
	for _, s := range skipped {
		shared = shared && s.Reason == skipped[0].Reason
	}
	if shared && len(skipped) > 1 {
		fmt.Fprintf(w, "\nLeft as they are: %s (%s ... %s): %s\n", plural(len(skipped), "conv", "convs"), skipped[0].Node, skipped[len(skipped)-1].Node, skipped[0].Reason)
		return
	}
	// Group the convs that share a reason; the convs inside WTConv layers
	// of an earlier conversion make one group whatever their layer.
	var order []string
	byReason := map[string][]string{}
	layers := map[string]bool{}
	for _, s := range skipped {
		reason := s.Reason
		if l, ok := strings.CutPrefix(reason, "part of the WTConv layer "); ok {
			layers[l] = true
			reason = "part of a WTConv layer (converted already)"
		}
		if _, ok := byReason[reason]; !ok {
			order = append(order, reason)
		}
		byReason[reason] = append(byReason[reason], s.Node)
	}
	if len(layers) > 0 {
		for i, r := range order {
			if r == "part of a WTConv layer (converted already)" {
				order[i] = fmt.Sprintf("parts of the %s the model holds already", plural(len(layers), "WTConv layer", "WTConv layers"))
				byReason[order[i]] = byReason[r]
			}
		}
	}
	fmt.Fprintf(w, "\nLeft as they are:\n")
	for _, r := range order {
		nodes := byReason[r]
		if len(nodes) > 3 {
			fmt.Fprintf(w, "  %s (%s ... %s): %s\n", plural(len(nodes), "conv", "convs"), nodes[0], nodes[len(nodes)-1], r)
			continue
		}
		for _, n := range nodes {
			fmt.Fprintf(w, "  %s: %s\n", n, r)
		}
	}
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
