package fuse_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/convert"
	"github.com/wtonnx/wtonnx/customop"
	"github.com/wtonnx/wtonnx/fuse"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/runtime"
	"github.com/wtonnx/wtonnx/runtime/goexec"
	"github.com/wtonnx/wtonnx/runtime/ort"
	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/wtconvgraph"
)

var formats = []convert.Format{convert.FormatCustomOp, convert.FormatFunction, convert.FormatOps}

type exportCase struct {
	dir     string
	wavelet string
	layers  int
	x, y    *tensor.Tensor
}

func exportCases(t *testing.T) []exportCase {
	dirs, _ := filepath.Glob("../../shared/reference/exported/*/case.json")
	local, _ := filepath.Glob("../testmodels/exported/*/case.json")
	dirs = append(dirs, local...)
	if len(dirs) < 7 {
		t.Fatalf("found %d exported cases; is ../shared beside the repository?", len(dirs))
	}
	var out []exportCase
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var c struct {
			Wavelet string            `json:"wavelet"`
			Layers  []json.RawMessage `json:"wtconv_layers"`
		}
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Dir(p)
		x, err := tensor.ReadNPY(filepath.Join(dir, "x.npy"))
		if err != nil {
			t.Fatal(err)
		}
		y, err := tensor.ReadNPY(filepath.Join(dir, "y.npy"))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, exportCase{dir: dir, wavelet: c.Wavelet, layers: len(c.Layers), x: x, y: y})
	}
	return out
}

func open(t *testing.T, engine string, m *onnxpb.ModelProto) runtime.Engine {
	t.Helper()
	if engine == "go" {
		e, err := goexec.Open(m, goexec.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		return e
	}
	lib, err := ort.FindLibrary("")
	if err != nil {
		t.Fatal(err)
	}
	cop, err := customop.FindLibrary("")
	if err != nil {
		t.Fatal(err)
	}
	data, err := onnxmodel.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	e, err := ort.Open(data, ort.Options{LibraryPath: lib, IntraOpThreads: 1, CustomOpLibraries: []string{cop}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func run(t *testing.T, e runtime.Engine, x *tensor.Tensor) *tensor.Tensor {
	t.Helper()
	out, err := e.Run(context.Background(), map[string]*tensor.Tensor{e.Inputs()[0].Name: x}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out[e.Outputs()[0].Name]
}

func maxDiff(a, b *tensor.Tensor) float64 {
	if !tensor.SameShape(a.Shape, b.Shape) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a.F32 {
		d = max(d, math.Abs(float64(a.F32[i]-b.F32[i])))
	}
	return d
}

// TestFuseReproducesExports fuses every export in every form and checks
// PyTorch's output on both engines; the customop form must hold one fused
// node per layer and no ConvTranspose. Wavelets the builders cannot emit yet
// are refused by name.
func TestFuseReproducesExports(t *testing.T) {
	for _, c := range exportCases(t) {
		src, err := onnxmodel.Load(filepath.Join(c.dir, "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		orig, _ := onnxmodel.Marshal(src)
		for _, f := range formats {
			t.Run(filepath.Base(c.dir)+"/"+string(f), func(t *testing.T) {
				out, rep, err := fuse.Fuse(src, fuse.Options{Format: f})
				if c.wavelet != "db1" {
					if err == nil || !strings.Contains(err.Error(), c.wavelet+" is not supported by the "+string(f)+" form") {
						t.Fatalf("error %v, want a refusal naming %s", err, c.wavelet)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(rep.Fused) != c.layers {
					t.Fatalf("fused %d layers, want %d", len(rep.Fused), c.layers)
				}
				for _, l := range rep.Fused {
					if l.CheckMaxDiff > 1e-5*l.CheckMaxAbs {
						t.Errorf("layer %s: check diff %g of max %g", l.Name, l.CheckMaxDiff, l.CheckMaxAbs)
					}
				}
				fusedNodes, convT := 0, 0
				for _, n := range out.GetGraph().GetNode() {
					if n.GetDomain() == convert.CustomDomain && n.GetOpType() == convert.CustomOpType {
						fusedNodes++
					}
					if n.GetOpType() == "ConvTranspose" {
						convT++
					}
					// The exports hold shape arithmetic only inside their
					// layers: none of it may outlive them.
					switch n.GetOpType() {
					case "Shape", "Mod", "ConstantOfShape", "Pad":
						if f == convert.FormatCustomOp {
							t.Errorf("%s node %s left over", n.GetOpType(), n.GetName())
						}
					}
				}
				if f == convert.FormatCustomOp && (fusedNodes != c.layers || convT != 0) {
					t.Errorf("customop form: %d fused nodes (want %d), %d ConvTranspose (want 0)", fusedNodes, c.layers, convT)
				}
				scale := c.y.MaxAbs()
				for _, engine := range []string{"ort", "go"} {
					got := run(t, open(t, engine, out), c.x)
					d := maxDiff(got, c.y)
					t.Logf("%s: max diff %.3g of max|y| %.3g (%.2g)", engine, d, scale, d/scale)
					if d > 1e-5*scale {
						t.Errorf("%s: max diff %g > 1e-5 * %g", engine, d, scale)
					}
				}
				again, _, err := fuse.Fuse(src, fuse.Options{Format: f})
				if err != nil {
					t.Fatal(err)
				}
				a, _ := onnxmodel.Marshal(out)
				b, _ := onnxmodel.Marshal(again)
				if !bytes.Equal(a, b) {
					t.Error("fusing twice gives different bytes")
				}
			})
		}
		if now, _ := onnxmodel.Marshal(src); !bytes.Equal(now, orig) {
			t.Errorf("%s: the input model was modified", c.dir)
		}
	}
}

// TestNothingToFuse returns the model itself with a warning.
func TestNothingToFuse(t *testing.T) {
	src, err := onnxmodel.Load("../../shared/reference/wtconv-official/basic_c4_k3_l1/source.onnx")
	if err != nil {
		t.Fatal(err)
	}
	out, rep, err := fuse.Fuse(src, fuse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if out != src || len(rep.Fused) != 0 || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "nothing fused") {
		t.Fatalf("report %+v", rep)
	}
}

// TestCheckSeesAWrongReplacement gives the check a replacement whose
// level-1 weight differs in one value from the graph's: it must report the
// difference the tolerance refuses.
func TestCheckSeesAWrongReplacement(t *testing.T) {
	src, err := onnxmodel.Load("../../shared/reference/exported/e01_single_c16_k5_l3/model.onnx")
	if err != nil {
		t.Fatal(err)
	}
	ls, err := wtconvgraph.Find(src, nil)
	if err != nil || len(ls) != 1 {
		t.Fatalf("%d layers, %v", len(ls), err)
	}
	l := ls[0]
	r := convert.Replacement{Name: l.Name, Input: l.Input, Output: l.Output, Layer: l.Layer, Weights: l.Weights.Clone(),
		InputHW: []int64{56, 56}, Nodes: l.NodeIndex}
	for _, f := range formats {
		_, diff, maxAbs, err := fuse.Check(src, r, f, 1)
		if err != nil || diff > 1e-5*maxAbs {
			t.Fatalf("%s: unchanged weights: diff %g of %g, %v", f, diff, maxAbs, err)
		}
	}
	r.Weights.Wavelet[0][12] += 0.5
	_, diff, maxAbs, err := fuse.Check(src, r, convert.FormatCustomOp, 1)
	if err != nil || diff <= fuse.DefaultTolerance*maxAbs {
		t.Fatalf("a changed weight: diff %g of %g (%v), want more than the tolerance", diff, maxAbs, err)
	}
}
