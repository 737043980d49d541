package wtconv_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/wtconv"
)

func TestValidate(t *testing.T) {
	good := wtconv.Layer{Channels: 4, Kernel: 5, Levels: 2, Stride: 1, Bias: true}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid layer rejected: %v", err)
	}
	for _, tc := range []struct {
		name   string
		modify func(*wtconv.Layer)
		want   string
	}{
		{"channels", func(l *wtconv.Layer) { l.Channels = 0 }, "channels must be >= 1"},
		{"kernel", func(l *wtconv.Layer) { l.Kernel = 0 }, "kernel size must be >= 1"},
		{"huge kernel", func(l *wtconv.Layer) { l.Kernel = wtconv.MaxKernel + 1 }, "exceeds the supported maximum"},
		{"levels", func(l *wtconv.Layer) { l.Levels = -1 }, "levels must be >= 0"},
		{"deep", func(l *wtconv.Layer) { l.Levels = 31 }, "levels 31 exceed"},
		{"stride", func(l *wtconv.Layer) { l.Stride = 0 }, "stride must be >= 1"},
		{"wavelet", func(l *wtconv.Layer) { l.Wavelet = "sym2" }, `unsupported wavelet "sym2"`},
		{"db0", func(l *wtconv.Layer) { l.Wavelet = "db0" }, `unsupported wavelet "db0"`},
		{"base kernel", func(l *wtconv.Layer) { l.BaseKernel = -1 }, "base kernel size must be >= 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := good
			tc.modify(&l)
			err := l.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	for _, name := range []string{"", "db1", "haar", "DB1"} {
		l := good
		l.Wavelet = name
		if err := l.Validate(); err != nil {
			t.Errorf("wavelet %q rejected: %v", name, err)
		}
	}
}

func TestParams(t *testing.T) {
	for _, tc := range []struct {
		c, k, l int
		bias    bool
	}{{1, 5, 3, true}, {96, 5, 5, true}, {64, 3, 0, false}, {7, 4, 2, false}} {
		layer := wtconv.Layer{Channels: tc.c, Kernel: tc.k, Levels: tc.l, Stride: 1, Bias: tc.bias}
		// Count by building the tensors.
		wt, err := wtconv.PreserveWeights(layer, make([]float32, tc.c*tc.k*tc.k), nil)
		if err != nil {
			t.Fatal(err)
		}
		n := len(wt.Base) + len(wt.Bias) + len(wt.BaseScale)
		for i := range wt.Wavelet {
			n += len(wt.Wavelet[i]) + len(wt.WaveletScale[i])
		}
		c, k, l := int64(tc.c), int64(tc.k), int64(tc.l)
		formula := c*k*k + c + c + l*(4*c*k*k+4*c)
		if !tc.bias {
			formula -= c
		}
		if got := layer.Params(); got != formula || got != int64(n) {
			t.Errorf("%+v: Params() = %d, formula %d, tensors hold %d", tc, got, formula, n)
		}
	}
	// The spec's formula written out for the worked example: C=1, k=5, L=3.
	l := wtconv.Layer{Channels: 1, Kernel: 5, Levels: 3, Stride: 1, Bias: true}
	if got := l.Params(); got != 25+1+1+3*(100+4) {
		t.Errorf("Params() = %d, want %d", got, 25+1+1+3*(100+4))
	}
}

func TestAutoLevels(t *testing.T) {
	for _, tc := range []struct{ h, w, want int }{
		{56, 56, 5}, {28, 28, 4}, {14, 14, 3}, {7, 7, 2}, // ConvNeXt-T stages at 224
		{224, 224, 5}, {4, 4, 1}, {3, 3, 1}, {2, 2, 0}, {1, 9, 0}, {9, 1, 0}, {56, 7, 2},
	} {
		if got := wtconv.AutoLevels(tc.h, tc.w); got != tc.want {
			t.Errorf("AutoLevels(%d, %d) = %d, want %d", tc.h, tc.w, got, tc.want)
		}
	}
}

func TestMaxLevelsAndSizeRule(t *testing.T) {
	for _, tc := range []struct{ h, w, want int }{
		{7, 7, 3}, {8, 8, 3}, {9, 9, 4}, {2, 2, 1}, {1, 5, 0}, {56, 56, 6}, {56, 3, 2}, {17, 17, 5},
	} {
		if got := wtconv.MaxLevels(tc.h, tc.w); got != tc.want {
			t.Errorf("MaxLevels(%d, %d) = %d, want %d", tc.h, tc.w, got, tc.want)
		}
	}
	// CheckLevelsFit agrees with MaxLevels and with the rule
	// ceil(n/2^(L-1)) >= 2, and every accepted size runs through Forward.
	for h := 1; h <= 20; h++ {
		for w := 1; w <= 20; w += 3 {
			for L := 0; L <= 6; L++ {
				l := wtconv.Layer{Channels: 1, Kernel: 3, Levels: L, Stride: 1}
				err := l.CheckLevelsFit(h, w)
				fits := L == 0 || (ceil(h, 1<<(L-1)) >= 2 && ceil(w, 1<<(L-1)) >= 2)
				if (err == nil) != fits || fits != (L <= wtconv.MaxLevels(h, w) || L == 0) {
					t.Fatalf("%dx%d, L=%d: CheckLevelsFit = %v, rule says fits=%v, MaxLevels=%d", h, w, L, err, fits, wtconv.MaxLevels(h, w))
				}
				if err != nil {
					if !errors.Is(err, wtconv.ErrLevelsTooDeep) || !strings.Contains(err.Error(), "levels need at least") {
						t.Fatalf("unexpected error text: %v", err)
					}
					continue
				}
				wt, _ := wtconv.RandomWeights(l, []float32{0, 1, 0, 1, 1, 1, 0, 1, 0}, nil, 1)
				if _, _, _, err := wtconv.Forward(l, wt, make([]float32, h*w), 1, h, w); err != nil {
					t.Fatalf("%dx%d, L=%d accepted by the size rule but Forward fails: %v", h, w, L, err)
				}
			}
		}
	}
	l := wtconv.Layer{Channels: 1, Kernel: 3, Levels: 4, Stride: 1}
	err := l.CheckLevelsFit(8, 20)
	if err == nil || !strings.Contains(err.Error(), "4 levels need at least 9x9 pixels, got 8x20") {
		t.Errorf("CheckLevelsFit(8, 20) with 4 levels = %v", err)
	}
}

func ceil(a, b int) int { return (a + b - 1) / b }

// TestReceptiveFieldMeasured finds, by feeding impulses through Forward, the
// input pixels that one output pixel depends on, and checks that their
// extent is exactly ReceptiveField() on both axes, wherever the output pixel
// lies relative to the 2^L grid.
func TestReceptiveFieldMeasured(t *testing.T) {
	for _, tc := range []struct{ k, levels int }{{3, 0}, {3, 1}, {3, 2}, {4, 2}, {2, 3}} {
		layer := wtconv.Layer{Channels: 1, Kernel: tc.k, Levels: tc.levels, Stride: 1}
		rf := layer.ReceptiveField()
		if want := (1 << tc.levels) * tc.k; rf != want {
			t.Fatalf("ReceptiveField() = %d, want 2^L*k = %d", rf, want)
		}
		size := rf + 2*(1<<tc.levels) + 8
		base := make([]float32, tc.k*tc.k)
		for i := range base {
			base[i] = 0.3 + float32(i%5)*0.1
		}
		wt, err := wtconv.RandomWeights(layer, base, nil, 7)
		if err != nil {
			t.Fatal(err)
		}
		// All impulse responses: resp[j] = output when input pixel j is 1.
		resp := make([][]float32, size*size)
		x := make([]float32, size*size)
		for j := range x {
			x[j] = 1
			resp[j], _, _, err = wtconv.Forward(layer, wt, x, 1, size, size)
			if err != nil {
				t.Fatal(err)
			}
			x[j] = 0
		}
		step := 1 << tc.levels
		center := size/2 - size/2%step
		for dy := 0; dy < step; dy++ {
			for dx := 0; dx < step; dx++ {
				oy, ox := center+dy, center+dx
				minY, maxY, minX, maxX := size, -1, size, -1
				for j := range resp {
					if resp[j][oy*size+ox] != 0 {
						y, x := j/size, j%size
						minY, maxY = min(minY, y), max(maxY, y)
						minX, maxX = min(minX, x), max(maxX, x)
					}
				}
				if ey, ex := maxY-minY+1, maxX-minX+1; ey != rf || ex != rf {
					t.Errorf("k=%d L=%d output (%d,%d): measured extent %dx%d, ReceptiveField() = %d", tc.k, tc.levels, oy, ox, ey, ex, rf)
				}
			}
		}
	}
	// The paper's example: 3 levels of a 5x5 kernel see 40x40 pixels.
	if got := (wtconv.Layer{Channels: 1, Kernel: 5, Levels: 3, Stride: 1}).ReceptiveField(); got != 40 {
		t.Errorf("paper example receptive field %d, want 40", got)
	}
}
