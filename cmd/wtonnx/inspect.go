package main

import (
	"encoding/json"
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
	Model       string
	InputShapes []string
	JSON        bool
}

func newInspectCmd() *cobra.Command {
	opts := &inspectOptions{}
	cmd := &cobra.Command{
		Use:   "inspect MODEL",
		Short: "Summarise a model and list its depthwise convolutions",
		Long: `Print the model's IR and opsets, inputs and outputs, an operator histogram and
every depthwise or grouped convolution: channels, kernel, stride, padding,
dilation, feature-map size, and whether it can become a WTConv layer (if not,
why).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Model = args[0]
			return runInspect(opts, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringArrayVar(&opts.InputShapes, "input-shape", nil, "fix a dynamic input's shape, NAME=1x3x224x224 (repeatable)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON for scripts")
	return cmd
}

func runInspect(opts *inspectOptions, out io.Writer) error {
	shapes, err := parseInputShapes(opts.InputShapes)
	if err != nil {
		return err
	}
	m, err := onnxmodel.Load(opts.Model)
	if err != nil {
		return err
	}
	s, err := inspect.Inspect(m, shapes)
	if err != nil {
		return fmt.Errorf("%s: %w", opts.Model, err)
	}
	if opts.JSON {
		return writeJSON(out, s)
	}
	printSummary(out, opts.Model, s)
	return nil
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
	fmt.Fprintf(out, "\n  %d nodes\n\n", s.Nodes)
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	for _, t := range s.Inputs {
		fmt.Fprintf(tw, "  input\t%s\t%s\t[%s]\n", t.Name, strings.ToLower(t.DType), strings.Join(t.Dims, " x "))
	}
	for _, t := range s.Outputs {
		fmt.Fprintf(tw, "  output\t%s\t%s\t[%s]\n", t.Name, strings.ToLower(t.DType), strings.Join(t.Dims, " x "))
	}
	tw.Flush()
	fmt.Fprintf(out, "\nOperators:")
	for i, o := range s.Operators {
		if i%6 == 0 {
			fmt.Fprint(out, "\n ")
		}
		fmt.Fprintf(out, " %s x%d", o.Op, o.Count)
	}
	fmt.Fprintf(out, "\n\nDepthwise and grouped convolutions: %d depthwise, %d can become WTConv\n", s.Depthwise, s.Candidates)
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
