package opset

import (
	"fmt"

	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
)

const variadic = 1 << 20

// op builds a one-output schema of the default domain, supported from
// version since to MaxVersion.
func op(name string, since int64, minIn, maxIn int, attrSpecs []string, infer func(*InferCtx)) *Schema {
	return &Schema{Key: Key{Name: name}, Since: since, Until: MaxVersion, Attrs: attrs(attrSpecs),
		MinIn: minIn, MaxIn: maxIn, MinOut: 1, MaxOut: 1, Infer: infer}
}

// withOut sets the output arity.
// requires sets the required attributes.
func requires(s *Schema, names ...string) *Schema {
	s.Required = names
	return s
}

func withOut(s *Schema, minOut, maxOut int) *Schema {
	s.MinOut, s.MaxOut = minOut, maxOut
	return s
}

func schemas() []*Schema {
	var out []*Schema
	add := func(s ...*Schema) { out = append(out, s...) }
	unary := func(since int64, attrs []string, names ...string) {
		for _, n := range names {
			add(op(n, since, 1, 1, attrs, sameShape))
		}
	}
	unary(6, nil, "Relu", "Sigmoid", "Tanh", "Sqrt", "Exp", "Log", "Neg", "Abs", "Reciprocal", "Floor", "Ceil")
	unary(9, nil, "Erf", "Sign")
	unary(1, nil, "Softplus", "Softsign")
	unary(11, nil, "Round")
	unary(18, nil, "Mish")
	unary(7, nil, "Sin", "Cos")
	unary(6, []string{"alpha", "beta"}, "HardSigmoid")
	unary(14, nil, "HardSwish")
	unary(6, []string{"alpha"}, "LeakyRelu", "Elu")
	unary(6, []string{"alpha", "gamma"}, "Selu")
	unary(20, []string{"approximate"}, "Gelu")
	unary(1, []string{"axis"}, "Softmax", "LogSoftmax")
	add(requires(op("LRN", 1, 1, 1, []string{"alpha", "beta", "bias", "size"}, sameShape), "size"))
	unary(1, []string{"axis"}, "Flatten")
	out[len(out)-1].Infer = inferFlatten
	add(op("Clip", 6, 1, 3, []string{"min@-10", "max@-10"}, sameShape))
	add(op("Identity", 1, 1, 1, nil, passValue))
	add(requires(op("Cast", 6, 1, 1, []string{"to", "saturate@19"}, passValue), "to"))
	add(withOut(op("Dropout", 7, 1, 3, []string{"ratio", "seed"}, func(c *InferCtx) {
		c.Set(c.In(0))
		c.SetOut(1, c.In(0))
	}), 1, 2))
	add(op("PRelu", 6, 2, 2, nil, broadcastAll))
	add(op("BatchNormalization", 6, 5, 5, []string{"epsilon", "momentum", "is_test@-6", "spatial@-8", "training_mode@14"}, sameShape))
	add(withOut(op("LayerNormalization", 17, 2, 3, []string{"axis", "epsilon", "stash_type"}, sameShape), 1, 3))
	add(op("InstanceNormalization", 6, 3, 3, []string{"epsilon"}, sameShape))

	for _, n := range []string{"Add", "Sub", "Mul", "Div"} {
		add(op(n, 6, 2, 2, []string{"broadcast@-6", "axis@-6"}, arith))
	}
	add(op("Pow", 1, 2, 2, []string{"broadcast@-6", "axis@-6"}, broadcastAll))
	add(op("Mod", 10, 2, 2, []string{"fmod"}, arith))
	for _, n := range []string{"Max", "Min", "Sum", "Mean"} {
		add(op(n, 6, 1, variadic, nil, broadcastAll))
	}
	for _, n := range []string{"Equal", "Less", "Greater", "And", "Or", "Xor"} {
		add(op(n, 7, 2, 2, nil, broadcastAll))
	}
	for _, n := range []string{"LessOrEqual", "GreaterOrEqual"} {
		add(op(n, 12, 2, 2, nil, broadcastAll))
	}
	add(op("Not", 1, 1, 1, nil, sameShape))
	add(op("Where", 9, 3, 3, nil, broadcastAll))

	add(op("Conv", 1, 2, 3, []string{"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"}, func(c *InferCtx) {
		c.Set(convShape(c.Node, c.In(0), c.In(1)))
	}))
	add(op("ConvTranspose", 1, 2, 3, []string{"auto_pad", "dilations", "group", "kernel_shape", "output_padding", "output_shape", "pads", "strides"}, func(c *InferCtx) {
		c.Set(convTransposeShape(c.Node, c.In(0), c.In(1)))
	}))
	pool := func(c *InferCtx) { c.Set(poolShape(c.Node, c.In(0))) }
	add(requires(op("MaxPool", 1, 1, 1, []string{"auto_pad", "ceil_mode@10", "dilations@10", "kernel_shape", "pads", "storage_order@8", "strides"}, pool), "kernel_shape"))
	add(requires(op("AveragePool", 1, 1, 1, []string{"auto_pad", "ceil_mode@10", "count_include_pad@7", "dilations@19", "kernel_shape", "pads", "strides"}, pool), "kernel_shape"))
	for _, n := range []string{"GlobalAveragePool", "GlobalMaxPool"} {
		add(op(n, 1, 1, 1, nil, inferGlobalPool))
	}
	add(op("Gemm", 6, 2, 3, []string{"alpha", "beta", "transA", "transB", "broadcast@-6"}, inferGemm))
	add(op("MatMul", 1, 2, 2, nil, inferMatMul))
	// axes becomes an input at opset 13 for ReduceSum, 18 for the others.
	add(op("ReduceSum", 1, 1, 2, []string{"axes@-12", "keepdims", "noop_with_empty_axes@13"}, inferReduce))
	for _, n := range []string{"ReduceMean", "ReduceMax", "ReduceMin"} {
		add(op(n, 1, 1, 2, []string{"axes@-17", "keepdims", "noop_with_empty_axes@18"}, inferReduce))
	}

	add(op("Constant", 1, 0, 0, []string{"value", "value_float", "value_floats", "value_int", "value_ints"}, inferConstant))
	add(op("ConstantOfShape", 9, 1, 1, []string{"value"}, func(c *InferCtx) {
		v, ok := c.Val(0)
		if !ok {
			return
		}
		sh := append(Shape{}, v...)
		c.Set(sh)
		// An INT64 fill of a small shape is shape arithmetic (PyTorch pads).
		t := Attr(c.Node, "value").GetT()
		if n := prod(sh); t != nil && t.GetDataType() == int32(onnxpb.TensorProto_INT64) && n >= 0 && n <= maxValueLen {
			if fill, err := ConstantValue(c.Node); err == nil && len(fill.I64) == 1 {
				vals := make([]int64, n)
				for i := range vals {
					vals[i] = fill.I64[0]
				}
				c.SetVal(vals)
			}
		}
	}))
	add(op("Size", 1, 1, 1, nil, func(c *InferCtx) {
		c.Set(Shape{})
		if x := c.In(0); x.Known() {
			c.SetVal([]int64{prod(x)})
		}
	}))
	// ImageScaler is an experimental operator of the opset-9 era
	// (Tiny YOLOv2), removed at opset 10.
	add(&Schema{Key: Key{Name: "ImageScaler"}, Since: 1, Until: 9, Attrs: attrs([]string{"bias", "scale"}),
		MinIn: 1, MaxIn: 1, MinOut: 1, MaxOut: 1, Infer: sameShape})
	add(op("Shape", 1, 1, 1, []string{"start@15", "end@15"}, inferShapeOp))
	add(op("Reshape", 5, 2, 2, []string{"allowzero@14"}, func(c *InferCtx) {
		if target, ok := c.Val(1); ok {
			c.Set(reshapeShape(c.In(0), target, AttrInt(c.Node, "allowzero", 0) != 0))
		}
		if v, ok := c.Val(0); ok {
			c.SetVal(v)
		}
	}))
	add(op("Squeeze", 1, 1, 2, []string{"axes@-12"}, inferSqueeze))
	add(op("Unsqueeze", 1, 1, 2, []string{"axes@-12"}, inferUnsqueeze))
	add(op("Transpose", 1, 1, 1, []string{"perm"}, inferTranspose))
	add(op("Concat", 4, 1, variadic, []string{"axis"}, inferConcat))
	add(op("Slice", 1, 1, 5, []string{"starts@-9", "ends@-9", "axes@-9"}, inferSlice))
	add(withOut(op("Split", 2, 1, 2, []string{"axis", "split@-12", "num_outputs@18"}, inferSplit), 1, variadic))
	add(op("Gather", 1, 2, 2, []string{"axis"}, inferGather))
	add(op("Expand", 8, 2, 2, nil, func(c *InferCtx) {
		if v, ok := c.Val(1); ok {
			c.Set(Broadcast(c.In(0), Shape(v)))
		}
	}))
	add(op("Tile", 6, 2, 2, nil, func(c *InferCtx) {
		x := c.In(0)
		if r, ok := c.Val(1); ok && x != nil && len(r) == len(x) {
			out := make(Shape, len(x))
			for i := range x {
				out[i] = -1
				if x[i] >= 0 {
					out[i] = x[i] * r[i]
				}
			}
			c.Set(out)
		}
	}))
	add(op("Pad", 2, 1, 4, []string{"mode", "pads@-10", "value@-10"}, inferPad))

	add(&Schema{Key: Key{Name: "Upsample"}, Since: 7, Until: 9, Attrs: attrs([]string{"mode", "scales@-8"}),
		MinIn: 1, MaxIn: 2, MinOut: 1, MaxOut: 1, Infer: inferResize})
	add(op("Resize", 10, 1, 4, []string{"mode", "coordinate_transformation_mode@11", "cubic_coeff_a@11", "exclude_outside@11",
		"extrapolation_value@11", "nearest_mode@11", "antialias@18", "axes@18", "keep_aspect_ratio_policy@18"}, inferResize))
	for _, n := range []string{"DepthToSpace", "SpaceToDepth"} {
		add(requires(op(n, 1, 1, 1, []string{"blocksize", "mode@11"}, inferDepthToSpace), "blocksize"))
	}
	for _, n := range []string{"ArgMax", "ArgMin"} {
		add(op(n, 1, 1, 1, []string{"axis", "keepdims", "select_last_index@12"}, inferArg))
	}
	add(op("Range", 11, 3, 3, nil, func(c *InferCtx) {
		s, ok1 := c.Val(0)
		l, ok2 := c.Val(1)
		d, ok3 := c.Val(2)
		if ok1 && ok2 && ok3 && len(s) == 1 && len(l) == 1 && len(d) == 1 && d[0] != 0 {
			n := (l[0] - s[0] + d[0] - 1) / d[0]
			if d[0] < 0 {
				n = (l[0] - s[0] + d[0] + 1) / d[0]
			}
			n = max(n, 0)
			c.Set(Shape{n})
			if n <= 64 {
				v := make([]int64, n)
				for i := range v {
					v[i] = s[0] + int64(i)*d[0]
				}
				c.SetVal(v)
			}
			return
		}
		c.Set(Shape{-1})
	}))

	add(&Schema{Key: Key{WTConvDomain, "WTConv"}, Since: 1, Until: 1, Attrs: attrs([]string{"levels", "stride", "wavelet"}),
		MinIn: 2, MaxIn: 6, MinOut: 1, MaxOut: 1, Required: []string{"levels"}, Infer: InferWTConv})
	return out
}

func sameShape(c *InferCtx) { c.Set(c.In(0)) }

// inferResize knows the output from static sizes (Resize 11 on) or the
// scales attribute (Upsample 7-8); float scales inputs are not tracked, so
// only the rank is known then.
func inferResize(c *InferCtx) {
	x := c.In(0)
	if x == nil {
		return
	}
	if c.Node.GetOpType() == "Resize" && c.Version >= 11 {
		if sizes, ok := c.Val(3); ok && len(sizes) == len(x) {
			c.Set(Shape(append([]int64{}, sizes...)))
			return
		}
	}
	if sc := AttrFloats(c.Node, "scales", nil); sc != nil && len(sc) == len(x) {
		out := make(Shape, len(x))
		for i, d := range x {
			out[i] = -1
			if d >= 0 {
				out[i] = int64(float64(d) * float64(sc[i]))
			}
		}
		c.Set(out)
		return
	}
	c.Set(make(Shape, len(x)).unknown())
}

func (s Shape) unknown() Shape {
	for i := range s {
		s[i] = -1
	}
	return s
}

func inferDepthToSpace(c *InferCtx) {
	x := c.In(0)
	k := AttrInt(c.Node, "blocksize", 0)
	if len(x) != 4 || k < 1 {
		return
	}
	out := append(Shape{}, x...)
	f := k * k
	if c.Node.GetOpType() == "DepthToSpace" {
		out[1] = div(x[1], f)
		out[2], out[3] = mul(x[2], k), mul(x[3], k)
	} else {
		out[1] = mul(x[1], f)
		out[2], out[3] = div(x[2], k), div(x[3], k)
	}
	c.Set(out)
}

func div(d, k int64) int64 {
	if d < 0 {
		return -1
	}
	return d / k
}

func mul(d, k int64) int64 {
	if d < 0 {
		return -1
	}
	return d * k
}

func inferArg(c *InferCtx) {
	x := c.In(0)
	if x == nil {
		return
	}
	ax := norm(AttrInt(c.Node, "axis", 0), len(x))
	if ax < 0 || ax >= len(x) {
		return
	}
	out := Shape{}
	for i, d := range x {
		if i == ax {
			if AttrInt(c.Node, "keepdims", 1) != 0 {
				out = append(out, 1)
			}
			continue
		}
		out = append(out, d)
	}
	c.Set(out)
}

// passValue is the rule of Identity and Cast: same shape, and a static
// integer value passes through (Cast to an integer type keeps it exact).
func passValue(c *InferCtx) {
	c.Set(c.In(0))
	if v, ok := c.Val(0); ok {
		if c.Node.GetOpType() == "Cast" {
			switch onnxpb.TensorProto_DataType(AttrInt(c.Node, "to", 0)) {
			case onnxpb.TensorProto_INT64, onnxpb.TensorProto_INT32:
			default:
				return
			}
		}
		c.SetVal(v)
	}
}

func broadcastAll(c *InferCtx) {
	out := c.In(0)
	for i := 1; i < len(c.Node.GetInput()); i++ {
		out = Broadcast(out, c.In(i))
	}
	c.Set(out)
}

// arith broadcasts and computes static integer values exactly.
func arith(c *InferCtx) {
	broadcastAll(c)
	a, okA := c.Val(0)
	b, okB := c.Val(1)
	if okA && okB {
		if v := IntArith(c.Node.GetOpType(), AttrInt(c.Node, "fmod", 0) != 0, a, b); v != nil {
			c.SetVal(v)
		}
	}
}

func inferFlatten(c *InferCtx) {
	if x := c.In(0); x != nil {
		axis := norm(AttrInt(c.Node, "axis", 1), len(x))
		if axis >= 0 && axis <= len(x) {
			c.Set(Shape{prod(x[:axis]), prod(x[axis:])})
		}
	}
}

func inferGlobalPool(c *InferCtx) {
	if x := c.In(0); x != nil {
		out := append(Shape{}, x...)
		for i := 2; i < len(out); i++ {
			out[i] = 1
		}
		c.Set(out)
	}
}

func inferGemm(c *InferCtx) {
	a, b := c.In(0), c.In(1)
	if len(a) == 2 && len(b) == 2 {
		m := a[0]
		if AttrInt(c.Node, "transA", 0) != 0 {
			m = a[1]
		}
		nn := b[1]
		if AttrInt(c.Node, "transB", 0) != 0 {
			nn = b[0]
		}
		c.Set(Shape{m, nn})
	}
}

func inferMatMul(c *InferCtx) {
	a, b := c.In(0), c.In(1)
	if len(a) >= 2 && len(b) >= 2 {
		batch := Broadcast(a[:len(a)-2], b[:len(b)-2])
		if batch != nil {
			c.Set(append(append(Shape{}, batch...), a[len(a)-2], b[len(b)-1]))
		}
	}
}

func inferReduce(c *InferCtx) {
	x := c.In(0)
	if x == nil {
		return
	}
	axes, ok := c.axes(1)
	keep := AttrInt(c.Node, "keepdims", 1) != 0
	mark := map[int]bool{}
	for _, a := range axes {
		mark[norm(a, len(x))] = true
	}
	if ok && len(axes) == 0 && AttrInt(c.Node, "noop_with_empty_axes", 0) != 0 {
		c.Set(x)
		return
	}
	out := Shape{}
	for i, d := range x {
		if !ok || len(axes) == 0 || mark[i] {
			if keep {
				out = append(out, 1)
			}
			continue
		}
		out = append(out, d)
	}
	c.Set(out)
}

func inferConstant(c *InferCtx) {
	v, err := ConstantValue(c.Node)
	if err != nil {
		return
	}
	sh := make(Shape, len(v.Shape))
	for i, d := range v.Shape {
		sh[i] = int64(d)
	}
	c.Set(sh)
	if v.DType == tensor.Int64 && len(v.I64) <= 64 && len(v.Shape) <= 1 {
		c.SetVal(v.I64)
	}
}

func inferShapeOp(c *InferCtx) {
	x := c.In(0)
	if x == nil {
		return
	}
	start, end := int(AttrInt(c.Node, "start", 0)), int(AttrInt(c.Node, "end", int64(len(x))))
	start, end = clampRange(start, end, len(x))
	c.Set(Shape{int64(end - start)})
	if x[start:end].Known() || end == start {
		c.SetVal(append([]int64{}, x[start:end]...))
	}
}

func inferSqueeze(c *InferCtx) {
	x := c.In(0)
	if x == nil {
		return
	}
	axes, ok := c.axes(1)
	mark := map[int]bool{}
	for _, a := range axes {
		mark[norm(a, len(x))] = true
	}
	out := Shape{}
	for i, d := range x {
		if (ok && mark[i]) || (!ok && d == 1) {
			continue
		}
		out = append(out, d)
	}
	c.Set(out)
	if v, ok := c.Val(0); ok {
		c.SetVal(v)
	}
}

func inferUnsqueeze(c *InferCtx) {
	x := c.In(0)
	axes, ok := c.axes(1)
	if !ok || x == nil {
		return
	}
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
	c.Set(out)
	if v, ok := c.Val(0); ok {
		c.SetVal(v)
	}
}

func inferTranspose(c *InferCtx) {
	x := c.In(0)
	if x == nil {
		return
	}
	perm := AttrInts(c.Node, "perm", nil)
	if perm == nil {
		for i := len(x) - 1; i >= 0; i-- {
			perm = append(perm, int64(i))
		}
	}
	out := make(Shape, len(perm))
	for i, p := range perm {
		if p < 0 || int(p) >= len(x) {
			return
		}
		out[i] = x[p]
	}
	c.Set(out)
	if v, ok := c.Val(0); ok && x.Known() && int64(len(v)) == prod(x) {
		in := strides(x)
		st := make([]int64, len(perm))
		for i, p := range perm {
			st[i] = in[p]
		}
		c.SetVal(gatherValues(v, 0, out, st))
	}
}

// maxValueLen bounds the integer tensors whose values are tracked.
const maxValueLen = 64

func strides(s Shape) []int64 {
	st := make([]int64, len(s))
	acc := int64(1)
	for i := len(s) - 1; i >= 0; i-- {
		st[i] = acc
		acc *= s[i]
	}
	return st
}

// gatherValues reads v[base + sum_i idx_i*st_i] over every index of shape.
func gatherValues(v []int64, base int64, shape Shape, st []int64) []int64 {
	out := make([]int64, 0, prod(shape))
	idx := make([]int64, len(shape))
	for n := prod(shape); int64(len(out)) < n; {
		off := base
		for i, k := range idx {
			off += k * st[i]
		}
		out = append(out, v[off])
		for i := len(idx) - 1; i >= 0; i-- {
			if idx[i]++; idx[i] < shape[i] {
				break
			}
			idx[i] = 0
		}
	}
	return out
}

func inferConcat(c *InferCtx) {
	var shapes []Shape
	var v []int64
	allVals := true
	for i := range c.Node.GetInput() {
		shapes = append(shapes, c.In(i))
		p, ok := c.Val(i)
		allVals = allVals && ok
		v = append(v, p...)
	}
	c.Set(concatShape(shapes, AttrInt(c.Node, "axis", 0)))
	if allVals {
		c.SetVal(v)
	}
}

func inferGather(c *InferCtx) {
	x := c.In(0)
	data, okD := c.Val(0)
	idx, okI := c.Val(1)
	if okD && okI && AttrInt(c.Node, "axis", 0) == 0 && len(x) == 1 {
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
		if ish := c.In(1); len(ish) == 0 {
			c.Set(Shape{})
		} else {
			c.Set(Shape{int64(len(v))})
		}
		c.SetVal(v)
		return
	}
	if ish := c.In(1); x != nil && ish != nil {
		axis := norm(AttrInt(c.Node, "axis", 0), len(x))
		if axis >= 0 && axis < len(x) {
			c.Set(append(append(append(Shape{}, x[:axis]...), ish...), x[axis+1:]...))
		}
	}
}

func inferPad(c *InferCtx) {
	x := c.In(0)
	pads, ok := AttrInts(c.Node, "pads", nil), Attr(c.Node, "pads") != nil
	if !ok {
		pads, ok = c.Val(1)
	}
	if !ok || x == nil {
		return
	}
	out := append(Shape{}, x...)
	axes, hasAxes := c.Val(3)
	if !hasAxes {
		if len(pads) != 2*len(x) {
			return
		}
		for i := range x {
			axes = append(axes, int64(i))
		}
	} else if len(pads) != 2*len(axes) {
		return
	}
	for i, a := range axes {
		ax := norm(a, len(x))
		if ax < 0 || ax >= len(x) {
			return
		}
		if x[ax] >= 0 {
			out[ax] = x[ax] + pads[i] + pads[i+len(axes)]
		}
	}
	c.Set(out)
}

func inferSlice(c *InferCtx) {
	x := c.In(0)
	if x == nil {
		return
	}
	n := c.Node
	var starts, ends, axes, steps []int64
	var ok bool
	if c.Version < 10 {
		starts, ends, axes = AttrInts(n, "starts", nil), AttrInts(n, "ends", nil), AttrInts(n, "axes", nil)
		ok = starts != nil && ends != nil
	} else {
		var ok1, ok2 bool
		starts, ok1 = c.Val(1)
		ends, ok2 = c.Val(2)
		ok = ok1 && ok2
		if len(n.GetInput()) > 3 && n.GetInput()[3] != "" {
			axes, ok1 = c.Val(3)
			ok = ok && ok1
		}
		if len(n.GetInput()) > 4 && n.GetInput()[4] != "" {
			steps, ok1 = c.Val(4)
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
		out[ax] = SliceLen(x[ax], starts[i], ends[i], step)
	}
	c.Set(out)
	if v, ok := c.Val(0); ok && x.Known() && out.Known() && int64(len(v)) == prod(x) {
		st := strides(x)
		base := int64(0)
		for i, a := range axes {
			ax := norm(a, len(x))
			step := int64(1)
			if steps != nil {
				step = steps[i]
			}
			if out[ax] > 0 {
				base += SliceStart(x[ax], starts[i], step) * st[ax]
			}
			st[ax] *= step
		}
		c.SetVal(gatherValues(v, base, out, st))
	}
}

// inferSplit handles Split at every opset: sizes from the "split" attribute
// (< 13) or input (>= 13), else equal parts (num_outputs in opset 18).
func inferSplit(c *InferCtx) {
	x := c.In(0)
	if x == nil {
		return
	}
	axis := norm(AttrInt(c.Node, "axis", 0), len(x))
	if axis < 0 || axis >= len(x) || x[axis] < 0 {
		return
	}
	parts := AttrInts(c.Node, "split", nil)
	if parts == nil {
		parts, _ = c.Val(1)
	}
	outs := c.Node.GetOutput()
	if parts == nil {
		k := int64(len(outs))
		size := (x[axis] + k - 1) / k
		for i := range outs {
			parts = append(parts, max(0, min(size, x[axis]-int64(i)*size)))
		}
	}
	if len(parts) != len(outs) {
		return
	}
	for i := range outs {
		sh := append(Shape{}, x...)
		sh[axis] = parts[i]
		c.SetOut(i, sh)
	}
}

// InferWTConv is the shape of a WTConv layer (the fused operator or the
// function form): that of the depthwise conv it replaced,
// N x C x ceil(H/s) x ceil(W/s).
func InferWTConv(c *InferCtx) {
	x := c.In(0)
	if len(x) != 4 {
		return
	}
	st := AttrInt(c.Node, "stride", 1)
	out := append(Shape{}, x...)
	for i := 2; i < 4; i++ {
		if out[i] > 0 && st > 0 {
			out[i] = (out[i] + st - 1) / st
		}
	}
	c.Set(out)
}

func convShape(n *onnxpb.NodeProto, x, w Shape) Shape {
	if x == nil || len(w) < 3 || len(x) != len(w) {
		return nil
	}
	g := ConvAttrs(n, w)
	if len(g.Kernel) != len(x)-2 || len(g.Pads) != 2*(len(x)-2) || len(g.Strides) != len(x)-2 || len(g.Dilations) != len(x)-2 {
		return nil
	}
	out := Shape{x[0], w[0]}
	for i := 0; i < len(x)-2; i++ {
		out = append(out, convOutDim(x[i+2], g.Kernel[i], g.Strides[i], g.Dilations[i], g.Pads[i], g.Pads[i+len(x)-2], g.AutoPad))
	}
	return out
}

func convOutDim(in, k, stride, dil, padBegin, padEnd int64, autoPad string) int64 {
	if in < 0 || stride <= 0 {
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
	if len(g.Kernel) != len(x)-2 || len(g.Pads) != 2*(len(x)-2) {
		return nil
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
	pads := append([]int64{}, AttrInts(n, "pads", make([]int64, 2*len(k)))...)
	if len(strides) != len(k) || len(dil) != len(k) || len(pads) != 2*len(k) {
		return nil
	}
	ceil := AttrInt(n, "ceil_mode", 0) != 0
	out := Shape{x[0], x[1]}
	for i := range k {
		in := x[i+2]
		if in < 0 || strides[i] <= 0 {
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

// String describes a schema for messages: "Conv (opsets 1-21)".
func (s *Schema) String() string {
	return fmt.Sprintf("%s (opsets %s)", s.Key, s.Versions())
}
