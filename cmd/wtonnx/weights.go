package main

import (
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/spf13/cobra"

	"github.com/wtonnx/wtonnx/checkpoint"
	"github.com/wtonnx/wtonnx/graph"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/wtconvgraph"
)

type weightsOptions struct {
	Input, Output string
	Force, JSON   bool
}

func newWeightsCmd() *cobra.Command {
	opts := &weightsOptions{}
	cmd := &cobra.Command{
		Use:   "weights MODEL.onnx -o FILE.safetensors",
		Short: "Save every WTConv layer's weights under the authors' PyTorch state_dict names",
		Long: `Write the trainable tensors of every WTConv layer of a model (in any form) to a
safetensors file, under the key names and shapes of the authors' WTConv2d
state_dict: <module>.base_conv.weight, .base_conv.bias, .base_scale.weight,
.wavelet_convs.<i>.weight, .wavelet_scale.<i>.weight and the fixed wt_filter and
iwt_filter. The module path comes from the initializer names where PyTorch kept
them, else from the node path. convert --init import reads these names.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Input = args[0]
			return runWeights(opts, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Output, "output", "o", "", "the .safetensors file to write")
	f.BoolVar(&opts.Force, "force", false, "overwrite an existing output file")
	f.BoolVar(&opts.JSON, "json", false, "print the written keys and shapes as JSON")
	return cmd
}

func runWeights(opts *weightsOptions, stdout io.Writer) error {
	if opts.Output == "" {
		return errors.New("weights: -o FILE.safetensors is required")
	}
	if err := checkOutputs(opts.Force, []string{opts.Input}, outputFile{Flag: "-o", Path: opts.Output, Exts: []string{".safetensors"}}); err != nil {
		return err
	}
	m, err := onnxmodel.Load(opts.Input)
	if err != nil {
		return err
	}
	shapes, err := graph.InferShapes(m, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", opts.Input, err)
	}
	layers, err := wtconvgraph.Find(m, shapes)
	if err != nil {
		return fmt.Errorf("%s: %w", opts.Input, err)
	}
	if len(layers) == 0 {
		return fmt.Errorf("%s: the model has no WTConv layer (inspect --explain says why a candidate was not recognised)", opts.Input)
	}
	sd, err := wtconvgraph.StateDict(layers)
	if err != nil {
		return fmt.Errorf("%s: %w", opts.Input, err)
	}
	if err := checkpoint.WriteSafetensors(opts.Output, sd, map[string]string{"format": "pt", "source": "wtonnx weights"}, opts.Force); err != nil {
		return err
	}
	keys := make([]string, 0, len(sd))
	for k := range sd {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if opts.JSON {
		type entry struct {
			Key   string `json:"key"`
			Shape []int  `json:"shape"`
		}
		var out struct {
			Layers []string `json:"layers"`
			Keys   []entry  `json:"keys"`
			Output string   `json:"output"`
		}
		for i := range layers {
			out.Layers = append(out.Layers, layers[i].ModulePath())
		}
		for _, k := range keys {
			out.Keys = append(out.Keys, entry{k, sd[k].Shape})
		}
		out.Output = opts.Output
		return writeJSON(stdout, out)
	}
	for i := range layers {
		l := &layers[i]
		fmt.Fprintf(stdout, "%s (%s, C %d, k %d, %d levels, %s)\n", l.ModulePath(), l.Form, l.Layer.Channels, l.Layer.Kernel, l.Layer.Levels, l.Layer.WaveletName())
	}
	fmt.Fprintf(stdout, "Wrote %s of %s to %s\n", plural(len(sd), "tensor", "tensors"), plural(len(layers), "layer", "layers"), opts.Output)
	return nil
}
