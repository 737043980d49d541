package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/wtonnx/wtonnx/doctor"
)

type doctorOptions struct {
	ORTLib      string
	CustomOpLib string
	JSON        bool
}

func newDoctorCmd() *cobra.Command {
	opts := &doctorOptions{}
	cmd := &cobra.Command{
		Use:   "doctor [--json]",
		Short: "Say which ONNX Runtime builds, execution providers and kernels this machine can use",
		Long: `For every ONNX Runtime library wtonnx can find (--ort-lib, $WTONNX_ORT_LIB, the
CPU library of 'make setup', the GPU set of 'make setup-gpu', beside the
executable): its version and path, the --ep values that use it by default, the
execution providers compiled in, and for CUDA and TensorRT whether their
provider libraries load, with the dynamic loader's own reason when they do not
(for example a missing libcudart.so.13, or no NVIDIA driver: libcuda.so.1).
Then the NVIDIA driver (the CUDA version it supports and its GPUs, or why
there are none), the WTConv custom-op library and the ONNX Runtime C API
versions it accepts, and the Go engine's build (vector or portable kernels) and the CPU's
features. No session is created: libraries are probed with dlopen.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDoctor(opts, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.ORTLib, "ort-lib", "", "also examine this ONNX Runtime shared library (default: the usual search)")
	f.StringVar(&opts.CustomOpLib, "customop-lib", "", "custom-op library to examine (default: $WTONNX_CUSTOMOP_LIB or the repository's build)")
	f.BoolVar(&opts.JSON, "json", false, "print JSON for scripts")
	return cmd
}

func runDoctor(opts *doctorOptions, out io.Writer) error {
	r := doctor.Gather(doctor.Options{ORTLibrary: opts.ORTLib, CustomOpLibrary: opts.CustomOpLib})
	if opts.JSON {
		return writeJSON(out, r)
	}
	return doctor.WriteText(out, r)
}
