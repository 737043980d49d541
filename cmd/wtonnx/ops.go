package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wtonnx/wtonnx/doctor"
)

type opsOptions struct {
	ORTLib      string
	CustomOpLib string
	JSON        bool
}

func newOpsCmd() *cobra.Command {
	opts := &opsOptions{}
	cmd := &cobra.Command{
		Use:   "ops",
		Short: "List the operators and opset ranges each engine supports",
		Long: `List what each engine runs. The Go engine: every operator with the opset
versions and attributes it supports (the registry the engine runs from), and
the element types it computes. ONNX Runtime: its version, which runs the
standard ONNX operator set of that version, and whether wtonnx's custom-op
library (ai.wtonnx WTConv) loads into it.

To see which operators of a given model the Go engine lacks, use
'wtonnx inspect MODEL'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runOps(opts, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.ORTLib, "ort-lib", "", "ONNX Runtime shared library `FILE` (default: $WTONNX_ORT_LIB, then the copy 'make setup' caches)")
	f.StringVar(&opts.CustomOpLib, "customop-lib", "", "wtonnx custom-op library `FILE` (default: $WTONNX_CUSTOMOP_LIB, then the build of 'make customop')")
	f.BoolVar(&opts.JSON, "json", false, "print JSON for scripts")
	return cmd
}

func runOps(opts *opsOptions, out io.Writer) error {
	r := doctor.Operators(doctor.Options{ORTLibrary: opts.ORTLib, CustomOpLibrary: opts.CustomOpLib})
	if opts.JSON {
		return writeJSON(out, r)
	}
	printOps(out, r)
	return nil
}

func printOps(out io.Writer, r *doctor.OpsReport) {
	fmt.Fprintf(out, "Go engine (go): %d operators\n  types: %s\n\n", len(r.Go.Operators), r.Go.Types)
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  OPERATOR\tOPSETS\tATTRIBUTES")
	for _, o := range r.Go.Operators {
		name := o.Name
		if o.Domain != "" {
			name = o.Domain + "." + o.Name
		}
		var attrs []string
		for _, a := range o.Attributes {
			attrs = append(attrs, a.String())
		}
		fmt.Fprintf(tw, "  %s\t%d-%d\t%s\n", name, o.Since, o.Until, strings.Join(attrs, " "))
	}
	tw.Flush()
	fmt.Fprintln(out)
	o := r.ORT
	if o.Error != "" {
		fmt.Fprintf(out, "ONNX Runtime (ort): not available: %s\n", o.Error)
	} else {
		fmt.Fprintf(out, "ONNX Runtime (ort) %s, %s\n  operators: %s\n", o.Version, o.Library, o.Operators)
	}
	c := o.CustomOp
	if c.Loads {
		fmt.Fprintf(out, "  custom op %s.%s: loads (%s)\n", c.Domain, c.Name, c.Library)
	} else {
		fmt.Fprintf(out, "  custom op %s.%s: not available: %s\n", c.Domain, c.Name, c.Error)
	}
}
