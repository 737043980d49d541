// Command wtonnx converts depthwise convolutions in ONNX models into WTConv
// layers, runs the results on ONNX Runtime or a pure-Go executor, and verifies
// them numerically.
//
// Each sub-command lives in its own file as a thin cobra wrapper: it fills an
// options struct from flags and calls a function of a library package, which
// holds the logic and is tested without a terminal.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wtonnx/wtonnx/provenance"
	"github.com/wtonnx/wtonnx/verify"
)

// defaultSeed seeds random inputs and --init random in every command.
const defaultSeed = verify.DefaultSeed

// exitError carries a specific exit status (verify uses 1 for "outside
// tolerance" and 2 for errors).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line and returns the process exit status.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.code != 1 {
			fmt.Fprintln(stderr, "wtonnx:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "wtonnx:", err)
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", ue.cmd)
	}
	return 2
}

// usageError is a mistake on the command line (an unknown flag, a value
// that does not parse); the message ends with a pointer to --help.
type usageError struct {
	cmd string
	err error
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// badValue matches pflag's `invalid argument "abc" for "-k, --kernel" flag:
// strconv.ParseInt: parsing "abc": invalid syntax`.
var badValue = regexp.MustCompile(`^invalid argument "(.*)" for "(?:-\w, )?(--[\w-]+)" flag: (.*)$`)

// flagError rewrites pflag's parse errors so that they name the flag and
// the value without Go's strconv wording, and points to --help.
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	if m := badValue.FindStringSubmatch(msg); m != nil {
		want := "a valid value"
		if f := cmd.Flags().Lookup(strings.TrimPrefix(m[2], "--")); f != nil {
			switch f.Value.Type() {
			case "int", "int64", "uint64", "uint":
				want = "a whole number"
			case "float64", "float32":
				want = "a number"
			case "bool":
				want = "true or false"
			case "duration":
				want = "a duration such as 10s"
			}
		}
		if strings.Contains(m[3], "out of range") {
			want += " in range"
		}
		msg = fmt.Sprintf("%s %q: want %s", m[2], m[1], want)
	}
	return &usageError{cmd: cmd.CommandPath(), err: errors.New(msg)}
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "wtonnx",
		Short:         "Bring WTConv (wavelet convolutions) to ONNX models",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       provenance.Version(),
	}
	root.SetVersionTemplate("wtonnx {{.Version}}\n")
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(flagError)
	// Each sub-command is added here by its constructor in its own file.
	root.AddCommand(
		newInspectCmd(),
		newConvertCmd(),
		newFuseCmd(),
		newWeightsCmd(),
		newErfCmd(),
		newReportCmd(),
		newRunCmd(), newVerifyCmd(), newBenchCmd(),
		newDoctorCmd(), newExportCmd(),
		newOpsCmd(),
	)
	return root
}
