// Command gen writes the cases that customop/test/ort_session_test.c runs
// in ONNX Runtime against the AddressSanitizer build of the custom-op
// library (`make customop-asan-ort-test`):
//
//   - every official reference case, converted from its source.onnx by the
//     converter (convert.Convert, format customop, weights imported from the
//     case's checkpoint), with the authors' x and y;
//   - wtonnx's own PyTorch-computed cases (even kernels, strides, no bias,
//     batches, deep levels) as one-node WTConv models, with their x and y;
//   - wavelets beyond Haar (db2, db3, db4), base and wavelet kernels of
//     their own sizes, and levels whose input is below 2 x 2, as one-node
//     models with outputs from wtconv.Forward;
//   - one session run with 2 intra-op threads (the plane split over
//     KernelContext_ParallelFor) and one whose first Run is rejected and
//     whose second, valid Run must still be right (expected output from
//     wtconv.Forward);
//   - malformed models and inputs (wrong channel count, missing level
//     weights, unknown wavelet, non-square wavelet kernels, wrong
//     rank, bad attributes ...) with the substrings their error must contain.
//
// Usage: go run ./customop/test/gen -out DIR (from the repository root).
// Tensors are raw little-endian float32 files; DIR/manifest.txt lists the
// sessions, one directive per line:
//
//	session NAME MODEL THREADS   start a session (MODEL relative to DIR)
//	create_error TEXT            session creation must fail, message contains TEXT
//	run                          start a Run of the current session
//	input NAME FILE RANK D...    a Run input
//	want NAME FILE RANK D...     an output and its expected value (max |err| <= 1e-5 max |y|)
//	run_error TEXT               the Run must fail, message contains TEXT
//	end                          end of the session
//
// TEXT is the rest of the line. A session has create_error lines or runs.
package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/wtonnx/wtonnx/checkpoint"
	"github.com/wtonnx/wtonnx/convert"
	"github.com/wtonnx/wtonnx/customop/internal/nodemodel"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/testmodels/reference"
	"github.com/wtonnx/wtonnx/wtconv"
)

func main() {
	out := flag.String("out", "", "folder to write the models, tensors and manifest.txt into (created)")
	flag.Parse()
	if *out == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: gen -out DIR")
		os.Exit(2)
	}
	if err := generate(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// writer accumulates the manifest and writes the files it names.
type writer struct {
	dir      string
	manifest bytes.Buffer
	files    int
	sessions int
}

func (w *writer) line(format string, args ...any) {
	fmt.Fprintf(&w.manifest, format+"\n", args...)
}

func (w *writer) file(name string, data []byte) (string, error) {
	if err := os.WriteFile(filepath.Join(w.dir, name), data, 0o644); err != nil {
		return "", err
	}
	w.files++
	return name, nil
}

func (w *writer) session(name string, model []byte, threads int) error {
	if strings.ContainsAny(name, " \t\n") {
		return fmt.Errorf("session name %q has white space", name)
	}
	file, err := w.file(name+".onnx", model)
	if err != nil {
		return err
	}
	w.sessions++
	w.line("session %s %s %d", name, file, threads)
	return nil
}

// tensorLine writes t as FILE and a manifest line "kind NAME FILE RANK D...".
func (w *writer) tensorLine(kind, session, name string, run int, t *tensor.Tensor) error {
	if t.DType != tensor.Float32 {
		return fmt.Errorf("%s %s: only float32 tensors", session, name)
	}
	buf := make([]byte, 4*len(t.F32))
	for i, v := range t.F32 {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	file, err := w.file(fmt.Sprintf("%s.run%d.%s.%s.bin", session, run, kind, name), buf)
	if err != nil {
		return err
	}
	dims := make([]string, len(t.Shape))
	for i, d := range t.Shape {
		dims[i] = fmt.Sprint(d)
	}
	w.line("%s %s %s %d %s", kind, name, file, len(t.Shape), strings.Join(dims, " "))
	return nil
}

// runLines writes one Run: its inputs, then either the expected outputs or
// the expected error substrings.
func (w *writer) runLines(session string, run int, inputs, want map[string]*tensor.Tensor, errs []string) error {
	w.line("run")
	for _, name := range sortedKeys(inputs) {
		if err := w.tensorLine("input", session, name, run, inputs[name]); err != nil {
			return err
		}
	}
	for _, name := range sortedKeys(want) {
		if err := w.tensorLine("want", session, name, run, want[name]); err != nil {
			return err
		}
	}
	for _, e := range errs {
		w.line("run_error %s", e)
	}
	return nil
}

func sortedKeys(m map[string]*tensor.Tensor) []string { return slices.Sorted(maps.Keys(m)) }

func generate(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	w := &writer{dir: dir}
	if err := officialCases(w); err != nil {
		return err
	}
	if err := torchCases(w); err != nil {
		return err
	}
	if err := waveletCases(w); err != nil {
		return err
	}
	if err := threadAndRecoveryCases(w); err != nil {
		return err
	}
	if err := malformedCases(w); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.txt"), w.manifest.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Printf("gen: %d sessions, %d files in %s\n", w.sessions, w.files+1, dir)
	return nil
}

// officialCases converts each official case's source.onnx with its
// checkpoint, as `wtonnx convert --format customop --init import` does.
func officialCases(w *writer) error {
	cases, err := reference.Official()
	if err != nil {
		return err
	}
	for _, rc := range cases {
		src := rc.SourcePath()
		if src == "" {
			return fmt.Errorf("official case %s has no source.onnx", rc.Name)
		}
		m, err := onnxmodel.Load(src)
		if err != nil {
			return err
		}
		ck, err := checkpoint.Open(rc.WeightsPath())
		if err != nil {
			return err
		}
		conv, rep, err := convert.Convert(m, convert.Options{
			Levels: rc.L, Kernel: rc.K, Init: convert.InitImport, Weights: ck, Format: convert.FormatCustomOp,
		})
		if err != nil {
			return fmt.Errorf("convert %s: %w", src, err)
		}
		if len(rep.Converted) != 1 {
			return fmt.Errorf("convert %s: converted %d layers, want 1", src, len(rep.Converted))
		}
		g := conv.GetGraph()
		if len(g.GetInput()) != 1 || len(g.GetOutput()) != 1 {
			return fmt.Errorf("converted %s: want one graph input and one output", src)
		}
		model, err := onnxmodel.Marshal(conv)
		if err != nil {
			return err
		}
		x, err := rc.Input()
		if err != nil {
			return err
		}
		y, err := rc.Output()
		if err != nil {
			return err
		}
		name := "official_" + rc.Name
		if err := w.session(name, model, 1); err != nil {
			return err
		}
		in := map[string]*tensor.Tensor{g.GetInput()[0].GetName(): x}
		want := map[string]*tensor.Tensor{g.GetOutput()[0].GetName(): y}
		if err := w.runLines(name, 0, in, want, nil); err != nil {
			return err
		}
		w.line("end")
	}
	return nil
}

// torchCases writes wtonnx's PyTorch-computed cases as one-node models.
func torchCases(w *writer) error {
	cases, err := reference.Torch()
	if err != nil {
		return err
	}
	for _, rc := range cases {
		wt, err := rc.Weights()
		if err != nil {
			return err
		}
		x, err := rc.Input()
		if err != nil {
			return err
		}
		y, err := rc.Output()
		if err != nil {
			return err
		}
		name := "torch_" + rc.Name
		model, err := nodemodel.ForLayer(rc.Layer(), wt).Model()
		if err != nil {
			return err
		}
		if err := w.session(name, model, 1); err != nil {
			return err
		}
		if err := w.runLines(name, 0, map[string]*tensor.Tensor{"x": x}, map[string]*tensor.Tensor{"y": y}, nil); err != nil {
			return err
		}
		w.line("end")
	}
	return nil
}

// waveletCases: n-tap wavelets, base and wavelet kernels of their own sizes,
// and levels whose input is below 2 x 2, against wtconv.Forward.
func waveletCases(w *writer) error {
	for i, l := range []wtconv.Layer{
		{Channels: 4, Kernel: 5, Levels: 2, Stride: 1, Bias: true, Wavelet: "db2"},
		{Channels: 3, BaseKernel: 7, Kernel: 5, Levels: 3, Stride: 2, Bias: true, Wavelet: "db2"},
		{Channels: 2, BaseKernel: 3, Kernel: 3, Levels: 4, Stride: 1, Bias: false, Wavelet: "db3"},
		{Channels: 2, Kernel: 4, Levels: 3, Stride: 3, Bias: true, Wavelet: "db4"},
		{Channels: 3, BaseKernel: 7, Kernel: 5, Levels: 4, Stride: 1, Bias: true},
	} {
		wt := randomLayer(l, uint64(60+i))
		model, err := nodemodel.ForLayer(l, wt).Model()
		if err != nil {
			return err
		}
		name := fmt.Sprintf("wavelet_%s_kb%d_k%d_L%d_s%d", l.WaveletName(), l.BaseKernelSize(), l.Kernel, l.Levels, l.Stride)
		if err := w.session(name, model, 2); err != nil {
			return err
		}
		for j, sz := range [][3]int{{2, 13, 11}, {1, 16, 16}, {1, 3, 2}, {1, 1, 1}} {
			x, y, err := forward(l, wt, sz[0], sz[1], sz[2], uint64(70+10*i+j))
			if err != nil {
				return err
			}
			if err := w.runLines(name, j, map[string]*tensor.Tensor{"x": x}, map[string]*tensor.Tensor{"y": y}, nil); err != nil {
				return err
			}
		}
		w.line("end")
	}
	return nil
}

// threadAndRecoveryCases: a session with 2 intra-op threads and several
// Runs of different shapes, and a session whose first Run is rejected.
func threadAndRecoveryCases(w *writer) error {
	l := wtconv.Layer{Channels: 6, Kernel: 5, Levels: 3, Stride: 1, Bias: true}
	wt := randomLayer(l, 21)
	model, err := nodemodel.ForLayer(l, wt).Model()
	if err != nil {
		return err
	}
	if err := w.session("threads2_parallel_for", model, 2); err != nil {
		return err
	}
	for i, sz := range [][3]int{{3, 24, 20}, {1, 9, 31}, {2, 5, 5}} {
		x, y, err := forward(l, wt, sz[0], sz[1], sz[2], uint64(30+i))
		if err != nil {
			return err
		}
		if err := w.runLines("threads2_parallel_for", i, map[string]*tensor.Tensor{"x": x},
			map[string]*tensor.Tensor{"y": y}, nil); err != nil {
			return err
		}
	}
	w.line("end")

	// A model with a dynamic channel count, so that the kernel (not ONNX
	// Runtime's input check) rejects the first Run.
	dyn := nodemodel.ForLayer(l, wt)
	dyn.XDims = nil
	dynModel, err := dyn.Model()
	if err != nil {
		return err
	}
	if err := w.session("survives_rejected_run", dynModel, 2); err != nil {
		return err
	}
	if err := w.runLines("survives_rejected_run", 0, map[string]*tensor.Tensor{"x": nodemodel.RandomInput(1, 7, 4, 16, 40)}, nil,
		[]string{"base_weight", "C=7 from X"}); err != nil {
		return err
	}
	x, y, err := forward(l, wt, 2, 5, 16, 41)
	if err != nil {
		return err
	}
	if err := w.runLines("survives_rejected_run", 1, map[string]*tensor.Tensor{"x": x}, map[string]*tensor.Tensor{"y": y}, nil); err != nil {
		return err
	}
	w.line("end")
	return nil
}

// malformedCases: bad attributes fail session creation, bad shapes fail Run.
func malformedCases(w *writer) error {
	good := wtconv.Layer{Channels: 4, Kernel: 3, Levels: 2, Stride: 1, Bias: true}
	wt := randomLayer(good, 3)
	base := func() nodemodel.Spec { return nodemodel.ForLayer(good, wt) }
	x := nodemodel.RandomInput(1, 4, 12, 12, 1)

	type mcase struct {
		name   string
		spec   nodemodel.Spec
		x      *tensor.Tensor
		create []string // creation must fail with these
		run    []string // else Run must fail with these
	}
	with := func(f func(s *nodemodel.Spec)) nodemodel.Spec { s := base(); f(&s); return s }
	cases := []mcase{
		{"bad_wrong_channels", with(func(s *nodemodel.Spec) { s.XDims = nil }), nodemodel.RandomInput(1, 3, 12, 12, 2), nil,
			[]string{"wtconv0", "base_weight", "[4,1,3,3]", "want [3,1,3,3]", "C=3 from X"}},
		{"bad_channels_wide", with(func(s *nodemodel.Spec) { s.XDims = nil }), nodemodel.RandomInput(2, 7, 12, 12, 2), nil,
			[]string{"base_weight", "want [7,1,3,3]"}},
		{"bad_missing_level_weights", with(func(s *nodemodel.Spec) {
			s.Weights[4] = tensor.NewFloat32([]int{1, 16, 1, 3, 3}, s.Weights[4].F32[:16*9])
		}), x, nil, []string{"wavelet_weight", "[1,16,1,3,3]", "want [2,16,1,3,3]", "levels=2 from the attribute"}},
		{"bad_missing_level_scales", with(func(s *nodemodel.Spec) {
			s.Weights[5] = tensor.NewFloat32([]int{1, 16}, s.Weights[5].F32[:16])
		}), x, nil, []string{"wavelet_scale", "[1,16]", "want [2,16]"}},
		{"bad_unknown_wavelet", with(func(s *nodemodel.Spec) { s.Attrs = append(s.Attrs, nodemodel.StringAttr("wavelet", "sym2")) }), x,
			[]string{"wtconv0", "'wavelet'", `"sym2"`, "not supported", "db1 = haar through db38"}, nil},
		{"bad_long_unknown_wavelet", with(func(s *nodemodel.Spec) {
			s.Attrs = append(s.Attrs, nodemodel.StringAttr("wavelet", strings.Repeat("sym", 400)))
		}), x, []string{"'wavelet'", `"symsym`, "not supported"}, nil},
		{"bad_x_rank_3", with(func(s *nodemodel.Spec) { s.XDims = nil }),
			tensor.NewFloat32([]int{4, 12, 12}, make([]float32, 4*12*12)), nil, []string{"X", "rank 4", "[4,12,12]"}},
		{"bad_x_rank_5", with(func(s *nodemodel.Spec) { s.XDims = nil }),
			tensor.NewFloat32([]int{1, 1, 4, 12, 12}, make([]float32, 4*12*12)), nil, []string{"X", "rank 4", "[1,1,4,12,12]"}},
		{"bad_missing_levels", with(func(s *nodemodel.Spec) { s.Attrs = nil }), x, []string{"'levels' is required"}, nil},
		{"bad_negative_levels", with(func(s *nodemodel.Spec) { s.Attrs = []*onnxpb.AttributeProto{nodemodel.IntAttr("levels", -1)} }), x,
			[]string{"'levels' is -1"}, nil},
		{"bad_huge_levels", with(func(s *nodemodel.Spec) { s.Attrs = []*onnxpb.AttributeProto{nodemodel.IntAttr("levels", 1<<40)} }), x,
			[]string{"'levels' is 1099511627776"}, nil},
		{"bad_float_levels", with(func(s *nodemodel.Spec) { s.Attrs = []*onnxpb.AttributeProto{nodemodel.FloatAttr("levels", 2)} }), x,
			[]string{"'levels' must be an int"}, nil},
		{"bad_zero_stride", with(func(s *nodemodel.Spec) { s.Attrs = append(s.Attrs, nodemodel.IntAttr("stride", 0)) }), x,
			[]string{"'stride' is 0"}, nil},
		{"bad_int_wavelet", with(func(s *nodemodel.Spec) { s.Attrs = append(s.Attrs, nodemodel.IntAttr("wavelet", 1)) }), x,
			[]string{"'wavelet' must be a string"}, nil},
		{"bad_nonsquare_wavelet_kernel", with(func(s *nodemodel.Spec) {
			s.Weights[4] = tensor.NewFloat32([]int{2, 16, 1, 5, 3}, make([]float32, 2*16*15))
		}), x, nil, []string{"wavelet_weight", "[2,16,1,5,3]", "want [2,16,1,5,5]"}},
		{"bad_nonsquare_base", with(func(s *nodemodel.Spec) {
			s.Weights[1] = tensor.NewFloat32([]int{4, 1, 3, 2}, make([]float32, 24))
		}), x, nil, []string{"base_weight", "[4,1,3,2]"}},
		{"bad_base_rank", with(func(s *nodemodel.Spec) {
			s.Weights[1] = tensor.NewFloat32([]int{4, 9}, make([]float32, 36))
		}), x, nil, []string{"base_weight", "must have shape [C,1,kb,kb]", "[4,9]"}},
		{"bad_bias", with(func(s *nodemodel.Spec) { s.Weights[2] = tensor.NewFloat32([]int{3}, make([]float32, 3)) }), x, nil,
			[]string{"base_bias", "[3]", "want [4]"}},
		{"bad_base_scale", with(func(s *nodemodel.Spec) {
			s.Weights[3] = tensor.NewFloat32([]int{1, 4, 1, 1}, make([]float32, 4))
		}), x, nil, []string{"base_scale", "[1,4,1,1]", "want [4]"}},
		{"bad_absent_wavelet_weight", with(func(s *nodemodel.Spec) { s.Weights[4] = nil }), x, nil,
			[]string{"wavelet_weight", "is missing (required when levels > 0)"}},
		{"bad_absent_wavelet_inputs", with(func(s *nodemodel.Spec) { s.Weights[4], s.Weights[5] = nil, nil }), x, nil,
			[]string{"wavelet_weight", "is missing"}},
	}
	for _, tc := range cases {
		if (tc.create == nil) == (tc.run == nil) {
			return fmt.Errorf("malformed case %s: want exactly one of a creation or a Run error", tc.name)
		}
		model, err := tc.spec.Model()
		if err != nil {
			return err
		}
		if err := w.session(tc.name, model, 1); err != nil {
			return err
		}
		for _, e := range tc.create {
			w.line("create_error %s", e)
		}
		if tc.run != nil {
			if err := w.runLines(tc.name, 0, map[string]*tensor.Tensor{"x": tc.x}, nil, tc.run); err != nil {
				return err
			}
		}
		w.line("end")
	}
	return nil
}

// ---------------------------------------------------------------------------
// Reference outputs of one-node WTConv models (models and weights come from nodemodel).

// forward draws an input and computes its output with wtconv.Forward.
func forward(l wtconv.Layer, wt *wtconv.Weights, n, h, w int, seed uint64) (x, y *tensor.Tensor, err error) {
	x = nodemodel.RandomInput(n, l.Channels, h, w, seed)
	out, oh, ow, err := wtconv.Forward(l, wt, x.F32, n, h, w)
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("wtconv.Forward %dx%dx%dx%d", n, l.Channels, h, w), err)
	}
	return x, tensor.NewFloat32([]int{n, l.Channels, oh, ow}, out), nil
}

// randomLayer draws a layer's weights; the generator's layers are fixed, so
// an error is a bug here.
func randomLayer(l wtconv.Layer, seed uint64) *wtconv.Weights {
	wt, err := nodemodel.RandomWeights(l, seed)
	if err != nil {
		panic(err)
	}
	return wt
}
