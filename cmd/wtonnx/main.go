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

	"github.com/spf13/cobra"
)

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
	return 2
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "wtonnx",
		Short:         "Bring WTConv (wavelet convolutions) to ONNX models",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	// Each sub-command is added here by its constructor in its own file.
	root.AddCommand(
		newInspectCmd(),
		newConvertCmd(),
		newFuseCmd(),
		newWeightsCmd(),
		newErfCmd(),
		newReportCmd(),
		newRunCmd(), newVerifyCmd(), newBenchCmd(),
	)
	return root
}
