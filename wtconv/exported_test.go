package wtconv_test

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/wtonnx/wtonnx/checkpoint"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/wtconv"
)

// exportedDB2 is the shared export of the authors' module with a db2 wavelet:
// input -> 1x1 conv "pre" (3 -> 8) -> WTConv2d "wt" (C 8, k 5, L 2, db2) ->
// ReLU -> 1x1 conv "post" (8 -> 4), with PyTorch's output.
var exportedDB2 = filepath.Join("..", "..", "shared", "reference", "exported", "e07_db2_wavelet")

// pointwise is a 1x1 conv with bias on one N x cin x hw tensor.
func pointwise(x, w, b []float32, n, cin, cout, hw int) []float32 {
	out := make([]float32, n*cout*hw)
	for img := 0; img < n; img++ {
		for o := 0; o < cout; o++ {
			for p := 0; p < hw; p++ {
				s := float64(b[o])
				for i := 0; i < cin; i++ {
					s += float64(w[o*cin+i]) * float64(x[(img*cin+i)*hw+p])
				}
				out[(img*cout+o)*hw+p] = float32(s)
			}
		}
	}
	return out
}

// TestForwardMatchesExportedDB2 runs the db2 export's network around
// Forward: the checkpoint's wt_filter and iwt_filter must equal the db2
// filters (LayerWeights checks them) and the output must match PyTorch's.
func TestForwardMatchesExportedDB2(t *testing.T) {
	ck, err := checkpoint.Open(filepath.Join(exportedDB2, "weights.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	l := wtconv.Layer{Channels: 8, Kernel: 5, Levels: 2, Stride: 1, Bias: true, Wavelet: "db2"}
	wt, err := ck.LayerWeights("wt.", l)
	if err != nil {
		t.Fatal(err)
	}
	// The same checkpoint read as Haar must be refused: its fixed filters are db2's.
	if _, err := ck.LayerWeights("wt.", wtconv.Layer{Channels: 8, Kernel: 5, Levels: 2, Stride: 1, Bias: true}); err == nil {
		t.Error("the db2 checkpoint was accepted for a Haar layer")
	}
	// The 1x1 convs around the layer are in the model, not the checkpoint.
	m, err := onnxmodel.Load(filepath.Join(exportedDB2, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string) []float32 {
		for _, init := range m.GetGraph().GetInitializer() {
			if init.GetName() == name {
				v, err := onnxmodel.Float32s(init)
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
		}
		t.Fatalf("model.onnx has no initializer %q", name)
		return nil
	}
	x, err := tensor.ReadNPY(filepath.Join(exportedDB2, "x.npy"))
	if err != nil {
		t.Fatal(err)
	}
	y, err := tensor.ReadNPY(filepath.Join(exportedDB2, "y.npy"))
	if err != nil {
		t.Fatal(err)
	}
	n, h, w := x.Shape[0], x.Shape[2], x.Shape[3]
	run := func(l wtconv.Layer) float64 {
		pre := pointwise(x.F32, get("pre.weight"), get("pre.bias"), n, 3, 8, h*w)
		mid, _, _, err := wtconv.Forward(l, wt, pre, n, h, w)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range mid {
			mid[i] = max(v, 0)
		}
		out := pointwise(mid, get("post.weight"), get("post.bias"), n, 8, 4, h*w)
		d := 0.0
		for i, v := range out {
			d = math.Max(d, math.Abs(float64(v)-float64(y.F32[i])))
		}
		return d
	}
	tol := 1e-5 * y.MaxAbs()
	if d := run(l); !(d <= tol) {
		t.Errorf("db2: max abs error %.3g exceeds %.3g", d, tol)
	} else {
		t.Logf("db2: max abs error %.3g (tolerance %.3g)", d, tol)
	}
	// Computing the same weights with Haar filters must not match: the
	// test sees the wavelet.
	haar := l
	haar.Wavelet = "db1"
	if d := run(haar); d <= 100*tol {
		t.Errorf("with Haar filters the error is only %.3g: the case does not see the wavelet", d)
	}
}

// TestWaveletsAreOrthonormal checks every supported filter bank: one
// analysis level followed by synthesis reproduces the input away from the
// zero-padded border (the spec: n > 2 taps are not the identity near the
// edges), and the 1-D filters have unit norm.
func TestWaveletsAreOrthonormal(t *testing.T) {
	for n := 1; n <= 38; n++ {
		name := "db" + itoa(n)
		w, err := wtconv.WaveletByName(name)
		if err != nil {
			t.Fatal(err)
		}
		if w.Taps() != 2*n {
			t.Errorf("%s has %d taps, want %d", name, w.Taps(), 2*n)
		}
		s := 0.0
		for _, v := range w.DecLo {
			s += v * v
		}
		if math.Abs(s-1) > 1e-9 {
			t.Errorf("%s: |dec_lo|^2 = %v", name, s)
		}
	}
	// A layer with zero convs and identity scales is not the identity
	// either (the wavelet convs are zero); instead use one level with
	// a centre-tap wavelet kernel and scale 1: Y = T, so out = base + IWT(WT(x)).
	for _, name := range []string{"db1", "db2", "db3"} {
		const C, H, W = 1, 24, 20
		l := wtconv.Layer{Channels: C, Kernel: 1, Levels: 1, Stride: 1, Wavelet: name}
		wt := &wtconv.Weights{Base: []float32{0}, BaseScale: []float32{1},
			Wavelet: [][]float32{{1, 1, 1, 1}}, WaveletScale: [][]float32{{1, 1, 1, 1}}}
		x := make([]float32, H*W)
		for i := range x {
			x[i] = float32(math.Sin(float64(i) * 0.37))
		}
		out, _, _, err := wtconv.Forward(l, wt, x, 1, H, W)
		if err != nil {
			t.Fatal(err)
		}
		wv, _ := wtconv.WaveletByName(name)
		m := wv.Taps() // interior: at least the filter's reach from the border
		for y := m; y < H-m; y++ {
			for xx := m; xx < W-m; xx++ {
				if d := math.Abs(float64(out[y*W+xx] - x[y*W+xx])); d > 1e-5 {
					t.Fatalf("%s: reconstruction at (%d,%d) is off by %g", name, y, xx, d)
				}
			}
		}
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// TestSeparateBaseKernel: a 7x7 base with 5x5 wavelet convs computes what
// the same layer with both kernels embedded in 7x7 computes (zero taps
// around the 5x5 ones), and costs its own sizes: ConvNeXt's 7x7 base, k5,
// L5 has a receptive field of 2^5*5 = 160, not 2^5*7 = 224.
func TestSeparateBaseKernel(t *testing.T) {
	l := wtconv.Layer{Channels: 3, BaseKernel: 7, Kernel: 5, Levels: 5, Stride: 1, Bias: true}
	if rf := l.ReceptiveField(); rf != 160 {
		t.Errorf("receptive field %d, want 160", rf)
	}
	if got, want := l.Params(), int64(3*49+3+3+5*(12*25+12)); got != want {
		t.Errorf("params %d, want %d", got, want)
	}
	if got, want := l.FLOPs(56, 56).Base, int64(3*56*56*49); got != want {
		t.Errorf("base FLOPs %d, want %d", got, want)
	}
	for _, wav := range []string{"db1", "db2"} {
		l := wtconv.Layer{Channels: 2, BaseKernel: 7, Kernel: 5, Levels: 3, Stride: 2, Bias: true, Wavelet: wav}
		e := l
		e.BaseKernel, e.Kernel = 0, 7
		wt := randomLayerWeights(t, e, 3)
		small := wt.Clone()
		for i := range small.Wavelet {
			small.Wavelet[i] = make([]float32, 4*2*25)
			for c := 0; c < 8; c++ {
				for y := 0; y < 5; y++ {
					for x := 0; x < 5; x++ {
						small.Wavelet[i][c*25+y*5+x] = wt.Wavelet[i][c*49+(y+1)*7+x+1]
					}
				}
				// zero the embedded kernel's border so both describe one layer
				for y := 0; y < 7; y++ {
					for x := 0; x < 7; x++ {
						if y == 0 || y == 6 || x == 0 || x == 6 {
							wt.Wavelet[i][c*49+y*7+x] = 0
						}
					}
				}
			}
		}
		x := randSlice(rand.New(rand.NewPCG(5, 5)), 2*2*13*11)
		a, _, _, err := wtconv.Forward(l, small, x, 2, 13, 11)
		if err != nil {
			t.Fatal(err)
		}
		b, _, _, err := wtconv.Forward(e, wt, x, 2, 13, 11)
		if err != nil {
			t.Fatal(err)
		}
		for i := range a {
			if math.Abs(float64(a[i]-b[i])) > 1e-5 {
				t.Fatalf("%s: output %d: %g (kb 7, k 5) vs %g (embedded)", wav, i, a[i], b[i])
			}
		}
	}
}

// TestForwardTinyLevels: levels whose input is below 2 x 2 are computed (as
// the authors' module does: pad to even, transform) for every wavelet, and
// on a 1 x 1 input the Haar wavelet branch reduces to a closed form.
func TestForwardTinyLevels(t *testing.T) {
	for _, wav := range []string{"db1", "db2", "db3"} {
		l := wtconv.Layer{Channels: 1, Kernel: 3, Levels: 4, Stride: 1, Wavelet: wav}
		wt := randomLayerWeights(t, l, 7)
		for _, hw := range [][2]int{{1, 1}, {1, 5}, {3, 2}} {
			x := randSlice(rand.New(rand.NewPCG(1, 2)), hw[0]*hw[1])
			if _, _, _, err := wtconv.Forward(l, wt, x, 1, hw[0], hw[1]); err != nil {
				t.Errorf("%s on %dx%d: %v", wav, hw[0], hw[1], err)
			}
		}
	}
	// Haar, one level, 1 x 1 input v: the padded 2 x 2 block is [v 0; 0 0],
	// every band is v/2, the k=1 conv multiplies band b by w_b, the scale by
	// s_b, and synthesis position (0,0) sums the bands over 2: the branch is
	// v/4 * sum_b w_b*s_b.
	l := wtconv.Layer{Channels: 1, Kernel: 1, Levels: 1, Stride: 1}
	wt := &wtconv.Weights{Base: []float32{0}, BaseScale: []float32{1},
		Wavelet: [][]float32{{1, 2, 3, 4}}, WaveletScale: [][]float32{{0.5, 0.25, 1, 2}}}
	out, _, _, err := wtconv.Forward(l, wt, []float32{8}, 1, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := float32(8.0 / 4 * (0.5 + 0.5 + 3 + 8)); out[0] != want {
		t.Errorf("1x1 Haar: %g, want %g", out[0], want)
	}
}
