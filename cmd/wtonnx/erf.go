package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

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
	f.StringVarP(&opts.Output, "output", "o", "", "write the picture here (PNG)")
	f.StringVar(&opts.Original, "original", "", "the original model, to draw its depthwise kernel beside")
	f.IntVar(&opts.Size, "size", 0, "side of the square input the impulses run on (0: just large enough for the whole response)")
	f.IntVar(&opts.Channel, "channel", -1, "channel to draw (-1: the one with the strongest wavelet branch)")
	f.IntVar(&opts.Positions, "positions", erf.DefaultMaxPositions, "most impulse positions to average")
	f.StringVar(&opts.CSV, "csv", "", "also write the WTConv response as CSV rows dy,dx,mean_abs_response")
	f.BoolVar(&opts.JSON, "json", false, "print the responses as JSON for scripts")
	f.BoolVar(&opts.Force, "force", false, "overwrite existing output files")
	return cmd
}

func runErf(ctx context.Context, opts *erfOptions, out io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if opts.Output == "" && opts.CSV == "" && !opts.JSON {
		return fmt.Errorf("erf: nothing to write: give -o FILE.png, --csv FILE or --json")
	}
	if opts.Positions < 1 {
		return fmt.Errorf("erf: --positions %d: want at least 1", opts.Positions)
	}
	if opts.Size < 0 || opts.Size > erf.MaxSize {
		return fmt.Errorf("erf: --size %d: want 0 (automatic) or 1 to %d", opts.Size, erf.MaxSize)
	}
	for _, p := range []string{opts.Output, opts.CSV} {
		if p == "" {
			continue
		}
		if err := checkOutputPath(opts.Model, p, opts.Force); err != nil {
			return err
		}
		if opts.Original != "" {
			if err := checkOutputPath(opts.Original, p, opts.Force); err != nil {
				return err
			}
		}
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
		if err := writeFileAtomic(opts.Output, opts.Force, func(w io.Writer) error {
			return erf.WritePNG(w, res.Panels(), erf.PictureOptions{})
		}); err != nil {
			return err
		}
	}
	if opts.CSV != "" {
		if err := writeFileAtomic(opts.CSV, opts.Force, func(w io.Writer) error { return erf.WriteCSV(w, res.WTConv) }); err != nil {
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

// writeFileAtomic writes through a temporary file beside path and renames
// it into place, so that a failure leaves no partial file.
func writeFileAtomic(path string, overwrite bool, write func(io.Writer) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = write(tmp); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if !overwrite {
		if _, serr := os.Lstat(path); serr == nil {
			return fmt.Errorf("%s already exists (use --force to overwrite it)", path)
		}
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
