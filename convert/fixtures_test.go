package convert_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/wtonnx/wtonnx/convert"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/testmodels"
	"google.golang.org/protobuf/proto"
)

// TestPreserveOnFixtures converts every depthwise conv of every fixture with
// --init preserve and checks, on ONNX Runtime, that the converted model
// computes what the original did, and that exactly the fixture's depthwise
// convs (as recorded from the PyTorch module) were converted.
func TestPreserveOnFixtures(t *testing.T) {
	fixtures, err := testmodels.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fixtures {
		t.Run(f.Name, func(t *testing.T) {
			m, err := onnxmodel.Load(f.ModelPath())
			if err != nil {
				t.Fatal(err)
			}
			x, err := tensor.ReadNPY(f.InputPath())
			if err != nil {
				t.Fatal(err)
			}
			opts := convert.Options{Init: convert.InitPreserve, Levels: convert.AutoLevels}
			if f.Meta.InputDynamic() != nil && anyTrue(f.Meta.InputDynamic()) {
				shape := make([]int64, len(x.Shape))
				for i, d := range x.Shape {
					shape[i] = int64(d)
				}
				opts.InputShapes = map[string][]int64{f.Meta.InputName: shape}
			}
			conv, rep, err := convert.Convert(m, opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range rep.Converted {
				got = append(got, l.Node)
			}
			want := append([]string{}, f.Meta.DepthwiseConvs...)
			sort.Strings(got)
			sort.Strings(want)
			if len(got) != len(want) {
				t.Fatalf("converted %d convs %v, the fixture has %d depthwise convs %v (skipped: %+v)", len(got), got, len(want), want, rep.Skipped)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("converted %v, want %v", got, want)
				}
			}
			for _, nc := range f.Meta.NonCandidateConvs {
				found := false
				for _, s := range rep.Skipped {
					if s.Node == nc.Node {
						found = true
					}
				}
				if !found {
					t.Errorf("non-candidate conv %s (%s) is not reported as skipped", nc.Node, nc.Reason)
				}
			}
			// With ONNX Runtime's layout and fusion passes off, both models
			// run the same arithmetic: the zero wavelet branch adds exact
			// zeros. With them on, ORT picks kernels per graph shape (NCHWc
			// blocking, Conv+activation fusion), which reorders float sums.
			for _, level := range []string{"basic", "all"} {
				orig := runOne(t, openORTLevel(t, m, level), x)
				conv2 := runOne(t, openORTLevel(t, conv, level), x)
				d := maxAbsDiff(t, conv2, orig) / orig.MaxAbs()
				t.Logf("graph optimisation %s: max abs difference / max|y| = %.3g", level, d)
				if level == "basic" && d > 1e-6 {
					t.Fatalf("optimisation %s: converted output differs from the original by %.3g relative (> 1e-6)", level, d)
				}
				if d > 1e-5 {
					t.Fatalf("optimisation %s: converted output differs from the original by %.3g relative (> 1e-5)", level, d)
				}
			}
		})
	}
}

func anyTrue(v []bool) bool {
	for _, b := range v {
		if b {
			return true
		}
	}
	return false
}

// TestDynamicShapes converts the dynamic MobileNetV2 with explicit levels and
// checks the converted model on even and odd sizes against the original.
func TestDynamicShapes(t *testing.T) {
	m, err := onnxmodel.Load(filepath.Join(testmodels.Dir(), "mobilenet_v2_dynamic", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	conv, _, err := convert.Convert(m, convert.Options{Init: convert.InitRandom, Seed: 3, Levels: 2})
	if err != nil {
		t.Fatal(err)
	}
	pres, _, err := convert.Convert(m, convert.Options{Init: convert.InitPreserve, Levels: 2})
	if err != nil {
		t.Fatal(err)
	}
	origE, presE, convE := openORTLevel(t, m, "basic"), openORTLevel(t, pres, "basic"), openORT(t, conv)
	for _, hw := range [][2]int{{64, 64}, {67, 69}, {97, 96}} {
		x := tensor.NewFloat32([]int{2, 3, hw[0], hw[1]}, nil)
		for i := range x.F32 {
			x.F32[i] = float32((i*7919)%200)/100 - 1
		}
		o := runOne(t, origE, x)
		if d := maxAbsDiff(t, runOne(t, presE, x), o); d > 1e-6*o.MaxAbs() {
			t.Fatalf("%v: preserve differs from the original by %.3g", hw, d)
		}
		c := runOne(t, convE, x)
		if maxAbsDiff(t, c, o) == 0 {
			t.Fatalf("%v: random wavelet weights changed nothing", hw)
		}
	}
}

func TestConvertIsDeterministicAndLeavesInputAlone(t *testing.T) {
	path := filepath.Join(testmodels.Dir(), "mobilenet_v2", "model.onnx")
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var outs [][]byte
	for i := 0; i < 2; i++ {
		m, err := onnxmodel.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		c, _, err := convert.Convert(m, convert.Options{Init: convert.InitRandom, Seed: 7, Levels: convert.AutoLevels})
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "out"+string(rune('a'+i))+".onnx")
		if err := onnxmodel.Save(c, p, onnxmodel.SaveOptions{}); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(p)
		outs = append(outs, b)
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Fatal("two conversions gave different bytes")
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("the input model file changed")
	}
}

func TestSelectionFlags(t *testing.T) {
	m, err := onnxmodel.Load(filepath.Join(testmodels.Dir(), "mobilenet_v2", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	all, err := convert.Plan(m, convert.Options{Levels: convert.AutoLevels})
	if err != nil {
		t.Fatal(err)
	}
	sel, err := convert.Plan(m, convert.Options{Levels: convert.AutoLevels, Select: regexp.MustCompile(`features\.1/`)})
	if err != nil {
		t.Fatal(err)
	}
	if len(sel.Converted) != 1 || len(all.Converted) < 10 {
		t.Fatalf("select kept %d of %d", len(sel.Converted), len(all.Converted))
	}
	exc, err := convert.Plan(m, convert.Options{Levels: convert.AutoLevels, Exclude: regexp.MustCompile(`features\.1/`)})
	if err != nil {
		t.Fatal(err)
	}
	if len(exc.Converted) != len(all.Converted)-1 {
		t.Fatalf("exclude kept %d of %d", len(exc.Converted), len(all.Converted))
	}
	big, err := convert.Plan(m, convert.Options{Levels: convert.AutoLevels, MinKernel: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(big.Converted) != 0 || len(big.Warnings) == 0 {
		t.Fatalf("--min-kernel 5 on 3x3 convs converted %d, warnings %v", len(big.Converted), big.Warnings)
	}
}

// TestConvertConcurrentLeavesModelAlone converts one loaded model in every
// form from several goroutines at once (run under -race in CI) and checks
// that the model in memory is unchanged: Convert shares the input's tensors
// and nodes with its result and must never write to them.
func TestConvertConcurrentLeavesModelAlone(t *testing.T) {
	m, err := onnxmodel.Load(filepath.Join(testmodels.Dir(), "convnext", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	before := proto.Clone(m)
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(allFormats))
	for i := 0; i < 2; i++ {
		for _, f := range allFormats {
			wg.Add(1)
			go func(f convert.Format) {
				defer wg.Done()
				c, _, err := convert.Convert(m, convert.Options{Init: convert.InitRandom, Seed: 5, Levels: 2, Format: f})
				if err == nil {
					_, err = onnxmodel.Marshal(c)
				}
				errs <- err
			}(f)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if !proto.Equal(before, m) {
		t.Fatal("Convert changed the input model")
	}
}

func TestFloat16ModelIsRefused(t *testing.T) {
	m := depthwiseModel(1, 4, 8, 8, 3)
	w := m.GetGraph().GetInitializer()[0]
	w.DataType = ptr(int32(onnxpb.TensorProto_FLOAT16))
	w.RawData = make([]byte, 2*4*9)
	_, _, err := convert.Convert(m, convert.Options{Levels: 1})
	if err == nil || !strings.Contains(err.Error(), "float16") || !strings.Contains(err.Error(), "dw.weight") {
		t.Fatalf("float16 model: %v", err)
	}
}

// TestConvertingAgainConvertsNothing converts a converted model again: the
// convs inside its WTConv layers (the base conv and the wavelet-domain
// convs, which are depthwise too) are left alone with a reason, instead of
// nesting wavelet transforms inside the layer.
func TestConvertingAgainConvertsNothing(t *testing.T) {
	m, err := onnxmodel.Load(filepath.Join(testmodels.Dir(), "convnext", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []convert.Format{convert.FormatOps, convert.FormatFunction, convert.FormatCustomOp} {
		once, first, err := convert.Convert(m, convert.Options{Init: convert.InitRandom, Seed: 1, Levels: convert.AutoLevels, Format: f})
		if err != nil {
			t.Fatal(err)
		}
		_, again, err := convert.Convert(once, convert.Options{Init: convert.InitRandom, Seed: 1, Levels: convert.AutoLevels})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(again.Converted) != 0 {
			t.Errorf("%s: converting again converted %d layers, first %s", f, len(again.Converted), again.Converted[0].Node)
		}
		if !strings.Contains(strings.Join(again.Warnings, "\n"), "converted already") {
			t.Errorf("%s: warnings do not say the model was converted already: %q", f, again.Warnings)
		}
		for _, s := range again.Skipped {
			if strings.Contains(s.Node, "/wtconv/") && !strings.Contains(s.Reason, "WTConv layer "+strings.SplitN(s.Node, "/wtconv/", 2)[0]) {
				t.Errorf("%s: %s skipped for %q, not as part of its layer", f, s.Node, s.Reason)
			}
		}
		if f == convert.FormatOps && len(again.Skipped) < 2*len(first.Converted) {
			t.Errorf("ops form: %d convs skipped for %d layers", len(again.Skipped), len(first.Converted))
		}
	}
}

func TestParseInputShapeSaysWhyADimensionIsRefused(t *testing.T) {
	for in, want := range map[string]string{
		"x=1x3x99999999x2": "from 1 to 16777216",
		"x=1x3x0x2":        "from 1 to 16777216",
		"x=1x3xax2":        `"a"`,
	} {
		if _, _, err := convert.ParseInputShape(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one saying %s", in, err, want)
		}
	}
	if name, dims, err := convert.ParseInputShape("x=1x3x16777216x2"); err != nil || name != "x" || len(dims) != 4 || dims[2] != 1<<24 {
		t.Errorf("largest dimension refused: %v %v %v", name, dims, err)
	}
}

// TestInputShapeOverrideKeepsTheModelDynamic converts the dynamic
// MobileNetV2 with --input-shape (to choose the levels) and runs the result
// at other sizes: the override fixes the plan, not the model, whose inputs
// stay dynamic, so the standard-op form must crop on run-time shapes.
func TestInputShapeOverrideKeepsTheModelDynamic(t *testing.T) {
	m, err := onnxmodel.Load(filepath.Join(testmodels.Dir(), "mobilenet_v2_dynamic", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	name := m.GetGraph().GetInput()[0].GetName()
	pres, rep, err := convert.Convert(m, convert.Options{Init: convert.InitPreserve, Levels: convert.AutoLevels,
		InputShapes: map[string][]int64{name: {1, 3, 97, 131}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Converted) == 0 || rep.Converted[0].Levels < 3 {
		t.Fatalf("auto levels from the given shape: %+v", rep.Converted)
	}
	origE, presE := openORTLevel(t, m, "basic"), openORTLevel(t, pres, "basic")
	for _, hw := range [][2]int{{97, 131}, {65, 49}, {224, 224}} {
		x := tensor.NewFloat32([]int{2, 3, hw[0], hw[1]}, nil)
		for i := range x.F32 {
			x.F32[i] = float32((i*7919)%200)/100 - 1
		}
		o := runOne(t, origE, x)
		if d := maxAbsDiff(t, runOne(t, presE, x), o); d > 1e-5*o.MaxAbs() {
			t.Fatalf("%v: preserve differs from the original by %.3g", hw, d)
		}
	}
}
