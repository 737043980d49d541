package customop_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/wtonnx/wtonnx/customop/internal/nodemodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/testmodels/reference"
	"github.com/wtonnx/wtonnx/wtconv"
)

// tolerance is the allowed max |error| relative to max |y|.
const tolerance = 1e-5

// TestReferenceCases runs the fused operator in ONNX Runtime on every case
// produced by the authors' PyTorch module, and on wtonnx's PyTorch-computed
// ones (even kernels, strides, no bias, batches, deep levels), and compares
// with their outputs.
func TestReferenceCases(t *testing.T) {
	cases, err := reference.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, oc := range cases {
		t.Run(oc.Name, func(t *testing.T) {
			l := oc.Layer()
			wt, err := oc.Weights()
			if err != nil {
				t.Fatal(err)
			}
			x, err := oc.Input()
			if err != nil {
				t.Fatal(err)
			}
			want, err := oc.Output()
			if err != nil {
				t.Fatal(err)
			}
			e := mustOpen(t, model(t, nodemodel.ForLayer(l, wt)), 0)
			got, err := run(e, x)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if !tensor.SameShape(got.Shape, want.Shape) {
				t.Fatalf("output shape %v, official %v", got.Shape, want.Shape)
			}
			diff, scale := maxAbsDiff(got.F32, want.F32)
			t.Logf("%s: max |err| %.3g, max |y| %.3g, relative %.3g", oc.Name, diff, scale, diff/scale)
			if diff > tolerance*scale {
				t.Errorf("max |err| %.3g exceeds %g x max|y| = %.3g", diff, tolerance, tolerance*scale)
			}
		})
	}
}

type refCase struct {
	name       string
	c, k, l, s int
	bias       bool
	n, h, w    int
	kb         int    // base kernel; 0: k
	wav        string // "": db1
}

var refCases = []refCase{
	{"k3_l1", 4, 3, 1, 1, true, 1, 16, 16, 0, ""},
	{"stride2", 5, 3, 2, 2, true, 2, 17, 14, 0, ""},
	{"stride3", 3, 5, 2, 3, true, 1, 19, 23, 0, ""},
	{"stride3_exact", 2, 3, 1, 3, false, 1, 18, 9, 0, ""},
	{"even_k2", 3, 2, 2, 1, true, 1, 12, 10, 0, ""},
	{"even_k4", 4, 4, 3, 1, true, 2, 21, 16, 0, ""},
	{"even_k6_stride2", 2, 6, 2, 2, true, 1, 15, 13, 0, ""},
	{"k1", 3, 1, 2, 1, true, 1, 9, 7, 0, ""},
	{"batch3", 6, 5, 2, 1, true, 3, 20, 20, 0, ""},
	{"odd_sizes", 4, 3, 3, 1, true, 2, 13, 11, 0, ""},
	{"odd_1xN", 2, 3, 0, 1, true, 1, 1, 9, 0, ""},
	{"no_bias", 4, 5, 2, 1, false, 1, 12, 12, 0, ""},
	{"L0", 8, 7, 0, 1, true, 2, 11, 9, 0, ""},
	{"L0_stride2", 3, 3, 0, 2, false, 1, 10, 7, 0, ""},
	{"deep_tiny_L3_5x5", 3, 3, 3, 1, true, 1, 5, 5, 0, ""},
	{"deep_tiny_L4_9x10", 2, 5, 4, 1, true, 2, 9, 10, 0, ""},
	{"min_size_L2_3x3", 2, 3, 2, 1, true, 1, 3, 3, 0, ""},
	{"deep_tiny_L5_17x17", 3, 3, 5, 2, true, 1, 17, 17, 0, ""},
	{"wide_planes_L5", 2, 5, 5, 1, true, 1, 56, 40, 0, ""},
	{"many_channels", 96, 5, 2, 1, true, 1, 14, 14, 0, ""},
	// levels whose input is below 2 x 2, computed as the authors' module does
	{"below_2x2_L2_2x12", 4, 3, 2, 1, true, 1, 2, 12, 0, ""},
	{"below_2x2_L4_8x8", 4, 3, 4, 1, true, 1, 8, 8, 0, ""},
	{"below_2x2_L3_1x1", 2, 3, 3, 1, true, 1, 1, 1, 0, ""},
	{"below_2x2_L2_12x1_stride2", 4, 3, 2, 2, true, 1, 12, 1, 0, ""},
	// base and wavelet kernels of their own sizes
	{"kb7_k5_L3", 4, 5, 3, 1, true, 1, 28, 28, 7, ""},
	{"kb3_k5_L2_stride2", 3, 5, 2, 2, false, 2, 13, 11, 3, ""},
	// n-tap wavelets
	{"db2_L2", 4, 5, 2, 1, true, 1, 16, 16, 0, "db2"},
	{"db2_odd_stride2", 3, 3, 3, 2, true, 2, 13, 11, 0, "db2"},
	{"db2_kb7_k5_L5", 2, 5, 5, 1, true, 1, 56, 40, 7, "db2"},
	{"db2_below_2x2", 2, 3, 4, 1, false, 1, 3, 2, 0, "db2"},
	{"db3_L2_9x9", 3, 3, 2, 1, true, 1, 9, 9, 0, "db3"},
	{"db4_even_k4_stride3", 2, 4, 3, 3, true, 1, 20, 17, 0, "db4"},
}

// TestAgainstReference compares the operator with wtconv.Forward (the Go
// float64 reference) on strides, even kernels, batches, odd sizes, L = 0
// and deep levels on tiny maps.
func TestAgainstReference(t *testing.T) {
	for i, tc := range refCases {
		t.Run(tc.name, func(t *testing.T) {
			l := wtconv.Layer{Channels: tc.c, BaseKernel: tc.kb, Kernel: tc.k, Levels: tc.l, Stride: tc.s, Bias: tc.bias, Wavelet: tc.wav}
			wt := randomLayer(t, l, uint64(100+i))
			x := nodemodel.RandomInput(tc.n, tc.c, tc.h, tc.w, uint64(i))
			want, oh, ow, err := wtconv.Forward(l, wt, x.F32, tc.n, tc.h, tc.w)
			if err != nil {
				t.Fatalf("wtconv.Forward: %v", err)
			}
			for _, threads := range []int{1, 2} {
				e := mustOpen(t, model(t, nodemodel.ForLayer(l, wt)), threads)
				got, err := run(e, x)
				if err != nil {
					t.Fatalf("run: %v", err)
				}
				if wantShape := []int{tc.n, tc.c, oh, ow}; !tensor.SameShape(got.Shape, wantShape) {
					t.Fatalf("output shape %v, want %v", got.Shape, wantShape)
				}
				diff, scale := maxAbsDiff(got.F32, want)
				if threads == 1 {
					t.Logf("max |err| %.3g, max |y| %.3g, relative %.3g", diff, scale, diff/scale)
				}
				if diff > tolerance*scale {
					t.Errorf("threads %d: max |err| %.3g exceeds %g x max|y| = %.3g", threads, diff, tolerance,
						tolerance*scale)
				}
			}
		})
	}
}

// TestThreadCountDoesNotChangeResults checks that the plane split over the
// intra-op pool is invisible in the output: 1, 2 and 4 threads agree bit for
// bit.
func TestThreadCountDoesNotChangeResults(t *testing.T) {
	l := wtconv.Layer{Channels: 24, Kernel: 5, Levels: 3, Stride: 1, Bias: true}
	wt := randomLayer(t, l, 7)
	x := nodemodel.RandomInput(3, 24, 28, 28, 8)
	onnx := model(t, nodemodel.ForLayer(l, wt))
	var first []float32
	for _, threads := range []int{1, 2, 4} {
		got, err := run(mustOpen(t, onnx, threads), x)
		if err != nil {
			t.Fatalf("threads %d: %v", threads, err)
		}
		if first == nil {
			first = got.F32
			continue
		}
		for i := range first {
			if first[i] != got.F32[i] {
				t.Fatalf("threads %d: element %d is %v, with 1 thread %v", threads, i, got.F32[i], first[i])
			}
		}
	}
}

// TestConcurrentRuns runs one session from 8 goroutines at once and expects
// exactly the results of sequential runs.
func TestConcurrentRuns(t *testing.T) {
	l := wtconv.Layer{Channels: 16, Kernel: 5, Levels: 3, Stride: 1, Bias: true}
	wt := randomLayer(t, l, 11)
	e := mustOpen(t, model(t, nodemodel.ForLayer(l, wt)), 2)
	const workers, rounds = 8, 4
	inputs := make([]*tensor.Tensor, workers)
	want := make([][]float32, workers)
	for i := range inputs {
		// Different sizes too, so that concurrent runs have different shapes.
		inputs[i] = nodemodel.RandomInput(1+i%3, 16, 20+i, 24-i, uint64(50+i))
		y, err := run(e, inputs[i])
		if err != nil {
			t.Fatalf("sequential run %d: %v", i, err)
		}
		want[i] = y.F32
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				y, err := run(e, inputs[i])
				if err != nil {
					errs <- fmt.Errorf("worker %d round %d: %w", i, r, err)
					return
				}
				for j := range want[i] {
					if y.F32[j] != want[i][j] {
						errs <- fmt.Errorf("worker %d round %d: element %d is %v, sequential %v", i, r, j, y.F32[j], want[i][j])
						return
					}
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestMalformed feeds bad attributes and shapes and expects clean errors
// naming the problem, from session creation or from Run.
func TestMalformed(t *testing.T) {
	good := wtconv.Layer{Channels: 4, Kernel: 3, Levels: 2, Stride: 1, Bias: true}
	wt := randomLayer(t, good, 3)
	base := func() nodemodel.Spec { return nodemodel.ForLayer(good, wt) }
	x := nodemodel.RandomInput(1, 4, 12, 12, 1)

	cases := []struct {
		name string
		spec func() nodemodel.Spec
		x    *tensor.Tensor
		want []string // substrings of the error
	}{
		{"wrong_channels", func() nodemodel.Spec { s := base(); s.XDims = nil; return s },
			nodemodel.RandomInput(1, 3, 12, 12, 2), []string{"wtconv0", "base_weight", "[4,1,3,3]", "[3,1,3,3]", "C=3 from X"}},
		{"missing_level_weights", func() nodemodel.Spec {
			s := base()
			w := s.Weights[4]
			s.Weights[4] = tensor.NewFloat32([]int{1, 16, 1, 3, 3}, w.F32[:16*9])
			return s
		}, x, []string{"wavelet_weight", "[1,16,1,3,3]", "[2,16,1,3,3]"}},
		{"missing_level_scales", func() nodemodel.Spec {
			s := base()
			s.Weights[5] = tensor.NewFloat32([]int{1, 16}, s.Weights[5].F32[:16])
			return s
		}, x, []string{"wavelet_scale", "[1,16]", "[2,16]"}},
		{"unknown_wavelet", func() nodemodel.Spec {
			s := base()
			s.Attrs = append(s.Attrs, nodemodel.StringAttr("wavelet", "sym2"))
			return s
		}, x, []string{"wavelet", `"sym2"`, "not supported", "db1 = haar through db38"}},
		{"db39_unknown", func() nodemodel.Spec {
			s := base()
			s.Attrs = append(s.Attrs, nodemodel.StringAttr("wavelet", "db39"))
			return s
		}, x, []string{"wavelet", `"db39"`, "not supported"}},
		{"long_unknown_wavelet", func() nodemodel.Spec {
			s := base()
			s.Attrs = append(s.Attrs, nodemodel.StringAttr("wavelet", strings.Repeat("sym", 100)))
			return s
		}, x, []string{"wavelet", `"symsym`, "not supported"}},
		{"explicit_db1_ok_but_bad_x", func() nodemodel.Spec {
			s := base()
			s.Attrs = append(s.Attrs, nodemodel.StringAttr("wavelet", "db1"), nodemodel.IntAttr("stride", 2))
			s.XDims = nil
			return s
		}, nodemodel.RandomInput(1, 3, 12, 12, 5), []string{"base_weight", "C=3 from X"}},
		{"wrong_rank", func() nodemodel.Spec { s := base(); s.XDims = nil; return s },
			tensor.NewFloat32([]int{4, 12, 12}, make([]float32, 4*12*12)), []string{"X", "rank 4", "[4,12,12]"}},
		{"missing_levels", func() nodemodel.Spec { s := base(); s.Attrs = nil; return s }, x,
			[]string{"'levels' is required"}},
		{"negative_levels", func() nodemodel.Spec {
			s := base()
			s.Attrs = []*onnxpb.AttributeProto{nodemodel.IntAttr("levels", -1)}
			return s
		}, x,
			[]string{"'levels' is -1"}},
		{"float_levels", func() nodemodel.Spec {
			s := base()
			s.Attrs = []*onnxpb.AttributeProto{nodemodel.FloatAttr("levels", 2)}
			return s
		}, x,
			[]string{"'levels' must be an int"}},
		{"zero_stride", func() nodemodel.Spec {
			s := base()
			s.Attrs = append(s.Attrs, nodemodel.IntAttr("stride", 0))
			return s
		}, x,
			[]string{"'stride' is 0"}},
		{"int_wavelet", func() nodemodel.Spec {
			s := base()
			s.Attrs = append(s.Attrs, nodemodel.IntAttr("wavelet", 1))
			return s
		}, x,
			[]string{"'wavelet' must be a string"}},
		{"nonsquare_wavelet_kernel", func() nodemodel.Spec {
			s := base()
			s.Weights[4] = tensor.NewFloat32([]int{2, 16, 1, 5, 3}, make([]float32, 2*16*15))
			return s
		}, x, []string{"wavelet_weight", "[2,16,1,5,3]", "[2,16,1,5,5]"}},
		{"nonsquare_base", func() nodemodel.Spec {
			s := base()
			s.Weights[1] = tensor.NewFloat32([]int{4, 1, 3, 2}, make([]float32, 24))
			return s
		}, x, []string{"base_weight", "[4,1,3,2]"}},
		{"bad_bias", func() nodemodel.Spec {
			s := base()
			s.Weights[2] = tensor.NewFloat32([]int{3}, make([]float32, 3))
			return s
		}, x,
			[]string{"base_bias", "[3]", "[4]"}},
		{"bad_base_scale", func() nodemodel.Spec {
			s := base()
			s.Weights[3] = tensor.NewFloat32([]int{1, 4, 1, 1}, make([]float32, 4))
			return s
		}, x, []string{"base_scale", "[1,4,1,1]", "[4]"}},
		{"absent_wavelet_weight", func() nodemodel.Spec { s := base(); s.Weights[4] = nil; return s }, x,
			[]string{"wavelet_weight", "missing"}},
		{"absent_wavelet_inputs", func() nodemodel.Spec { s := base(); s.Weights[4], s.Weights[5] = nil, nil; return s }, x,
			[]string{"wavelet_weight", "missing"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := open(t, model(t, tc.spec()), 1)
			if err == nil {
				defer e.Close()
				var y *tensor.Tensor
				y, err = run(e, tc.x)
				if err == nil {
					t.Fatalf("no error; output shape %v", y.Shape)
				}
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
		})
	}
}

// TestSessionSurvivesBadRun checks that a Run rejected for its input shape
// leaves the session usable.
func TestSessionSurvivesBadRun(t *testing.T) {
	l := wtconv.Layer{Channels: 3, Kernel: 3, Levels: 3, Stride: 1, Bias: true}
	wt := randomLayer(t, l, 9)
	spec := nodemodel.ForLayer(l, wt)
	spec.XDims = nil
	e := mustOpen(t, model(t, spec), 2)
	if _, err := run(e, nodemodel.RandomInput(1, 4, 4, 16, 1)); err == nil || !strings.Contains(err.Error(), "C=4 from X") {
		t.Fatalf("4-channel input for a 3-channel layer: got %v, want the shape error", err)
	}
	x := nodemodel.RandomInput(2, 3, 5, 16, 2)
	got, err := run(e, x)
	if err != nil {
		t.Fatalf("valid run after a rejected one: %v", err)
	}
	want, _, _, err := wtconv.Forward(l, wt, x.F32, 2, 5, 16)
	if err != nil {
		t.Fatal(err)
	}
	if diff, scale := maxAbsDiff(got.F32, want); diff > tolerance*scale {
		t.Errorf("max |err| %.3g exceeds %.3g", diff, tolerance*scale)
	}
}

// TestOptionalBiasOmittedInMiddle wires input 2 as the empty name while
// inputs 3..5 are present, the form the converter emits for bias-free layers.
func TestOptionalBiasOmittedInMiddle(t *testing.T) {
	l := wtconv.Layer{Channels: 5, Kernel: 3, Levels: 2, Stride: 1, Bias: false}
	wt := randomLayer(t, l, 12)
	s := nodemodel.ForLayer(l, wt)
	if s.Weights[2] != nil {
		t.Fatal("bias-free layer has a bias input")
	}
	x := nodemodel.RandomInput(1, 5, 10, 9, 3)
	got, err := run(mustOpen(t, model(t, s), 1), x)
	if err != nil {
		t.Fatal(err)
	}
	want, _, _, err := wtconv.Forward(l, wt, x.F32, 1, 10, 9)
	if err != nil {
		t.Fatal(err)
	}
	if diff, scale := maxAbsDiff(got.F32, want); diff > tolerance*scale {
		t.Errorf("max |err| %.3g exceeds %.3g", diff, tolerance*scale)
	}
}
