package graph

import (
	"fmt"
	"strings"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
)

// Shape is a static tensor shape; -1 marks a dimension not known statically.
// A nil Shape means the rank itself is unknown.
type Shape []int64

// Known reports whether every dimension is known.
func (s Shape) Known() bool {
	if s == nil {
		return false
	}
	for _, d := range s {
		if d < 0 {
			return false
		}
	}
	return true
}

// Shapes is the result of static shape inference.
type Shapes struct {
	dims   map[string]Shape
	values map[string][]int64 // small int64 tensors known statically (shape arithmetic)
}

// Of returns the inferred shape of a tensor (nil when unknown).
func (s *Shapes) Of(name string) Shape { return s.dims[name] }

// InferShapes propagates static shapes through the main graph of m, from
// the declared input shapes (with overrides replacing them, e.g. to fix
// dynamic dimensions) through the operators of common vision models. Shapes
// of operators it does not know are left unknown rather than guessed.
func InferShapes(m *onnxpb.ModelProto, overrides map[string][]int64) (*Shapes, error) {
	g := m.GetGraph()
	s := &Shapes{dims: map[string]Shape{}, values: map[string][]int64{}}
	inputs := map[string]bool{}
	for _, in := range g.GetInput() {
		inputs[in.GetName()] = true
		s.dims[in.GetName()] = declaredShape(in)
	}
	for name, dims := range overrides {
		if !inputs[name] {
			return nil, fmt.Errorf("input shape given for %q, which is not a graph input", name)
		}
		if old := s.dims[name]; old != nil && len(old) != len(dims) {
			return nil, fmt.Errorf("input %q has rank %d, the given shape %v has rank %d", name, len(old), dims, len(dims))
		}
		for i, d := range dims {
			if old := s.dims[name]; old != nil && old[i] >= 0 && old[i] != d {
				return nil, fmt.Errorf("input %q has fixed dimension %d = %d, the given shape says %d", name, i, old[i], d)
			}
		}
		s.dims[name] = append(Shape{}, dims...)
	}
	for _, t := range g.GetInitializer() {
		s.dims[t.GetName()] = append(Shape{}, t.GetDims()...)
		if t.GetDataType() == int32(onnxpb.TensorProto_INT64) && len(t.GetDims()) <= 1 {
			if v, err := onnxmodel.Int64s(t); err == nil && len(v) <= 64 {
				s.values[t.GetName()] = v
			}
		}
	}
	opset, _ := OpsetVersion(m)
	order, err := onnxmodel.TopoOrder(g)
	if err != nil {
		return nil, err
	}
	for _, i := range order {
		n := g.GetNode()[i]
		s.inferNode(n, opset)
	}
	return s, nil
}

func declaredShape(vi *onnxpb.ValueInfoProto) Shape {
	tt := vi.GetType().GetTensorType()
	if tt == nil || tt.GetShape() == nil {
		return nil
	}
	sh := make(Shape, len(tt.GetShape().GetDim()))
	for i, d := range tt.GetShape().GetDim() {
		sh[i] = -1
		if v, ok := d.GetValue().(*onnxpb.TensorShapeProto_Dimension_DimValue); ok && v.DimValue > 0 {
			sh[i] = v.DimValue
		}
	}
	return sh
}

func (s *Shapes) in(n *onnxpb.NodeProto, i int) Shape {
	if i >= len(n.GetInput()) || n.GetInput()[i] == "" {
		return nil
	}
	return s.dims[n.GetInput()[i]]
}

func (s *Shapes) val(n *onnxpb.NodeProto, i int) ([]int64, bool) {
	if i >= len(n.GetInput()) {
		return nil, false
	}
	v, ok := s.values[n.GetInput()[i]]
	return v, ok
}

func (s *Shapes) set(n *onnxpb.NodeProto, sh Shape) {
	if len(n.GetOutput()) > 0 && sh != nil {
		s.dims[n.GetOutput()[0]] = sh
	}
}

func (s *Shapes) setVal(n *onnxpb.NodeProto, v []int64) {
	if len(n.GetOutput()) > 0 {
		s.values[n.GetOutput()[0]] = v
		if _, ok := s.dims[n.GetOutput()[0]]; !ok {
			s.dims[n.GetOutput()[0]] = Shape{int64(len(v))}
		}
	}
}

// axesOf returns an axes list from the attribute (old opsets) or input idx.
func (s *Shapes) axesOf(n *onnxpb.NodeProto, idx int) ([]int64, bool) {
	if a := Attr(n, "axes"); a != nil {
		return a.GetInts(), true
	}
	return s.val(n, idx)
}

func norm(axis int64, rank int) int {
	if axis < 0 {
		axis += int64(rank)
	}
	return int(axis)
}

func (s *Shapes) inferNode(n *onnxpb.NodeProto, opset int64) {
	x := s.in(n, 0)
	if isWTConvNode(n) {
		// A converted model's fused or function-form WTConv layer: the
		// shape of the depthwise conv it replaced, N x C x ceil(H/s) x ceil(W/s).
		if len(x) == 4 {
			st := AttrInt(n, "stride", 1)
			out := append(Shape{}, x...)
			for i := 2; i < 4; i++ {
				if out[i] > 0 && st > 0 {
					out[i] = (out[i] + st - 1) / st
				}
			}
			s.set(n, out)
		}
		return
	}
	switch n.GetOpType() {
	case "Relu", "Sigmoid", "Clip", "HardSigmoid", "HardSwish", "Tanh", "Erf", "Sqrt", "Identity",
		"Cast", "Neg", "Exp", "Log", "LeakyRelu", "PRelu", "Dropout", "BatchNormalization",
		"LayerNormalization", "Softmax", "LogSoftmax", "InstanceNormalization", "Elu", "Selu",
		"Gelu", "Abs", "Reciprocal", "Floor", "Ceil", "Round", "Mish", "Softplus":
		s.set(n, x)
		if v, ok := s.val(n, 0); ok && (n.GetOpType() == "Identity" || n.GetOpType() == "Cast") {
			s.setVal(n, v)
		}
	case "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Equal", "Where", "Mod":
		out := x
		for i := 1; i < len(n.GetInput()); i++ {
			out = broadcast(out, s.in(n, i))
		}
		s.set(n, out)
		a, okA := s.val(n, 0)
		b, okB := s.val(n, 1)
		if okA && okB && n.GetOpType() != "Where" {
			if v := intArith(n.GetOpType(), a, b); v != nil {
				s.setVal(n, v)
			}
		}
	case "Conv":
		s.set(n, convShape(n, x, s.in(n, 1)))
	case "ConvTranspose":
		s.set(n, convTransposeShape(n, x, s.in(n, 1)))
	case "MaxPool", "AveragePool":
		s.set(n, poolShape(n, x))
	case "GlobalAveragePool", "GlobalMaxPool":
		if x != nil {
			out := append(Shape{}, x...)
			for i := 2; i < len(out); i++ {
				out[i] = 1
			}
			s.set(n, out)
		}
	case "Flatten":
		if x != nil {
			axis := norm(AttrInt(n, "axis", 1), len(x))
			s.set(n, Shape{prod(x[:axis]), prod(x[axis:])})
		}
	case "Gemm":
		a, b := x, s.in(n, 1)
		if len(a) == 2 && len(b) == 2 {
			m, k := a[0], a[1]
			if AttrInt(n, "transA", 0) != 0 {
				m = a[1]
			}
			nn := b[1]
			if AttrInt(n, "transB", 0) != 0 {
				nn = b[0]
			}
			_ = k
			s.set(n, Shape{m, nn})
		}
	case "MatMul":
		a, b := x, s.in(n, 1)
		if len(a) >= 2 && len(b) >= 2 {
			batch := broadcast(a[:len(a)-2], b[:len(b)-2])
			if batch != nil {
				s.set(n, append(append(Shape{}, batch...), a[len(a)-2], b[len(b)-1]))
			}
		}
	case "Reshape":
		target, ok := s.val(n, 1)
		if opset < 5 {
			target, ok = AttrInts(n, "shape", nil), Attr(n, "shape") != nil
		}
		if ok {
			s.set(n, reshapeShape(x, target, AttrInt(n, "allowzero", 0) != 0))
		}
	case "Transpose":
		if x != nil {
			perm := AttrInts(n, "perm", nil)
			if perm == nil {
				for i := len(x) - 1; i >= 0; i-- {
					perm = append(perm, int64(i))
				}
			}
			out := make(Shape, len(perm))
			for i, p := range perm {
				if int(p) < len(x) {
					out[i] = x[p]
				}
			}
			s.set(n, out)
		}
	case "Concat":
		var shapes []Shape
		var vals [][]int64
		allVals := true
		for i := range n.GetInput() {
			shapes = append(shapes, s.in(n, i))
			v, ok := s.val(n, i)
			allVals = allVals && ok
			vals = append(vals, v)
		}
		s.set(n, concatShape(shapes, AttrInt(n, "axis", 0)))
		if allVals {
			var v []int64
			for _, p := range vals {
				v = append(v, p...)
			}
			s.setVal(n, v)
		}
	case "Shape":
		if x != nil {
			s.set(n, Shape{int64(len(x))})
			if x.Known() {
				start, end := int(AttrInt(n, "start", 0)), int(AttrInt(n, "end", int64(len(x))))
				start, end = clampRange(start, end, len(x))
				s.setVal(n, append([]int64{}, x[start:end]...))
			}
		}
	case "Gather":
		data, okD := s.val(n, 0)
		idx, okI := s.val(n, 1)
		if okD && okI && AttrInt(n, "axis", 0) == 0 && x != nil && len(x) == 1 {
			var v []int64
			for _, i := range idx {
				if i < 0 {
					i += int64(len(data))
				}
				if i < 0 || int(i) >= len(data) {
					return
				}
				v = append(v, data[i])
			}
			if ish := s.in(n, 1); len(ish) == 0 {
				s.dims[n.GetOutput()[0]] = Shape{}
			} else {
				s.dims[n.GetOutput()[0]] = Shape{int64(len(v))}
			}
			s.values[n.GetOutput()[0]] = v
			return
		}
		if ish := s.in(n, 1); x != nil && ish != nil {
			axis := norm(AttrInt(n, "axis", 0), len(x))
			if axis >= 0 && axis < len(x) {
				out := append(append(append(Shape{}, x[:axis]...), ish...), x[axis+1:]...)
				s.set(n, out)
			}
		}
	case "Unsqueeze":
		axes, ok := s.axesOf(n, 1)
		if ok && x != nil {
			rank := len(x) + len(axes)
			out := make(Shape, rank)
			mark := map[int]bool{}
			for _, a := range axes {
				mark[norm(a, rank)] = true
			}
			j := 0
			for i := range out {
				if mark[i] {
					out[i] = 1
				} else if j < len(x) {
					out[i] = x[j]
					j++
				}
			}
			s.set(n, out)
			if v, ok := s.val(n, 0); ok {
				s.values[n.GetOutput()[0]] = v
			}
		}
	case "Squeeze":
		if x != nil {
			axes, ok := s.axesOf(n, 1)
			mark := map[int]bool{}
			for _, a := range axes {
				mark[norm(a, len(x))] = true
			}
			var out Shape
			for i, d := range x {
				if (ok && mark[i]) || (!ok && d == 1) {
					continue
				}
				out = append(out, d)
			}
			if out == nil {
				out = Shape{}
			}
			s.set(n, out)
			if v, ok := s.val(n, 0); ok {
				s.values[n.GetOutput()[0]] = v
			}
		}
	case "Slice":
		s.inferSlice(n, x, opset)
	case "Split":
		s.inferSplit(n, x)
	case "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin":
		if x != nil {
			axes, ok := s.axesOf(n, 1)
			keep := AttrInt(n, "keepdims", 1) != 0
			mark := map[int]bool{}
			for _, a := range axes {
				mark[norm(a, len(x))] = true
			}
			var out Shape
			for i, d := range x {
				if !ok || len(axes) == 0 || mark[i] {
					if keep {
						out = append(out, 1)
					}
					continue
				}
				out = append(out, d)
			}
			if out == nil {
				out = Shape{}
			}
			s.set(n, out)
		}
	case "Pad":
		pads, ok := AttrInts(n, "pads", nil), Attr(n, "pads") != nil
		if !ok {
			pads, ok = s.val(n, 1)
		}
		if ok && x != nil && len(pads) == 2*len(x) {
			out := make(Shape, len(x))
			for i, d := range x {
				out[i] = -1
				if d >= 0 {
					out[i] = d + pads[i] + pads[i+len(x)]
				}
			}
			s.set(n, out)
		}
	case "Constant":
		if v, err := constantNodeValue(n); err == nil {
			sh := make(Shape, len(v.Shape))
			for i, d := range v.Shape {
				sh[i] = int64(d)
			}
			s.set(n, sh)
			if v.DType == tensor.Int64 && len(v.I64) <= 64 && len(v.Shape) <= 1 {
				s.values[n.GetOutput()[0]] = v.I64
			}
		}
	case "ConstantOfShape":
		if v, ok := s.val(n, 0); ok {
			s.set(n, append(Shape{}, v...))
		}
	}
}

func (s *Shapes) inferSlice(n *onnxpb.NodeProto, x Shape, opset int64) {
	if x == nil {
		return
	}
	var starts, ends, axes, steps []int64
	var ok bool
	if opset < 10 {
		starts, ends, axes = AttrInts(n, "starts", nil), AttrInts(n, "ends", nil), AttrInts(n, "axes", nil)
		ok = starts != nil && ends != nil
	} else {
		var ok1, ok2 bool
		starts, ok1 = s.val(n, 1)
		ends, ok2 = s.val(n, 2)
		ok = ok1 && ok2
		if len(n.GetInput()) > 3 && n.GetInput()[3] != "" {
			axes, ok1 = s.val(n, 3)
			ok = ok && ok1
		}
		if len(n.GetInput()) > 4 && n.GetInput()[4] != "" {
			steps, ok1 = s.val(n, 4)
			ok = ok && ok1
		}
	}
	if !ok || len(starts) != len(ends) {
		return
	}
	if axes == nil {
		for i := range starts {
			axes = append(axes, int64(i))
		}
	}
	out := append(Shape{}, x...)
	for i, a := range axes {
		ax := norm(a, len(x))
		if ax < 0 || ax >= len(x) || i >= len(starts) {
			return
		}
		step := int64(1)
		if steps != nil {
			step = steps[i]
		}
		if x[ax] < 0 || step == 0 {
			out[ax] = -1
			continue
		}
		out[ax] = sliceLen(x[ax], starts[i], ends[i], step)
	}
	s.set(n, out)
	if v, ok := s.val(n, 0); ok && len(x) == 1 && out[0] >= 0 {
		st := int64(1)
		if steps != nil {
			st = steps[0]
		}
		var sel []int64
		for k, i := int64(0), sliceStart(x[0], starts[0], st); k < out[0]; k, i = k+1, i+st {
			sel = append(sel, v[i])
		}
		s.values[n.GetOutput()[0]] = sel
	}
}

// inferSplit handles Split at every opset: sizes from the "split" attribute
// (< 13) or input (>= 13), else equal parts (num_outputs in opset 18).
func (s *Shapes) inferSplit(n *onnxpb.NodeProto, x Shape) {
	if x == nil {
		return
	}
	axis := norm(AttrInt(n, "axis", 0), len(x))
	if axis < 0 || axis >= len(x) || x[axis] < 0 {
		return
	}
	parts := AttrInts(n, "split", nil)
	if parts == nil {
		parts, _ = s.val(n, 1)
	}
	outs := n.GetOutput()
	if parts == nil {
		k := int64(len(outs))
		size := (x[axis] + k - 1) / k
		for i := range outs {
			parts = append(parts, min(size, x[axis]-int64(i)*size))
		}
	}
	if len(parts) != len(outs) {
		return
	}
	for i, o := range outs {
		sh := append(Shape{}, x...)
		sh[axis] = parts[i]
		s.dims[o] = sh
	}
}

// sliceStart clamps a Slice start as ONNX does.
func sliceStart(dim, start, step int64) int64 {
	if start < 0 {
		start += dim
	}
	if step > 0 {
		return clamp(start, 0, dim)
	}
	return clamp(start, 0, dim-1)
}

// sliceLen computes the length ONNX Slice gives along one axis.
func sliceLen(dim, start, end, step int64) int64 {
	start = sliceStart(dim, start, step)
	if end < 0 {
		end += dim
	}
	if step > 0 {
		end = clamp(end, 0, dim)
		if end <= start {
			return 0
		}
		return (end - start + step - 1) / step
	}
	end = clamp(end, -1, dim-1)
	if start <= end {
		return 0
	}
	return (start - end - step - 1) / -step
}

func clamp(v, lo, hi int64) int64 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

func clampRange(start, end, n int) (int, int) {
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start = int(clamp(int64(start), 0, int64(n)))
	end = int(clamp(int64(end), int64(start), int64(n)))
	return start, end
}

func prod(s Shape) int64 {
	p := int64(1)
	for _, d := range s {
		if d < 0 {
			return -1
		}
		p *= d
	}
	return p
}

func broadcast(a, b Shape) Shape {
	if a == nil || b == nil {
		return nil
	}
	n := max(len(a), len(b))
	out := make(Shape, n)
	for i := 0; i < n; i++ {
		da, db := int64(1), int64(1)
		if k := i - (n - len(a)); k >= 0 {
			da = a[k]
		}
		if k := i - (n - len(b)); k >= 0 {
			db = b[k]
		}
		switch {
		case da == 1:
			out[i] = db
		case db == 1:
			out[i] = da
		case da == db:
			out[i] = da
		default:
			out[i] = -1
		}
	}
	return out
}

func intArith(op string, a, b []int64) []int64 {
	n := max(len(a), len(b))
	if (len(a) != n && len(a) != 1) || (len(b) != n && len(b) != 1) {
		return nil
	}
	out := make([]int64, n)
	for i := range out {
		x, y := a[min(i, len(a)-1)], b[min(i, len(b)-1)]
		switch op {
		case "Add":
			out[i] = x + y
		case "Sub":
			out[i] = x - y
		case "Mul":
			out[i] = x * y
		case "Div":
			if y == 0 {
				return nil
			}
			out[i] = x / y
		case "Mod":
			// fmod=0 (integers): the divisor's sign; shape arithmetic
			// mods sizes by positive numbers, where both agree.
			if y == 0 {
				return nil
			}
			m := x % y
			if m != 0 && (m < 0) != (y < 0) {
				m += y
			}
			out[i] = m
		default:
			return nil
		}
	}
	return out
}

// ConvGeometry holds a Conv node's attributes, with defaults filled in.
type ConvGeometry struct {
	Kernel, Strides, Dilations []int64
	Pads                       []int64 // begin..., end...
	AutoPad                    string
	Group                      int64
}

// ConvAttrs reads a Conv/ConvTranspose node's geometry; kernel comes from
// kernel_shape or else from the weight shape w.
func ConvAttrs(n *onnxpb.NodeProto, w Shape) ConvGeometry {
	spatial := 2
	if len(w) >= 3 {
		spatial = len(w) - 2
	}
	ones := make([]int64, spatial)
	for i := range ones {
		ones[i] = 1
	}
	g := ConvGeometry{
		Kernel:    AttrInts(n, "kernel_shape", nil),
		Strides:   AttrInts(n, "strides", ones),
		Dilations: AttrInts(n, "dilations", ones),
		Pads:      AttrInts(n, "pads", make([]int64, 2*spatial)),
		AutoPad:   AttrString(n, "auto_pad", "NOTSET"),
		Group:     AttrInt(n, "group", 1),
	}
	if g.Kernel == nil && len(w) >= 3 {
		g.Kernel = append([]int64{}, w[2:]...)
	}
	return g
}

func convShape(n *onnxpb.NodeProto, x, w Shape) Shape {
	if x == nil || len(w) < 3 || len(x) != len(w) {
		return nil
	}
	g := ConvAttrs(n, w)
	out := Shape{x[0], w[0]}
	for i := 0; i < len(x)-2; i++ {
		out = append(out, convOutDim(x[i+2], g.Kernel[i], g.Strides[i], g.Dilations[i], g.Pads[i], g.Pads[i+len(x)-2], g.AutoPad))
	}
	return out
}

func convOutDim(in, k, stride, dil, padBegin, padEnd int64, autoPad string) int64 {
	if in < 0 {
		return -1
	}
	switch autoPad {
	case "SAME_UPPER", "SAME_LOWER":
		return (in + stride - 1) / stride
	case "VALID":
		return (in-((k-1)*dil+1))/stride + 1
	}
	return (in+padBegin+padEnd-((k-1)*dil+1))/stride + 1
}

func convTransposeShape(n *onnxpb.NodeProto, x, w Shape) Shape {
	if x == nil || len(w) < 3 || len(x) != len(w) {
		return nil
	}
	g := ConvAttrs(n, w)
	out := Shape{x[0], w[1] * g.Group}
	if os := AttrInts(n, "output_shape", nil); os != nil {
		return append(out, os[len(os)-(len(x)-2):]...)
	}
	op := AttrInts(n, "output_padding", make([]int64, len(x)-2))
	for i := 0; i < len(x)-2; i++ {
		if x[i+2] < 0 {
			out = append(out, -1)
			continue
		}
		out = append(out, g.Strides[i]*(x[i+2]-1)+op[i]+((g.Kernel[i]-1)*g.Dilations[i]+1)-g.Pads[i]-g.Pads[i+len(x)-2])
	}
	return out
}

func poolShape(n *onnxpb.NodeProto, x Shape) Shape {
	k := AttrInts(n, "kernel_shape", nil)
	if x == nil || len(k) != len(x)-2 {
		return nil
	}
	ones := make([]int64, len(k))
	for i := range ones {
		ones[i] = 1
	}
	strides := AttrInts(n, "strides", ones)
	dil := AttrInts(n, "dilations", ones)
	pads := AttrInts(n, "pads", make([]int64, 2*len(k)))
	ceil := AttrInt(n, "ceil_mode", 0) != 0
	out := Shape{x[0], x[1]}
	for i := range k {
		in := x[i+2]
		if in < 0 {
			out = append(out, -1)
			continue
		}
		switch AttrString(n, "auto_pad", "NOTSET") {
		case "SAME_UPPER", "SAME_LOWER":
			out = append(out, (in+strides[i]-1)/strides[i])
			continue
		case "VALID":
			pads[i], pads[i+len(k)] = 0, 0
		}
		span := in + pads[i] + pads[i+len(k)] - ((k[i]-1)*dil[i] + 1)
		d := span/strides[i] + 1
		if ceil && span%strides[i] != 0 {
			d++
			// The last window must start inside the input or left padding.
			if (d-1)*strides[i] >= in+pads[i] {
				d--
			}
		}
		out = append(out, d)
	}
	return out
}

func reshapeShape(x Shape, target []int64, allowZero bool) Shape {
	out := make(Shape, len(target))
	inferAt := -1
	known := int64(1)
	for i, d := range target {
		switch {
		case d == 0 && !allowZero:
			if x == nil || i >= len(x) {
				return nil
			}
			out[i] = x[i]
		case d == -1:
			inferAt = i
			continue
		default:
			out[i] = d
		}
		if out[i] < 0 {
			known = -1
		} else if known >= 0 {
			known *= out[i]
		}
	}
	if inferAt >= 0 {
		total := prod(x)
		if total < 0 || known <= 0 {
			out[inferAt] = -1
		} else {
			out[inferAt] = total / known
		}
	}
	return out
}

func concatShape(shapes []Shape, axis int64) Shape {
	if len(shapes) == 0 || shapes[0] == nil {
		return nil
	}
	out := append(Shape{}, shapes[0]...)
	ax := norm(axis, len(out))
	if ax < 0 || ax >= len(out) {
		return nil
	}
	for _, sh := range shapes[1:] {
		if len(sh) != len(out) {
			return nil
		}
		if out[ax] < 0 || sh[ax] < 0 {
			out[ax] = -1
		} else {
			out[ax] += sh[ax]
		}
	}
	return out
}

// isWTConvNode reports whether n is a WTConv layer of convert's fused form
// (ai.wtonnx WTConv) or function form (ai.wtonnx.function WTConv_...).
func isWTConvNode(n *onnxpb.NodeProto) bool {
	switch n.GetDomain() {
	case "ai.wtonnx":
		return n.GetOpType() == "WTConv"
	case "ai.wtonnx.function":
		return strings.HasPrefix(n.GetOpType(), "WTConv_")
	}
	return false
}
