package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wtonnx/wtonnx/triton"
)

func newExportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write a model into a serving system's layout",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return fmt.Errorf("export needs a target: wtonnx export triton MODEL -o REPO")
		},
	}
	cmd.AddCommand(newExportTritonCmd())
	return cmd
}

type exportTritonOptions struct {
	triton.Options
	JSON bool
}

func newExportTritonCmd() *cobra.Command {
	opts := &exportTritonOptions{}
	cmd := &cobra.Command{
		Use:   "triton MODEL -o REPO",
		Short: "Write MODEL into a Triton Inference Server model repository (ONNX Runtime backend)",
		Long: `Write REPO/NAME/config.pbtxt and REPO/NAME/1/model.onnx (with its external data
when the model keeps some) for NVIDIA Triton Inference Server's ONNX Runtime
backend (platform onnxruntime_onnx). The config lists every input and output
with its data type and dims; when the first axis of all of them is dynamic it
becomes the batch axis: max_batch_size (--max-batch, default 8 for such
models, else 0) with dynamic batching. --instances and --kind set the instance
group; --tensorrt adds ONNX Runtime's TensorRT execution accelerator (GPU
instances).

A model with ai.wtonnx nodes (convert --format customop) gets wtonnx's
custom-op library copied to REPO/NAME/libwtonnx_customop.so and named in
model_operations { op_library_filename } by its path on the server
(--server-repo, the folder given to tritonserver --model-repository, default
/models). ONNX Runtime runs those nodes on the CPU even on GPU instances,
copying tensors across: for GPU serving convert with --format ops.

REPO is created when missing; an existing REPO/NAME is replaced only with
--force, and a failed export leaves nothing behind.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Model = args[0]
			return runExportTriton(opts, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Repo, "output", "o", "", "model repository folder (required)")
	f.StringVar(&opts.Name, "name", "", "model name in the repository (default: MODEL's file name without extension)")
	f.IntVar(&opts.MaxBatch, "max-batch", triton.AutoMaxBatch, "max_batch_size: 0 disables batching; default: 8 when every input and output has a dynamic first axis, else 0")
	f.IntVar(&opts.Instances, "instances", 1, "model instances in the instance group")
	f.StringVar(&opts.Kind, "kind", triton.KindGPU, "instance kind: cpu or gpu")
	f.BoolVar(&opts.TensorRT, "tensorrt", false, "use ONNX Runtime's TensorRT execution provider as GPU accelerator (--kind gpu)")
	f.StringVar(&opts.CustomOpLibrary, "customop-lib", "", "custom-op library to copy for ai.wtonnx models (default: $WTONNX_CUSTOMOP_LIB or the repository's build)")
	f.StringVar(&opts.ServerRepo, "server-repo", triton.DefaultServerRepo, "the repository's path on the Triton server (names the custom-op library)")
	f.BoolVar(&opts.Force, "force", false, "replace an existing REPO/NAME")
	f.BoolVar(&opts.JSON, "json", false, "print what was written as JSON")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}

func runExportTriton(opts *exportTritonOptions, out io.Writer) error {
	if opts.Instances < 1 {
		return fmt.Errorf("--instances %d: want at least 1", opts.Instances)
	}
	res, err := triton.Export(opts.Options)
	if err != nil {
		return err
	}
	if opts.JSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Fprintf(out, "Wrote %s (%s)\n", res.Dir, strings.Join(res.Files, ", "))
	fmt.Fprintf(out, "max_batch_size %d, %d %s instance(s)", res.MaxBatch, res.Instances, strings.ToUpper(res.Kind))
	if res.TensorRT {
		fmt.Fprint(out, ", TensorRT accelerator")
	}
	if res.CustomOpLibrary != "" {
		fmt.Fprintf(out, "; custom-op library loaded from %s on the server", res.CustomOpLibrary)
	}
	fmt.Fprintln(out)
	return nil
}
