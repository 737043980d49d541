package convert

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/wtconv"
)

// One WTConv layer's subgraph in standard ONNX operators is written here,
// once, for both places it appears: spliced into the graph (the ops form)
// and as the body of a model-local function (the function form). What
// differs between the two is only where nodes and constants go (a wtSink)
// and where the trainable tensors come from (wtSources); the fused form is
// one node carrying the same tensors (fusedInputs).

// wtSink receives the nodes and constants of one layer's subgraph.
type wtSink interface {
	// op appends a node with the given role (a name suffix such as
	// "level1/analysis") and returns its output.
	op(op, role string, inputs []string, attrs ...*onnxpb.AttributeProto) string
	// floats and ints return a fixed constant; equal keys give one tensor.
	floats(key string, dims []int64, v []float32) string
	ints(key string, dims []int64, v ...int64) string
}

// wtSources supply the layer's trainable tensors to the subgraph.
type wtSources struct {
	levelWeight func(i int) string // level i+1's kernel, 4C x 1 x k x k
	levelScale  func(i int) string // level i+1's scale, 1 x 4C x 1 x 1
	// base emits the base conv (with the layer's stride) and returns its output.
	base func() string
	// baseScale returns the 1 x C x 1 x 1 base scale, or "" when it is all
	// ones and the Mul is left out.
	baseScale func() string
}

// wtEmit describes one emission.
type wtEmit struct {
	layer wtconv.Layer
	wav   wtconv.Wavelet
	x     string     // the layer's input
	sizes [][2]int64 // static sizes of X_0..X_L (crop by ConvTranspose pads), or nil (crop by Slice at run time)
	opset int64
	src   wtSources
}

// samePads are DWConvSame's explicit pads for a k x k kernel.
func samePads(k int) []int64 {
	b, a := int64((k-1)/2), int64(k-1-(k-1)/2)
	return []int64{b, b, a, a}
}

// filterKey names a shared filter constant: Haar keeps the names it always
// had (wtconv/haar_c<C>, wtconv/haar_ll_c<C>).
func filterKey(w wtconv.Wavelet, what string, c int) string {
	name := w.Name
	if w.IsHaar() {
		name = "haar"
	}
	return fmt.Sprintf("wtconv/%s%s_c%d", name, what, c)
}

// emitLayer writes the layer's subgraph into s and returns its output: the
// spec's level loop as Conv (analysis, stride 2, pads n/2-1 after the odd-size
// end pad), Conv + Mul (the level's kernel and scale), Gather (the LL band
// goes down), then bottom up ConvTranspose (synthesis of the level's bands,
// plus the coarser levels' result through the LL filter), crop, and finally
// the base branch, its scale, the stride subsampling and the Add.
func emitLayer(s wtSink, e wtEmit) (string, error) {
	l, w := e.layer, e.wav
	C, k, L := l.Channels, l.Kernel, l.Levels
	n := int64(w.Taps())
	p := int64(w.Pad())
	static := e.sizes != nil
	if !static && e.opset < 10 {
		return "", fmt.Errorf("the input size is dynamic and opset %d has no Slice with tensor bounds (needs opset 10) to crop odd sizes at run time; export the model with a fixed input size, or at opset 10 or newer", e.opset)
	}
	an := w.AnalysisFilters()
	sy := w.SynthesisFilters()
	ff := int(n * n)
	analysis := s.floats(filterKey(w, "", C), []int64{int64(4 * C), 1, n, n}, tileFilters(an, C))
	synthesis := analysis
	if !slices.Equal(an, sy) {
		synthesis = s.floats(filterKey(w, "_synthesis", C), []int64{int64(4 * C), 1, n, n}, tileFilters(sy, C))
	}
	llIdx := make([]int64, C)
	for c := range llIdx {
		llIdx[c] = int64(4 * c)
	}
	llIndex := s.ints(fmt.Sprintf("wtconv/ll_index_c%d", C), []int64{int64(C)}, llIdx...)

	levelIn := make([]string, L+1) // X_{i-1} for level i at index i-1
	levelIn[0] = e.x
	ys := make([]string, L+1)
	for i := 1; i <= L; i++ {
		lv := "level" + strconv.Itoa(i)
		wi, si := e.src.levelWeight(i-1), e.src.levelScale(i-1)
		t := s.op("Conv", lv+"/analysis", []string{levelIn[i-1], analysis},
			intsAttr("kernel_shape", n, n), intsAttr("strides", 2, 2), intsAttr("pads", p, p, p+1, p+1), intAttr("group", int64(C)))
		cv := s.op("Conv", lv+"/conv", []string{t, wi},
			intsAttr("kernel_shape", int64(k), int64(k)), intsAttr("pads", samePads(k)...), intAttr("group", int64(4*C)))
		ys[i] = s.op("Mul", lv+"/scale", []string{cv, si})
		if i < L {
			levelIn[i] = s.op("Gather", lv+"/ll", []string{t, llIndex}, intAttr("axis", 1))
		}
	}
	llFilter := s.floats(filterKey(w, "_ll", C), []int64{int64(C), 1, n, n}, tileFilters(sy[:ff], C))
	z := ""
	for i := L; i >= 1; i-- {
		lv := "level" + strconv.Itoa(i)
		pads := []int64{p, p, p, p}
		if static {
			// The transposed conv gives 2*ceil(h/2); end pads crop it to h.
			pads[2] += 2*e.sizes[i][0] - e.sizes[i-1][0]
			pads[3] += 2*e.sizes[i][1] - e.sizes[i-1][1]
		}
		attrs := []*onnxpb.AttributeProto{intsAttr("kernel_shape", n, n), intsAttr("strides", 2, 2), intsAttr("pads", pads...), intAttr("group", int64(C))}
		out := s.op("ConvTranspose", lv+"/synthesis", []string{ys[i], synthesis}, attrs...)
		if z != "" {
			up := s.op("ConvTranspose", lv+"/synthesis_ll", []string{z, llFilter}, attrs...)
			out = s.op("Add", lv+"/merge", []string{out, up})
		}
		if !static {
			shape := s.op("Shape", lv+"/crop/shape", []string{levelIn[i-1]})
			hw := s.op("Slice", lv+"/crop/hw", []string{shape, s.ints("wtconv/const/i2", []int64{1}, 2), s.ints("wtconv/const/i4", []int64{1}, 4)})
			out = s.op("Slice", lv+"/crop", []string{out, s.ints("wtconv/const/zeros2", []int64{2}, 0, 0), hw, s.ints("wtconv/const/axes23", []int64{2}, 2, 3)})
		}
		z = out
	}
	baseOut := e.src.base()
	if sc := e.src.baseScale(); sc != "" {
		baseOut = s.op("Mul", "base/scale", []string{baseOut, sc})
	}
	if L == 0 {
		return baseOut, nil
	}
	if st := l.Stride; st > 1 {
		if e.opset >= 10 {
			big := int64(math.MaxInt64)
			z = s.op("Slice", "subsample", []string{z, s.ints("wtconv/const/zeros2", []int64{2}, 0, 0),
				s.ints("wtconv/const/max2", []int64{2}, big, big), s.ints("wtconv/const/axes23", []int64{2}, 2, 3),
				s.ints("wtconv/const/steps"+strconv.Itoa(st), []int64{2}, int64(st), int64(st))})
		} else {
			// Opset 9's Slice has no steps: a 1x1 depthwise conv of ones, strided.
			ones := s.floats(fmt.Sprintf("wtconv/const/ones_c%d", C), []int64{int64(C), 1, 1, 1}, fill(C, 1))
			z = s.op("Conv", "subsample", []string{z, ones}, intsAttr("kernel_shape", 1, 1),
				intsAttr("strides", int64(st), int64(st)), intAttr("group", int64(C)))
		}
	}
	return s.op("Add", "add", []string{baseOut, z}), nil
}

// tileFilters repeats four n x n filters for c channels (row 4c+band).
func tileFilters(f []float32, c int) []float32 {
	out := make([]float32, 0, c*len(f))
	for i := 0; i < c; i++ {
		out = append(out, f...)
	}
	return out
}
