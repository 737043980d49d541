package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/convert"
	"github.com/wtonnx/wtonnx/fuse"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/provenance"
)

type fuseOptions struct {
	Input, Output     string
	Format            string
	Select, Exclude   string
	Seed              uint64
	DryRun, JSON      bool
	Force             bool
	ExternalThreshold int64
}

func newFuseCmd() *cobra.Command {
	opts := &fuseOptions{}
	cmd := &cobra.Command{
		Use:   "fuse IN.onnx -o OUT.onnx",
		Short: "Rewrite the WTConv layers a model holds (e.g. PyTorch's export) into another form",
		Long: `Find every WTConv layer of a model by its structure (PyTorch's export of the
authors' WTConv2d, or any form wtonnx writes) and write it again as one fused
ai.wtonnx WTConv node (--format customop, the default), a model-local
function (function) or the clean standard-operator form (ops). The shape
arithmetic only a layer used goes with it; every other node is left as it
was. Before anything is written each layer is checked on the Go engine: the
recognised subgraph against its replacement on a random input of the layer's
shape; a difference refuses the model, naming the layer.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Input = args[0]
			return runFuse(opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Output, "output", "o", "", "where to write the fused model")
	f.StringVar(&opts.Format, "format", "customop", "customop (one fused ai.wtonnx node per layer), function (one node calling a model-local function) or ops (standard operators)")
	f.StringVar(&opts.Select, "select", "", "fuse only layers whose name matches this regular expression")
	f.StringVar(&opts.Exclude, "exclude", "", "leave layers whose name matches this regular expression")
	f.Uint64Var(&opts.Seed, "seed", 0, "seed of the numerical check's random input")
	f.BoolVar(&opts.DryRun, "dry-run", false, "print the plan and write nothing")
	f.BoolVar(&opts.JSON, "json", false, "print the report as JSON")
	f.BoolVar(&opts.Force, "force", false, "overwrite an existing output file")
	f.Int64Var(&opts.ExternalThreshold, "external-data-threshold", 0, "store initializers of at least this many bytes in OUT.onnx.data (0: never)")
	return cmd
}

func (o *fuseOptions) validate() error {
	if o.Output == "" && !o.DryRun {
		return errors.New("fuse: -o OUT.onnx is required (or --dry-run)")
	}
	switch convert.Format(o.Format) {
	case convert.FormatOps, convert.FormatFunction, convert.FormatCustomOp:
	default:
		return fmt.Errorf("--format %q: want customop, function or ops (unknown format)", o.Format)
	}
	if o.ExternalThreshold < 0 {
		return fmt.Errorf("--external-data-threshold %d: want 0 (never) or a byte count", o.ExternalThreshold)
	}
	if o.Output != "" && !o.DryRun {
		return checkOutputs(o.Force, []string{o.Input}, outputFile{Flag: "-o", Path: o.Output, Exts: []string{".onnx"}})
	}
	return nil
}

func runFuse(opts *fuseOptions, stdout, stderr io.Writer) error {
	if err := opts.validate(); err != nil {
		return err
	}
	fo := fuse.Options{Format: convert.Format(opts.Format), Seed: opts.Seed}
	var err error
	if opts.Select != "" {
		if fo.Select, err = regexp.Compile(opts.Select); err != nil {
			return fmt.Errorf("--select: %w", err)
		}
	}
	if opts.Exclude != "" {
		if fo.Exclude, err = regexp.Compile(opts.Exclude); err != nil {
			return fmt.Errorf("--exclude: %w", err)
		}
	}
	m, err := onnxmodel.Load(opts.Input)
	if err != nil {
		return err
	}
	if opts.DryRun {
		rep, err := fuse.Plan(m, fo)
		if err != nil {
			return fmt.Errorf("%s: %w", opts.Input, err)
		}
		return printFuseReport(stdout, stderr, rep, opts, "would fuse")
	}
	out, rep, err := fuse.Fuse(m, fo)
	if err != nil {
		return fmt.Errorf("%s: %w", opts.Input, err)
	}
	// Even a model with nothing to fuse is written through Save: every
	// model wtonnx writes carries its provenance (on a copy: m is the input).
	sum, err := provenance.FileSHA256(opts.Input)
	if err != nil {
		return fmt.Errorf("provenance: %w", err)
	}
	o := map[string]string{"format": opts.Format, "select": opts.Select, "exclude": opts.Exclude}
	for k, v := range o {
		if v == "" {
			delete(o, k)
		}
	}
	out = proto.Clone(out).(*onnxpb.ModelProto)
	provenance.Stamp(out, provenance.Record{Version: provenance.Version(), Command: "fuse", Options: o,
		Source: filepath.Base(opts.Input), SourceSHA256: sum})
	if _, err := onnxmodel.SaveFiles(out, opts.Output, onnxmodel.SaveOptions{Overwrite: opts.Force, ExternalDataThreshold: opts.ExternalThreshold}); err != nil {
		return err
	}
	return printFuseReport(stdout, stderr, rep, opts, "fused")
}

func printFuseReport(stdout, stderr io.Writer, rep *fuse.Report, opts *fuseOptions, verb string) error {
	for _, w := range rep.Warnings {
		fmt.Fprintln(stderr, "wtonnx: warning:", w)
	}
	if opts.JSON {
		return writeJSON(stdout, rep)
	}
	if len(rep.Fused) > 0 {
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "LAYER\tFROM\tC\tINPUT\tBASE\tK\tLEVELS\tSTRIDE\tWAVELET\tPARAMS\tNODES\tCHECK\n")
		for _, l := range rep.Fused {
			check := "-"
			if l.CheckMaxAbs > 0 {
				check = fmt.Sprintf("%.1e", l.CheckMaxDiff/l.CheckMaxAbs)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%dx%d\t%d\t%d\t%d\t%s\t%d\t%d\t%s\n", l.Name, l.From, l.Channels, dims(l.InputHW, "x"),
				l.BaseKernel[0], l.BaseKernel[1], l.Kernel, l.Levels, l.Stride, l.Wavelet, l.Params, l.Nodes, check)
		}
		tw.Flush()
	}
	if len(rep.Skipped) > 0 {
		fmt.Fprintf(stdout, "\nLeft as they are:\n")
		for _, s := range rep.Skipped {
			fmt.Fprintf(stdout, "  %s: %s\n", s.Name, s.Reason)
		}
	}
	if len(rep.NearMisses) > 0 {
		fmt.Fprintf(stdout, "\nNot recognised (near misses):\n")
		for _, s := range rep.NearMisses {
			fmt.Fprintf(stdout, "  %s: %s\n", s.Node, s.Reason)
		}
	}
	after := ""
	if rep.NodesAfter > 0 {
		after = fmt.Sprintf(" -> %d", rep.NodesAfter)
	}
	fmt.Fprintf(stdout, "\n%s%s %d layers (format %s), skipped %d; nodes %d%s\n", string(verb[0]-32), verb[1:], len(rep.Fused), rep.Format,
		len(rep.Skipped), rep.NodesBefore, after)
	if verb == "fused" {
		fmt.Fprintf(stdout, "Wrote %s\n", opts.Output)
	}
	return nil
}
