package inspect

import (
	"math"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/convert"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/testmodels/synth"
	"github.com/wtonnx/wtonnx/wtconv"
)

func costs(t *testing.T, m *onnxpb.ModelProto) *Costs {
	t.Helper()
	s, err := Inspect(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Costs == nil {
		t.Fatal("no cost table")
	}
	return s.Costs
}

// TestCostsConvNeXtT converts a ConvNeXt-T-shaped model (18 depthwise 7x7
// convs on 56, 28, 14 and 7 pixel feature maps) with automatic levels and
// 5x5 wavelet kernels, and checks every row of the comparison against the
// spec's formulas written out here, and the totals against what the model
// files hold.
func TestCostsConvNeXtT(t *testing.T) {
	src := synth.ConvNeXtTiny(1)
	conv, rep, err := convert.Convert(src, convert.Options{Levels: convert.AutoLevels, Kernel: 5})
	if err != nil {
		t.Fatal(err)
	}
	before, after := costs(t, src), costs(t, conv)
	cmp := Compare(before, after)
	if len(cmp.Layers) != 18 || cmp.ConvertedLayers != 18 || before.Totals.Depthwise != 18 || after.Totals.WTConv != 18 || after.Totals.Depthwise != 0 {
		t.Fatalf("%d rows, %d converted; before %+v after %+v", len(cmp.Layers), cmp.ConvertedLayers, before.Totals, after.Totals)
	}
	stage := map[int64]struct{ C, L int }{56: {96, 5}, 28: {192, 4}, 14: {384, 3}, 7: {768, 2}}
	var stored, formulaDelta int64
	for i, p := range cmp.Layers {
		b, a := p.Before, p.After
		if b == nil || a == nil || b.Kind != KindDepthwise || a.Kind != KindWTConv || a.Form != "ops" {
			t.Fatalf("row %d: %+v / %+v", i, b, a)
		}
		n := b.InputHW[0]
		st := stage[n]
		C, L := int64(st.C), st.L
		if b.Channels != st.C || a.Levels != L || a.WaveletKernel != 5 || a.Kernel[0] != 7 || a.Kernel[1] != 7 {
			t.Fatalf("row %d %s: C %d L %d k %d base %v on %d", i, p.Node, a.Channels, a.Levels, a.WaveletKernel, a.Kernel, n)
		}
		if b.Params != C*49+C || b.FLOPs != C*n*n*49 || b.ReceptiveField != 7 {
			t.Errorf("%s before: params %d flops %d rf %d", p.Node, b.Params, b.FLOPs, b.ReceptiveField)
		}
		wantParams := C*49 + C + C + int64(L)*(4*C*25+4*C)
		var area int64
		for l := 1; l <= L; l++ {
			s := (n + (1 << l) - 1) >> l
			area += s * s
		}
		wantFLOPs := C*n*n*49 + 4*C*area*25 + 2*4*C*area*4
		if a.Params != wantParams || a.FLOPs != wantFLOPs || a.ReceptiveField != (1<<L)*5 {
			t.Errorf("%s after: params %d (want %d) flops %d (want %d) rf %d", p.Node, a.Params, wantParams, a.FLOPs, wantFLOPs, a.ReceptiveField)
		}
		if r := rep.Converted[i]; r.Node != p.Node || r.ParamsAfter != a.Params || r.FLOPsAfter != a.FLOPs || r.FLOPsBefore != b.FLOPs {
			t.Errorf("%s: converter's report %+v", p.Node, r)
		}
		stored += int64(L) * (4*C*25 + 4*C)
		formulaDelta += a.Params - b.Params
	}
	// The files hold the wavelet convs and scales on top of the original
	// weights (the base scale is 1 and not stored, the Haar filters are not
	// counted); the formula also counts the C base scales.
	if d := after.Totals.ModelParams - before.Totals.ModelParams; d != stored {
		t.Errorf("model params grew by %d, the wavelet branches hold %d", d, stored)
	}
	if formulaDelta-stored != int64(3*96+3*192+9*384+3*768) { // one base scale per channel
		t.Errorf("formula delta %d, stored %d", formulaDelta, stored)
	}
	// ConvNeXt-T is 4.47 G multiply-accumulates at 224x224.
	if g := float64(before.Totals.ModelFLOPs) / 1e9; g < 4.4 || g > 4.55 || before.Totals.UnknownFLOPs != 0 {
		t.Errorf("ConvNeXt-T: %.3f GMACs (%d unknown), want about 4.47", g, before.Totals.UnknownFLOPs)
	}
	if d := after.Totals.ModelFLOPs - before.Totals.ModelFLOPs; d != after.Totals.FLOPs-before.Totals.FLOPs {
		t.Errorf("model FLOPs grew by %d, the layers by %d", d, after.Totals.FLOPs-before.Totals.FLOPs)
	}
	if before.Totals.MaxReceptiveField != 7 || after.Totals.MaxReceptiveField != 160 {
		t.Errorf("max receptive field %d -> %d", before.Totals.MaxReceptiveField, after.Totals.MaxReceptiveField)
	}
	t.Logf("ConvNeXt-T: params %d -> %d, GMACs %.3f -> %.3f, depthwise layers %.1fM -> %.1fM FLOPs",
		before.Totals.ModelParams, after.Totals.ModelParams, float64(before.Totals.ModelFLOPs)/1e9,
		float64(after.Totals.ModelFLOPs)/1e9, float64(before.Totals.FLOPs)/1e6, float64(after.Totals.FLOPs)/1e6)
}

// oneConv is x [1, c, n, n] -> depthwise k x k conv (same padding, no bias).
func oneConv(c, k, n int) *onnxpb.ModelProto {
	dims := func() *onnxpb.TypeProto {
		var d []*onnxpb.TensorShapeProto_Dimension
		for _, v := range []int64{1, int64(c), int64(n), int64(n)} {
			d = append(d, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: v}})
		}
		return &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Shape: &onnxpb.TensorShapeProto{Dim: d}}}}
	}
	w := make([]float32, c*k*k)
	for i := range w {
		w[i] = float32(i%7) - 3
	}
	p := int64((k - 1) / 2)
	return &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(17)}},
		Graph: &onnxpb.GraphProto{
			Name: proto.String("g"),
			Node: []*onnxpb.NodeProto{{OpType: proto.String("Conv"), Name: proto.String("dw"), Input: []string{"x", "w"}, Output: []string{"y"},
				Attribute: []*onnxpb.AttributeProto{
					{Name: proto.String("group"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(int64(c))},
					{Name: proto.String("pads"), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: []int64{p, p, int64(k-1) - p, int64(k-1) - p}},
				}}},
			Initializer: []*onnxpb.TensorProto{onnxmodel.NewFloat32Tensor("w", []int64{int64(c), 1, int64(k), int64(k)}, w)},
			Input:       []*onnxpb.ValueInfoProto{{Name: proto.String("x"), Type: dims()}},
			Output:      []*onnxpb.ValueInfoProto{{Name: proto.String("y"), Type: dims()}},
		},
	}
}

// TestCostsWorkedExample is the paper's example through a real converted
// graph: one channel, 512x512, 3 levels, k = 5 (receptive field 40): 15.1M
// FLOPs for the convs (6.6M + 8.6M) and 2.8M for the transforms, against
// 252M for a 31x31 depthwise conv and 12.8M for a 7x7 one. A one-channel
// conv is not depthwise in ONNX (group 1), so the model has two channels
// and the per-channel cost is half the row's.
func TestCostsWorkedExample(t *testing.T) {
	for _, f := range []convert.Format{convert.FormatOps, convert.FormatFunction, convert.FormatCustomOp} {
		m, _, err := convert.Convert(oneConv(2, 5, 512), convert.Options{Levels: 3, Kernel: 5, Format: f})
		if err != nil {
			t.Fatal(err)
		}
		c := costs(t, m)
		if len(c.Layers) != 1 || c.Layers[0].Detail == nil {
			t.Fatalf("%s: rows %+v", f, c.Layers)
		}
		r := c.Layers[0]
		d := *r.Detail
		want := wtconv.Layer{Channels: 2, Kernel: 5, Levels: 3, Stride: 1}.FLOPs(512, 512)
		if d != want || r.FLOPs != want.Total || r.ReceptiveField != 40 || r.Params != 2*(25+1+3*(4*25+4)) {
			t.Errorf("%s: %+v, want %+v, rf 40", f, r, want)
		}
		for _, x := range []struct {
			name string
			got  int64
			m    float64
		}{{"base", d.Base, 6.6}, {"wavelet", d.Wavelet, 8.6}, {"convs", d.Convs, 15.1}, {"transforms", d.Transforms, 2.8}, {"total", d.Total, 17.9}} {
			if math.Abs(float64(x.got)/2/1e6-x.m) > 0.06 {
				t.Errorf("%s: %s %.3fM per channel, the paper says %.1fM", f, x.name, float64(x.got)/2/1e6, x.m)
			}
		}
	}
	for _, k := range []struct {
		k int
		m float64
	}{{31, 252}, {7, 12.8}} {
		c := costs(t, oneConv(2, k.k, 512))
		if len(c.Layers) != 1 || c.Layers[0].Kind != KindDepthwise || math.Abs(float64(c.Layers[0].FLOPs)/2/1e6-k.m) > 0.5 || c.Layers[0].ReceptiveField != k.k {
			t.Errorf("%dx%d: %+v, the paper says %.1fM", k.k, k.k, c.Layers, k.m)
		}
	}
}
