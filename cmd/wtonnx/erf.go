package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wtonnx/wtonnx/erf"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
)

type erfOptions struct {
	Model     string
	Node      string
	Output    string
	Original  string
	Size      int
	Channel   int
	Positions int
	CSV       string
	JSON      bool
	Force     bool
}

func newErfCmd() *cobra.Command {
	opts := &erfOptions{}
	cmd := &cobra.Command{
		Use:   "erf MODEL --node NAME -o erf.png",
		Short: "Picture a WTConv layer's impulse response (its effective receptive field)",
		Long: `Draw the impulse response of one WTConv layer of a converted model: the layer
is linear, so its response to a unit impulse is its effective kernel there.
It is not shift-invariant (it depends on the impulse's position modulo 2^L),
so the picture averages |response| over impulse positions covering those
residues (at most --positions of them, an even sub-grid when there are more),
as an effective-receptive-field plot does. The heat map is log10 of that mean,
with a colour bar; axes are offsets from the impulse in input pixels.

The responses come from the reference forward (wtconv.Forward) on one
channel: --channel, or by default the channel whose wavelet branch is
strongest. With --original, the original model's depthwise kernel (same
channel) is drawn beside it on the same scale.

--node takes the original conv's node name (as inspect lists the layers) or
the name of any node of the layer; it may be left out when the model has one
layer.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Model = args[0]
			return runErf(cmd.Context(), opts, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Node, "node", "", "the WTConv layer (its original conv's node name)")
	f.StringVarP(&opts.Output, "output", "o", "", "write the picture here: `FILE`.png, or .jpg/.jpeg for JPEG")
	f.StringVar(&opts.Original, "original", "", "the original model, to draw its depthwise kernel beside")
	f.IntVar(&opts.Size, "size", 0, "side of the square input the impulses run on (0: just large enough for the whole response)")
	f.IntVar(&opts.Channel, "channel", -1, "channel to draw (-1: the one with the strongest wavelet branch)")
	f.IntVar(&opts.Positions, "positions", erf.DefaultMaxPositions, "most impulse positions to average")
	f.StringVar(&opts.CSV, "csv", "", "also write the WTConv response to `FILE`.csv, rows dy,dx,mean_abs_response")
	f.BoolVar(&opts.JSON, "json", false, "print the responses as JSON for scripts")
	f.BoolVar(&opts.Force, "force", false, "overwrite existing output files")
	return cmd
}

// validate checks every flag value before any work.
func (o *erfOptions) validate() error {
	if o.Output == "" && o.CSV == "" && !o.JSON {
		return fmt.Errorf("erf: nothing to write: give -o FILE.png, --csv FILE or --json")
	}
	if o.Positions < 1 {
		return fmt.Errorf("--positions %d: want at least 1", o.Positions)
	}
	if o.Size < 0 || o.Size > erf.MaxSize {
		return fmt.Errorf("--size %d: want 0 (automatic) or 1 to %d", o.Size, erf.MaxSize)
	}
	if o.Channel < -1 {
		return fmt.Errorf("--channel %d: want -1 (the strongest) or a channel index", o.Channel)
	}
	return checkOutputs(o.Force, []string{o.Model, o.Original}, o.picture(), o.csv())
}

func (o *erfOptions) picture() outputFile {
	return outputFile{Flag: "-o", Path: o.Output, Exts: []string{".png", ".jpg", ".jpeg"}}
}

func (o *erfOptions) csv() outputFile {
	return outputFile{Flag: "--csv", Path: o.CSV, Exts: []string{".csv"}}
}

func runErf(ctx context.Context, opts *erfOptions, out io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := opts.validate(); err != nil {
		return err
	}
	m, err := onnxmodel.Load(opts.Model)
	if err != nil {
		return err
	}
	var orig *onnxpb.ModelProto
	if opts.Original != "" {
		if orig, err = onnxmodel.Load(opts.Original); err != nil {
			return err
		}
	}
	res, err := erf.FromModels(ctx, m, orig, opts.Node, erf.Options{Channel: opts.Channel, Size: opts.Size, MaxPositions: opts.Positions})
	if err != nil {
		return fmt.Errorf("%s: %w", opts.Model, err)
	}
	if opts.Output != "" {
		jpeg := strings.ToLower(filepath.Ext(opts.Output)) != ".png"
		if err := opts.picture().write(opts.Force, func(w io.Writer) error {
			return erf.WritePNG(w, res.Panels(), erf.PictureOptions{JPEG: jpeg})
		}); err != nil {
			return err
		}
	}
	if opts.CSV != "" {
		if err := opts.csv().write(opts.Force, func(w io.Writer) error { return erf.WriteCSV(w, res.WTConv) }); err != nil {
			return err
		}
	}
	if opts.JSON {
		return writeJSON(out, res)
	}
	w := res.WTConv
	fmt.Fprintf(out, "%s (%s), channel %d: %d levels, %dx%d wavelet kernels, %dx%d base\n", res.Layer, res.Form, res.Channel, w.Levels, w.Kernel, w.Kernel, w.Base, w.Base)
	fmt.Fprintf(out, "  %d impulse positions on a %dx%d input; non-zero extent %d px (theoretical %d, receptive field %d)\n",
		len(w.Positions), w.Size, w.Size, w.Extent(), w.Support[1]-w.Support[0]+1, w.ReceptiveField)
	if o := res.Original; o != nil {
		fmt.Fprintf(out, "  original %dx%d depthwise kernel: non-zero extent %d px\n", o.Base, o.Base, o.Extent())
	}
	for _, p := range []string{opts.Output, opts.CSV} {
		if p != "" {
			fmt.Fprintf(out, "Wrote %s\n", p)
		}
	}
	return nil
}
