package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wtonnx/wtonnx/verify"
)

type verifyOptions struct {
	ModelA, ModelB string
	Engines        string
	engineFlags
	inputFlags
	tol       toleranceFlags
	Reference []string
	Localize  bool
	JSON      bool
}

func newVerifyCmd() *cobra.Command {
	opts := &verifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify A.onnx [B.onnx | --reference DIR]",
		Short: "Check that engines, or an original and its conversion, compute the same",
		Long: `Feed the same inputs to one model on several engines (every pair is
compared), or to two models with the same inputs (typically an original and its
conversion) on each engine (A against B per engine, and B across engines).
An element differs when |a-b| > tol*max|b| + rtol*|b|, b being the second of
the pair and max|b| the largest magnitude of that output: errors are judged at
the output's own scale, so an output whose values are around 1e-8 is judged at
1e-8. --atol adds an absolute bound and, unless --tol is also given, replaces
the scaled one (|a-b| <= atol + rtol*|b|, the classic rule). A reference that
is all zeros, or a bound as large as the output itself, is said beside the
verdict.

--reference compares each engine's outputs of A with outputs saved elsewhere
(by PyTorch, on another machine, by an earlier version): a folder holding one
.npy per output as 'wtonnx run -o DIR' writes them, or NAME=FILE.npy (just
FILE.npy for a model's only output; repeatable). Feed the inputs those outputs
were made from with -i NAME=FILE.npy.

--localize marks every intermediate tensor as an output and names the first
node, in topological order, whose output differs beyond tolerance (for one
model: between the first two engines; for two models with the same tensor
names: between A and B on each engine).

Exit status: 0 when everything is within tolerance, 1 when something is not
(the report says what), 2 when the check could not be made.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ModelA = args[0]
			if len(args) == 2 {
				opts.ModelB = args[1]
			}
			return runVerify(cmd.Context(), opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Engines, "engines", "ort,go", "comma-separated engines: ort, go")
	opts.engineFlags.add(f)
	opts.inputFlags.add(f)
	opts.tol.add(f)
	f.StringArrayVar(&opts.Reference, "reference", nil, "saved reference outputs: a folder of <output>.npy (as run -o writes), or NAME=FILE.npy (repeatable)")
	f.BoolVar(&opts.Localize, "localize", false, "find the first node whose output diverges")
	f.BoolVar(&opts.JSON, "json", false, "print the report as JSON")
	return cmd
}

func runVerify(ctx context.Context, opts *verifyOptions, stdout, stderr io.Writer) error {
	spec, err := opts.spec()
	if err != nil {
		return err
	}
	tol, err := opts.tol.tolerance()
	if err != nil {
		return err
	}
	var engines []string
	for _, e := range strings.Split(opts.Engines, ",") {
		if e = strings.TrimSpace(e); e != "" {
			engines = append(engines, e)
		}
	}
	if len(engines) == 0 {
		return fmt.Errorf("--engines: no engine given")
	}
	ref, err := parseReference(opts.Reference)
	if err != nil {
		return err
	}
	res, err := verify.Run(ctx, verify.Options{
		ModelA: opts.ModelA, ModelB: opts.ModelB, Reference: ref, Engines: engines,
		Engine: opts.options(stderr), Tolerance: tol, Inputs: spec, Localize: opts.Localize,
	})
	if err != nil {
		return err
	}
	if opts.JSON {
		if err := writeJSON(stdout, res); err != nil {
			return err
		}
	} else {
		printVerify(stdout, res)
	}
	if res.Verdict != verify.VerdictPass {
		return &exitError{code: 1, err: errors.New("outputs differ beyond tolerance")}
	}
	return nil
}

func printVerify(w io.Writer, res *verify.Result) {
	fmt.Fprintf(w, "A: %s\n", res.ModelA)
	if res.ModelB != "" {
		fmt.Fprintf(w, "B: %s\n", res.ModelB)
	}
	if res.Reference != "" {
		fmt.Fprintf(w, "reference: %s\n", res.Reference)
	}
	fmt.Fprintf(w, "tolerance: %s\n", res.Tolerance)
	for _, in := range res.Inputs {
		fmt.Fprintf(w, "input %s %s %s (%s)\n", in.Name, in.DType, shapeString(in.Shape), in.Source)
	}
	for _, c := range res.Comparisons {
		fmt.Fprintf(w, "\n%s vs %s: %s\n", c.A, c.B, passWord(c.Pass))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  OUTPUT\tSHAPE\tMAX ABS\tMAX ABS/MAX|B|\tMAX REL\tMEAN ABS\tCOSINE\tOUTSIDE\tMAX |B|\tALLOWED\t")
		for _, s := range c.Outputs {
			if s.Message != "" {
				fmt.Fprintf(tw, "  %s\t%s\t\t\t\t\t\t\t\t\t\n", s.Name, s.Message)
				continue
			}
			outside := fmt.Sprintf("%d (%.3g%%)", s.Outside, 100*s.OutsideShare)
			if s.NonFiniteMismatches > 0 {
				outside += fmt.Sprintf(", %d NaN/Inf", s.NonFiniteMismatches)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%.3g\t%.3g\t%.3g\t%.3g\t%.9f\t%s\t%.3g\t%.3g\t\n", s.Name, shapeString(s.ShapeA),
				s.MaxAbsError, s.MaxScaledError, s.MaxRelError, s.MeanAbsError, s.CosineSimilarity, outside, s.MaxAbsB, s.AllowedAbs)
		}
		tw.Flush()
		for _, s := range c.Outputs {
			if s.Note != "" {
				fmt.Fprintf(w, "  note: %s: %s\n", s.Name, s.Note)
			}
		}
	}
	for _, l := range res.Localizations {
		fmt.Fprintf(w, "\nlocalize %s vs %s: ", l.A, l.B)
		if !l.Diverged {
			fmt.Fprintf(w, "all %d intermediate tensors agree within tolerance\n", l.TensorsCompared)
			continue
		}
		t := l.Tensor
		fmt.Fprintf(w, "first divergent node %s, position %d in topological order\n", l.Node.Label(), l.Node.Position)
		fmt.Fprintf(w, "  output %s: max abs error %.3g, %d of %d elements (%.3g%%) outside tolerance",
			t.Name, t.MaxAbsError, t.Outside, t.Elements, 100*t.OutsideShare)
		if t.Message != "" {
			fmt.Fprintf(w, " (%s)", t.Message)
		}
		fmt.Fprintln(w)
		for _, in := range l.Node.Inputs {
			if e, ok := l.InputMaxAbsError[in]; ok {
				fmt.Fprintf(w, "  input %s: max abs error %.3g\n", in, e)
			}
		}
	}
	fmt.Fprintf(w, "\nverdict: %s", strings.ToUpper(res.Verdict))
	if notes := verdictNotes(res); notes != "" {
		fmt.Fprintf(w, " (%s)", notes)
	}
	fmt.Fprintln(w)
}

// parseReference reads --reference values: one folder, or NAME=FILE.npy
// entries (FILE.npy alone for a model's only output).
func parseReference(values []string) (verify.ReferenceSpec, error) {
	var r verify.ReferenceSpec
	for _, v := range values {
		name, file, ok := strings.Cut(v, "=")
		if !ok {
			name, file = "", v
			if st, err := os.Stat(v); err == nil && st.IsDir() {
				if r.Dir != "" || len(values) > 1 {
					return r, fmt.Errorf("--reference %s: a folder is given alone (it holds every output)", v)
				}
				r.Dir = v
				continue
			}
		}
		if file == "" {
			return r, fmt.Errorf("--reference %q: want a folder or NAME=FILE.npy", v)
		}
		if r.Files == nil {
			r.Files = map[string]string{}
		}
		if prev, dup := r.Files[name]; dup {
			return r, fmt.Errorf("--reference: %q is given twice (%s and %s)", name, prev, file)
		}
		r.Files[name] = file
	}
	return r, nil
}

// verdictNotes gathers the outputs whose verdict means less than it seems,
// for the verdict line.
func verdictNotes(res *verify.Result) string {
	var notes []string
	seen := map[string]bool{}
	for _, c := range res.Comparisons {
		for _, s := range c.Outputs {
			if s.Note != "" && !seen[s.Name] {
				seen[s.Name] = true
				notes = append(notes, s.Name+": "+s.Note)
			}
		}
	}
	return strings.Join(notes, "; ")
}

// toleranceFlags are the comparison flags verify and report share.
type toleranceFlags struct {
	Scale, Atol, Rtol float64
	set               func(name string) bool
}

func (t *toleranceFlags) add(f *pflag.FlagSet) {
	d := verify.DefaultTolerance
	f.Float64Var(&t.Scale, "tol", d.Scale, "allowed error as a share of each output's largest |reference| value (max|b|)")
	f.Float64Var(&t.Atol, "atol", 0, "absolute tolerance; when given it replaces --tol's scaled bound unless --tol is given too")
	f.Float64Var(&t.Rtol, "rtol", d.Rtol, "elementwise relative tolerance (relative to |b|, the second of each pair)")
	t.set = func(name string) bool { return f.Changed(name) }
}

// tolerance turns the flags into the rule: the default scaled bound, or the
// absolute one --atol gives (with --tol too, both).
func (t *toleranceFlags) tolerance() (verify.Tolerance, error) {
	tol := verify.Tolerance{Atol: t.Atol, Rtol: t.Rtol, Scale: t.Scale}
	if t.set != nil && t.set("atol") && !t.set("tol") {
		tol.Scale = 0
	}
	if err := tol.Validate(); err != nil {
		return tol, fmt.Errorf("--%w", err)
	}
	return tol, nil
}

func passWord(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}
