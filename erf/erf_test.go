package erf_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"image/png"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/convert"
	"github.com/wtonnx/wtonnx/erf"
	"github.com/wtonnx/wtonnx/graph"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/runtime/goexec"
	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/wtconv"
	"github.com/wtonnx/wtonnx/wtconvgraph"
)

// dwModel is a one-node model: x [1, C, n, n] -> depthwise k x k conv
// (same padding, random weights and bias) -> y.
func dwModel(c, k, n int, seed uint64) *onnxpb.ModelProto {
	rng := rand.New(rand.NewPCG(seed, 1))
	w := make([]float32, c*k*k)
	for i := range w {
		w[i] = float32(rng.NormFloat64())
	}
	b := make([]float32, c)
	for i := range b {
		b[i] = float32(rng.NormFloat64())
	}
	vi := func(name string) *onnxpb.ValueInfoProto {
		var dims []*onnxpb.TensorShapeProto_Dimension
		for _, d := range []int64{1, int64(c), int64(n), int64(n)} {
			dims = append(dims, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
		}
		return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
			TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Shape: &onnxpb.TensorShapeProto{Dim: dims}}}}}
	}
	p := int64((k - 1) / 2)
	q := int64(k-1) - p
	return &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(17)}},
		Graph: &onnxpb.GraphProto{
			Name: proto.String("dw"),
			Node: []*onnxpb.NodeProto{{
				OpType: proto.String("Conv"), Name: proto.String("dw/Conv"),
				Input: []string{"x", "dw.weight", "dw.bias"}, Output: []string{"y"},
				Attribute: []*onnxpb.AttributeProto{
					{Name: proto.String("group"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(int64(c))},
					{Name: proto.String("kernel_shape"), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: []int64{int64(k), int64(k)}},
					{Name: proto.String("pads"), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: []int64{p, p, q, q}},
				},
			}},
			Initializer: []*onnxpb.TensorProto{
				onnxmodel.NewFloat32Tensor("dw.weight", []int64{int64(c), 1, int64(k), int64(k)}, w),
				onnxmodel.NewFloat32Tensor("dw.bias", []int64{int64(c)}, b),
			},
			Input:  []*onnxpb.ValueInfoProto{vi("x")},
			Output: []*onnxpb.ValueInfoProto{vi("y")},
		},
	}
}

func findOne(t *testing.T, m *onnxpb.ModelProto) *wtconvgraph.Layer {
	t.Helper()
	shapes, err := graph.InferShapes(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := wtconvgraph.Find(m, shapes)
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 1 {
		t.Fatalf("found %d layers", len(ls))
	}
	return &ls[0]
}

// TestImpulseResponseMatchesTheGraph converts a one-node 7x7 depthwise model
// (random wavelet branch, 5x5 wavelet kernels, 3 levels) and checks the
// averaged impulse response that erf computes from the recovered layer
// (exported as CSV) against the converted ONNX graph itself, run by the Go
// executor on the same impulses; then its non-zero extent against the
// receptive field derived from the layer's structure.
func TestImpulseResponseMatchesTheGraph(t *testing.T) {
	const C, K, N, L, ch = 3, 7, 64, 3, 1
	src := dwModel(C, K, N, 5)
	conv, _, err := convert.Convert(src, convert.Options{Levels: L, Kernel: 5, Init: convert.InitRandom, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	gl := findOne(t, conv)
	ctx := context.Background()
	m, err := erf.ForLayer(ctx, gl, erf.Options{Channel: ch, Size: N, MaxPositions: 1 << (2 * L)})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Positions) != 1<<(2*L) || m.Channel != ch || m.Levels != L || m.Kernel != 5 || m.Base != K {
		t.Fatalf("map: %d positions, channel %d, L %d, k %d, base %d", len(m.Positions), m.Channel, m.Levels, m.Kernel, m.Base)
	}
	// The CSV holds exactly the map's values.
	var buf bytes.Buffer
	if err := erf.WriteCSV(&buf, m); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+m.N()*m.N() {
		t.Fatalf("CSV has %d rows, want %d", len(rows), 1+m.N()*m.N())
	}
	fromCSV := map[[2]int]float64{}
	for _, r := range rows[1:] {
		dy, _ := strconv.Atoi(r[0])
		dx, _ := strconv.Atoi(r[1])
		v, err := strconv.ParseFloat(r[2], 64)
		if err != nil {
			t.Fatal(err)
		}
		if v != m.At(dy, dx) {
			t.Fatalf("CSV (%d,%d) = %v, map %v", dy, dx, v, m.At(dy, dx))
		}
		fromCSV[[2]int{dy, dx}] = v
	}
	// The graph on the same impulses. The bias adds a constant to every
	// output pixel, so it is measured on a zero input and taken off.
	e, err := goexec.Open(conv, goexec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	run := func(x *tensor.Tensor) []float32 {
		out, err := e.Run(ctx, map[string]*tensor.Tensor{"x": x}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return out["y"].F32[ch*N*N : (ch+1)*N*N]
	}
	zero := run(tensor.NewFloat32([]int{1, C, N, N}, nil))
	sum := map[[2]int]float64{}
	for _, p := range m.Positions {
		x := tensor.NewFloat32([]int{1, C, N, N}, nil)
		x.F32[ch*N*N+p[0]*N+p[1]] = 1
		y := run(x)
		for dy := m.Lo; dy <= m.Hi; dy++ {
			for dx := m.Lo; dx <= m.Hi; dx++ {
				yy, xx := p[0]+dy, p[1]+dx
				if yy >= 0 && yy < N && xx >= 0 && xx < N {
					sum[[2]int{dy, dx}] += math.Abs(float64(y[yy*N+xx] - zero[yy*N+xx]))
				}
			}
		}
	}
	scale := m.Max()
	worst := 0.0
	for key, v := range fromCSV {
		g := sum[key] / float64(len(m.Positions))
		worst = math.Max(worst, math.Abs(g-v))
	}
	// float32 graph against the float64 reference forward
	if worst > 1e-5*scale {
		t.Errorf("graph and erf differ by %.3g (largest value %.3g)", worst, scale)
	}
	t.Logf("graph vs erf: max difference %.2g of %.3g", worst, scale)

	// Non-zero extent: the union over residues of the exact supports,
	// 2^L*(k+1)-1 = 47 wide; the 7x7 base lies inside it.
	lo, hi := m.Support[0], m.Support[1]
	if hi-lo+1 != (1<<L)*(5+1)-1 || m.NonZero != [4]int{lo, hi, lo, hi} {
		t.Errorf("non-zero box %v, theoretical support [%d, %d]", m.NonZero, lo, hi)
	}
	if m.ReceptiveField != (1<<L)*5 || m.ReceptiveField != gl.ReceptiveField() {
		t.Errorf("receptive field %d, layer %d", m.ReceptiveField, gl.ReceptiveField())
	}
	// One impulse position: exactly the receptive field, 2^L*k.
	one, err := erf.ForLayer(ctx, gl, erf.Options{Channel: ch, Size: N, MaxPositions: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(one.Positions) != 1 || one.Extent() != (1<<L)*5 {
		t.Errorf("one position: %d positions, extent %d, want %d", len(one.Positions), one.Extent(), (1<<L)*5)
	}
}

// TestOriginalKernel: the response of a plain depthwise conv is its kernel,
// flipped (an impulse at p reaches y = p - (j - 3) through tap j).
func TestOriginalKernel(t *testing.T) {
	const C, K = 2, 7
	src := dwModel(C, K, 32, 2)
	w, err := onnxmodel.Float32s(src.GetGraph().GetInitializer()[0])
	if err != nil {
		t.Fatal(err)
	}
	m, err := erf.ForDepthwise(context.Background(), "dw/Conv", w, C, K, K, 1, erf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.NonZero != [4]int{-3, 3, -3, 3} || m.Extent() != 7 || len(m.Positions) != 1 {
		t.Fatalf("non-zero %v extent %d positions %d", m.NonZero, m.Extent(), len(m.Positions))
	}
	for i := 0; i < K; i++ {
		for j := 0; j < K; j++ {
			want := math.Abs(float64(w[K*K+i*K+j]))
			if got := m.At(3-i, 3-j); math.Abs(got-want) > 1e-6 {
				t.Fatalf("tap (%d,%d): %g, want %g", i, j, got, want)
			}
		}
	}
	if _, err := erf.ForDepthwise(context.Background(), "dw/Conv", w, C, K, K, 2, erf.Options{}); err == nil {
		t.Error("channel 2 of 2 accepted")
	}
	if _, err := erf.ForDepthwise(context.Background(), "dw/Conv", w[:10], C, K, K, 0, erf.Options{}); err == nil {
		t.Error("short weight accepted")
	}
}

func TestStrongestChannelAndPicture(t *testing.T) {
	l := wtconv.Layer{Channels: 3, Kernel: 3, Levels: 2, Stride: 1, Bias: true}
	wt, err := wtconv.PreserveWeights(l, make([]float32, 27), make([]float32, 3))
	if err != nil {
		t.Fatal(err)
	}
	if c := erf.StrongestChannel(l, wt); c != 0 {
		t.Errorf("zero wavelet branch: channel %d, want 0", c)
	}
	wt.Wavelet[1][2*4*9+5] = 0.5 // channel 2, level 2
	if c := erf.StrongestChannel(l, wt); c != 2 {
		t.Errorf("channel %d, want 2", c)
	}
	one := wtconv.Layer{Channels: 1, Kernel: 3, Levels: 2, Stride: 1}
	w1, _ := wtconv.RandomWeights(one, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}, nil, 4)
	m, err := erf.Compute(context.Background(), one, w1, 3, 3, erf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Support[1]-m.Support[0]+1 != 4*4-1 || m.Extent() != 15 {
		t.Errorf("support %v extent %d", m.Support, m.Extent())
	}
	var buf bytes.Buffer
	if err := erf.WritePNG(&buf, []erf.Panel{{Title: "a", Map: m}, {Title: "b", Map: m}}, erf.PictureOptions{}); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 300 {
		t.Errorf("picture %v", b)
	}
	if err := erf.WritePNG(&buf, nil, erf.PictureOptions{}); err == nil {
		t.Error("no panels accepted")
	}
	if _, err := erf.Compute(context.Background(), one, w1, 3, 3, erf.Options{Size: 2}); err == nil {
		t.Error("size 2 accepted for 2 levels")
	}
	if _, err := erf.Compute(context.Background(), l, wt, 3, 3, erf.Options{}); err == nil {
		t.Error("3 channels accepted")
	}
}
