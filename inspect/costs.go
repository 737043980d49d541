package inspect

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/wtonnx/wtonnx/convert"
	"github.com/wtonnx/wtonnx/graph"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/wtconv"
	"github.com/wtonnx/wtonnx/wtconvgraph"
)

// Layer kinds in a cost table.
const (
	KindWTConv    = "wtconv"
	KindDepthwise = "depthwise"
)

// LayerCost is one row of the cost table: a WTConv layer or a depthwise
// conv, with the spec's parameter count, FLOPs on its actual feature map
// and theoretical receptive field.
type LayerCost struct {
	// Node is the depthwise conv's node name; for a WTConv layer, the name
	// of the conv it replaced (the prefix of its node names).
	Node   string `json:"node"`
	Kind   string `json:"kind"`           // KindWTConv or KindDepthwise
	Form   string `json:"form,omitempty"` // a WTConv layer's form: pytorch, ops, function or customop
	Output string `json:"output"`
	// Channels, the base kernel (the depthwise kernel) kh x kw, and for a
	// WTConv layer its wavelet-domain kernel and levels.
	Channels      int     `json:"channels"`
	Kernel        []int   `json:"kernel"`
	WaveletKernel int     `json:"wavelet_kernel,omitempty"`
	Wavelet       string  `json:"wavelet,omitempty"` // a WTConv layer's wavelet (db1 = Haar, db2, ...)
	Levels        int     `json:"levels"`
	Stride        int     `json:"stride"`
	Dilation      int     `json:"dilation,omitempty"` // a dilated depthwise conv's dilation
	InputHW       []int64 `json:"input_hw,omitempty"`
	// Params by the spec's formula (wtconv.Layer.ParamsWithBase for a
	// WTConv layer; C*kh*kw plus the bias for a depthwise conv).
	Params int64 `json:"params"`
	// FLOPs are multiply-accumulates on the layer's feature map, 0 when its
	// size is not static; Detail splits a WTConv layer's as the paper does.
	FLOPs  int64        `json:"flops"`
	Detail *wtconv.Cost `json:"flops_detail,omitempty"`
	// ReceptiveField is the theoretical receptive field per axis.
	ReceptiveField int `json:"receptive_field"`
}

// MarshalJSON writes FLOPs that are unknown (the feature map's size is not
// static) as null, never 0.
func (r LayerCost) MarshalJSON() ([]byte, error) {
	type plain LayerCost
	var flops *int64
	if r.InputHW != nil {
		flops = &r.FLOPs
	}
	return json.Marshal(struct {
		plain
		FLOPs *int64 `json:"flops"`
	}{plain(r), flops})
}

// CostTotals sum a cost table and the whole model.
type CostTotals struct {
	WTConv    int `json:"wtconv_layers"`
	Depthwise int `json:"depthwise_layers"`
	// Params and FLOPs sum the table's rows.
	Params int64 `json:"params"`
	FLOPs  int64 `json:"flops"`
	// ModelParams counts every float value held in initializers, less the
	// fixed tensors of WTConv layers (Haar filters, band indices).
	ModelParams int64 `json:"model_params"`
	// ModelFLOPs counts the multiply-accumulates of every Conv,
	// ConvTranspose, MatMul and Gemm outside WTConv layers, plus the WTConv
	// layers' FLOPs; elementwise, normalisation and pooling ops are not
	// counted. UnknownFLOPs is how many of those nodes or layers had no
	// static size and are left out.
	ModelFLOPs   int64 `json:"model_flops"`
	UnknownFLOPs int   `json:"flops_unknown,omitempty"`
	// MaxReceptiveField is the largest receptive field of a row.
	MaxReceptiveField int `json:"max_receptive_field"`
	// RowsUnknown counts the table's rows whose FLOPs are unknown; FLOPs
	// is null in JSON when it is not 0.
	RowsUnknown int `json:"flops_rows_unknown"`
}

// MarshalJSON writes a sum that misses unknown rows as null.
func (t CostTotals) MarshalJSON() ([]byte, error) {
	type plain CostTotals
	var flops *int64
	if t.RowsUnknown == 0 {
		flops = &t.FLOPs
	}
	return json.Marshal(struct {
		plain
		FLOPs *int64 `json:"flops"`
	}{plain(t), flops})
}

// Costs is the cost table of a model.
type Costs struct {
	Layers []LayerCost `json:"layers"`
	Totals CostTotals  `json:"totals"`
}

// ModelCosts builds the cost table of m: every WTConv layer (found by
// wtconvgraph) and every depthwise conv not inside one, in graph order.
func ModelCosts(m *onnxpb.ModelProto, shapes *graph.Shapes) (*Costs, error) {
	layers, err := wtconvgraph.Find(m, shapes)
	if err != nil {
		return nil, err
	}
	return modelCosts(m, shapes, layers)
}

// costsAcross is ModelCosts with the sizes behind recognised layers known
// (see wtconvgraph.ShapesAcross); overrides fix dynamic input dims.
func costsAcross(m *onnxpb.ModelProto, overrides map[string][]int64) (*Costs, error) {
	s, err := graph.InferShapes(m, overrides)
	if err != nil {
		return nil, err
	}
	layers, err := wtconvgraph.Find(m, s)
	if err != nil {
		return nil, err
	}
	if len(layers) > 0 {
		if across := wtconvgraph.ShapesAcross(m, layers, overrides); across != nil {
			s = across
		}
	}
	return modelCosts(m, s, layers)
}

func modelCosts(m *onnxpb.ModelProto, shapes *graph.Shapes, layers []wtconvgraph.Layer) (*Costs, error) {
	g := m.GetGraph()
	// A layer's row goes where its last node is; its other nodes are not
	// rows (recognition is structural: node names play no part).
	inLayer := map[int]bool{}
	rowAt := map[int]*wtconvgraph.Layer{}
	fixed := map[string]bool{}
	for i := range layers {
		for _, j := range layers[i].NodeIndex {
			inLayer[j] = true
		}
		if n := len(layers[i].NodeIndex); n > 0 {
			rowAt[layers[i].NodeIndex[n-1]] = &layers[i]
		}
		for _, t := range layers[i].FixedTensors {
			fixed[t] = true
		}
	}
	dw := map[string]convert.ConvInfo{}
	for _, ci := range convert.Classify(m, shapes) {
		if ci.Depthwise && ci.Layer == "" {
			dw[ci.Node] = ci
		}
	}
	c := &Costs{Layers: []LayerCost{}}
	t := &c.Totals
	for i, n := range g.GetNode() {
		name := nodeName(n)
		if l := rowAt[i]; l != nil {
			row := wtconvRow(l)
			c.Layers = append(c.Layers, row)
			t.WTConv++
			if row.InputHW == nil {
				t.UnknownFLOPs++
			}
			t.ModelFLOPs += row.FLOPs
			continue
		}
		if inLayer[i] {
			continue
		}
		if ci, ok := dw[name]; ok && n.GetOpType() == "Conv" {
			row := depthwiseRow(ci, len(n.GetInput()) > 2 && n.GetInput()[2] != "")
			c.Layers = append(c.Layers, row)
			t.Depthwise++
		}
		if f, ok := nodeMACs(n, shapes); ok {
			t.ModelFLOPs += f
		} else if f < 0 {
			t.UnknownFLOPs++
		}
	}
	for _, r := range c.Layers {
		t.Params += r.Params
		t.FLOPs += r.FLOPs
		if r.InputHW == nil {
			t.RowsUnknown++
		}
		t.MaxReceptiveField = max(t.MaxReceptiveField, r.ReceptiveField)
	}
	for _, init := range g.GetInitializer() {
		if fixed[init.GetName()] || !isFloat(init.GetDataType()) {
			continue
		}
		n, err := onnxmodel.NumElements(init.GetDims())
		if err != nil {
			return nil, fmt.Errorf("initializer %q: %w", init.GetName(), err)
		}
		t.ModelParams += n
	}
	return c, nil
}

func isFloat(dt int32) bool {
	switch onnxpb.TensorProto_DataType(dt) {
	case onnxpb.TensorProto_FLOAT, onnxpb.TensorProto_FLOAT16, onnxpb.TensorProto_BFLOAT16, onnxpb.TensorProto_DOUBLE:
		return true
	}
	return false
}

func nodeName(n *onnxpb.NodeProto) string {
	if n.GetName() != "" {
		return n.GetName()
	}
	return output0(n)
}

func output0(n *onnxpb.NodeProto) string {
	if len(n.GetOutput()) > 0 {
		return n.GetOutput()[0]
	}
	return ""
}

// FormName is how inspect names a layer's form: pytorch (the authors'
// module exported by torch.onnx), ops, function or customop (the fused node).
func FormName(f wtconvgraph.Form) string {
	if f == wtconvgraph.FormFused {
		return string(convert.FormatCustomOp)
	}
	return string(f)
}

func wtconvRow(l *wtconvgraph.Layer) LayerCost {
	r := LayerCost{
		Node: l.Name, Kind: KindWTConv, Form: FormName(l.Form), Output: l.Output,
		Channels: l.Layer.Channels, Kernel: []int{l.BaseKernel[0], l.BaseKernel[1]},
		WaveletKernel: l.Layer.Kernel, Wavelet: l.Layer.WaveletName(), Levels: l.Layer.Levels, Stride: l.Layer.Stride,
		InputHW: l.InputHW, Params: l.Params(), ReceptiveField: l.ReceptiveField(),
	}
	if l.InputHW != nil {
		cost := l.FLOPs(int(l.InputHW[0]), int(l.InputHW[1]))
		r.FLOPs, r.Detail = cost.Total, &cost
	}
	return r
}

func depthwiseRow(ci convert.ConvInfo, bias bool) LayerCost {
	r := LayerCost{Node: ci.Node, Kind: KindDepthwise, Output: ci.Output, Channels: int(ci.Channels), Stride: 1}
	kh, kw := 1, 1
	if len(ci.Kernel) == 2 {
		kh, kw = int(ci.Kernel[0]), int(ci.Kernel[1])
	}
	r.Kernel = []int{kh, kw}
	sh, sw := 1, 1
	if len(ci.Strides) == 2 {
		sh, sw = int(ci.Strides[0]), int(ci.Strides[1])
		r.Stride = max(sh, sw)
	}
	d := 1
	for _, v := range ci.Dilations {
		d = max(d, int(v))
	}
	if d > 1 {
		r.Dilation = d
	}
	r.Params = int64(ci.Channels) * int64(kh) * int64(kw)
	if bias {
		r.Params += ci.Channels
	}
	r.ReceptiveField = (max(kh, kw)-1)*d + 1
	if len(ci.InputHW) == 2 && ci.InputHW[0] > 0 && ci.InputHW[1] > 0 {
		r.InputHW = ci.InputHW
		r.FLOPs = wtconv.DepthwiseFLOPs(int(ci.Channels), int(ci.InputHW[0]), int(ci.InputHW[1]), kh, kw, sh, sw)
	}
	return r
}

// nodeMACs counts a Conv, ConvTranspose, MatMul or Gemm's
// multiply-accumulates. ok is false for other ops (f = 0) and for those
// whose shapes are unknown (f = -1).
func nodeMACs(n *onnxpb.NodeProto, s *graph.Shapes) (f int64, ok bool) {
	if d := n.GetDomain(); d != "" && d != "ai.onnx" {
		return 0, false
	}
	in := func(i int) graph.Shape {
		if s == nil || i >= len(n.GetInput()) {
			return nil
		}
		return s.Of(n.GetInput()[i])
	}
	var out graph.Shape
	if s != nil {
		out = s.Of(output0(n))
	}
	known := func(sh ...graph.Shape) bool {
		for _, x := range sh {
			if x == nil || !x.Known() {
				return false
			}
		}
		return true
	}
	prod := func(sh graph.Shape) int64 {
		p := int64(1)
		for _, d := range sh {
			p *= d
		}
		return p
	}
	switch n.GetOpType() {
	case "Conv":
		w := in(1)
		if !known(w, out) || len(w) < 3 {
			return -1, false
		}
		return prod(out) * prod(w[1:]), true
	case "ConvTranspose":
		x, w := in(0), in(1)
		if !known(x, w) || len(w) < 3 {
			return -1, false
		}
		return prod(x) * prod(w[1:]), true
	case "MatMul", "Gemm":
		a := in(0)
		if !known(a, out) || len(a) < 1 {
			return -1, false
		}
		k := a[len(a)-1]
		if n.GetOpType() == "Gemm" && graph.AttrInt(n, "transA", 0) != 0 && len(a) == 2 {
			k = a[0]
		}
		return prod(out) * k, true
	}
	return 0, false
}

// LayerPair is one row of a comparison: the same layer before and after
// conversion (either side nil when the layer exists on one side only).
type LayerPair struct {
	Node   string     `json:"node"`
	Before *LayerCost `json:"before"`
	After  *LayerCost `json:"after"`
}

// Comparison sets the cost tables of an original model and its converted
// form side by side, layer by layer (matched by the original node name).
type Comparison struct {
	Original  string      `json:"original,omitempty"`
	Converted string      `json:"converted,omitempty"`
	Layers    []LayerPair `json:"layers"`
	Before    CostTotals  `json:"before"`
	After     CostTotals  `json:"after"`
	// Converted counts the rows that were a depthwise conv before and are
	// a WTConv layer after.
	ConvertedLayers int `json:"converted_layers"`
	// FusedLayers counts the rows that were a WTConv layer before and are
	// one in another form after (wtonnx fuse).
	FusedLayers int `json:"fused_layers"`
}

// Compare pairs two cost tables: rows of before in order, then rows only
// after has.
func Compare(before, after *Costs) *Comparison {
	c := &Comparison{Layers: []LayerPair{}, Before: before.Totals, After: after.Totals}
	idx := map[string]int{}
	for i := range after.Layers {
		idx[after.Layers[i].Node] = i
	}
	used := map[int]bool{}
	for i := range before.Layers {
		b := &before.Layers[i]
		p := LayerPair{Node: b.Node, Before: b}
		if j, ok := idx[b.Node]; ok {
			p.After = &after.Layers[j]
			used[j] = true
			if b.Kind == KindDepthwise && p.After.Kind == KindWTConv {
				c.ConvertedLayers++
			}
			if b.Kind == KindWTConv && p.After.Kind == KindWTConv && b.Form != p.After.Form {
				c.FusedLayers++
			}
		}
		c.Layers = append(c.Layers, p)
	}
	var rest []int
	for j := range after.Layers {
		if !used[j] {
			rest = append(rest, j)
		}
	}
	sort.Ints(rest)
	for _, j := range rest {
		c.Layers = append(c.Layers, LayerPair{Node: after.Layers[j].Node, After: &after.Layers[j]})
	}
	return c
}

// CompareFiles loads an original model and its converted form and compares
// their cost tables; shapes fix dynamic input dims of both.
func CompareFiles(original, converted string, shapes map[string][]int64) (*Comparison, error) {
	var tables [2]*Costs
	var models [2]*onnxpb.ModelProto
	for i, path := range []string{original, converted} {
		m, err := onnxmodel.Load(path)
		if err != nil {
			return nil, err
		}
		models[i] = m
		if tables[i], err = costsAcross(m, shapes); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	if err := CheckConversion(models[0], models[1], tables[0], tables[1]); err != nil {
		return nil, fmt.Errorf("%s is not a conversion of %s: %w", converted, original, err)
	}
	c := Compare(tables[0], tables[1])
	c.Original, c.Converted = original, converted
	return c, nil
}

// CheckConversion reports why converted is not a conversion of original:
// their graph inputs (less initializers) or outputs differ, a WTConv layer
// of converted replaces no depthwise conv or WTConv layer of original (fuse
// changes a layer's form), or original holds a WTConv layer that converted
// does not (the models swapped). Costs are the
// models' cost tables.
func CheckConversion(original, converted *onnxpb.ModelProto, before, after *Costs) error {
	if a, b := interfaceNames(original.GetGraph(), true), interfaceNames(converted.GetGraph(), true); !slices.Equal(a, b) {
		return fmt.Errorf("the inputs differ (%s vs %s)", strings.Join(a, ", "), strings.Join(b, ", "))
	}
	if a, b := interfaceNames(original.GetGraph(), false), interfaceNames(converted.GetGraph(), false); !slices.Equal(a, b) {
		return fmt.Errorf("the outputs differ (%s vs %s)", strings.Join(a, ", "), strings.Join(b, ", "))
	}
	kind := map[string]string{}
	for _, r := range before.Layers {
		kind[r.Node] = r.Kind
	}
	afterKind := map[string]string{}
	for _, r := range after.Layers {
		afterKind[r.Node] = r.Kind
		if r.Kind != KindWTConv {
			continue
		}
		if _, ok := kind[r.Node]; !ok {
			return fmt.Errorf("its WTConv layer %s replaces no depthwise conv of the original (no node %q there)", r.Node, r.Node)
		}
	}
	added := 0
	for _, r := range before.Layers {
		k, ok := afterKind[r.Node]
		switch {
		case r.Kind == KindWTConv && k != KindWTConv:
			return fmt.Errorf("the original holds the WTConv layer %s, which the other model does not (are the two models swapped?)", r.Node)
		case !ok:
			return fmt.Errorf("the original's depthwise conv %s is neither kept nor replaced by a WTConv layer", r.Node)
		case r.Kind == KindDepthwise && k == KindWTConv:
			added++
		case r.Kind == KindWTConv && k == KindWTConv:
			added++ // the layer in another form (wtonnx fuse)
		}
	}
	if added == 0 {
		return fmt.Errorf("none of the original's %d depthwise convs became a WTConv layer", before.Totals.Depthwise)
	}
	return nil
}

// interfaceNames lists, sorted, the graph's inputs that are not
// initializers (inputs true) or its outputs.
func interfaceNames(g *onnxpb.GraphProto, inputs bool) []string {
	var names []string
	if !inputs {
		for _, o := range g.GetOutput() {
			names = append(names, o.GetName())
		}
	} else {
		inits := map[string]bool{}
		for _, t := range g.GetInitializer() {
			inits[t.GetName()] = true
		}
		for _, in := range g.GetInput() {
			if !inits[in.GetName()] {
				names = append(names, in.GetName())
			}
		}
	}
	slices.Sort(names)
	return names
}
