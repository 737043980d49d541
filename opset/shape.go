package opset

import (
	"fmt"

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

// ShapeEnv is the state a shape rule reads and writes: the static shape of
// every tensor and the values of small INT64 tensors known statically
// (the shape arithmetic of exported models).
type ShapeEnv interface {
	Shape(name string) Shape
	Value(name string) ([]int64, bool)
	SetShape(name string, s Shape)
	SetValue(name string, v []int64)
}

// InferCtx is what a shape rule sees of one node.
type InferCtx struct {
	Node    *onnxpb.NodeProto
	Version int64
	Env     ShapeEnv
}

// In returns the shape of input i (nil when absent or unknown).
func (c *InferCtx) In(i int) Shape {
	if i >= len(c.Node.GetInput()) || c.Node.GetInput()[i] == "" {
		return nil
	}
	return c.Env.Shape(c.Node.GetInput()[i])
}

// Val returns the static value of input i.
func (c *InferCtx) Val(i int) ([]int64, bool) {
	if i >= len(c.Node.GetInput()) || c.Node.GetInput()[i] == "" {
		return nil, false
	}
	return c.Env.Value(c.Node.GetInput()[i])
}

// Set records the shape of output 0.
func (c *InferCtx) Set(sh Shape) { c.SetOut(0, sh) }

// SetOut records the shape of output i; a nil shape records nothing.
func (c *InferCtx) SetOut(i int, sh Shape) {
	if i < len(c.Node.GetOutput()) && c.Node.GetOutput()[i] != "" && sh != nil {
		c.Env.SetShape(c.Node.GetOutput()[i], sh)
	}
}

// SetVal records the static value of output 0 and, when its shape is not
// yet known, the 1-D shape of v.
func (c *InferCtx) SetVal(v []int64) {
	if len(c.Node.GetOutput()) == 0 {
		return
	}
	o := c.Node.GetOutput()[0]
	c.Env.SetValue(o, v)
	if c.Env.Shape(o) == nil {
		c.Env.SetShape(o, Shape{int64(len(v))})
	}
}

// axes returns an axes list from the attribute (old opsets) or input idx.
func (c *InferCtx) axes(idx int) ([]int64, bool) {
	if a := Attr(c.Node, "axes"); a != nil {
		return a.GetInts(), true
	}
	return c.Val(idx)
}

// Attr returns the attribute called name, or nil.
func Attr(n *onnxpb.NodeProto, name string) *onnxpb.AttributeProto {
	for _, a := range n.GetAttribute() {
		if a.GetName() == name {
			return a
		}
	}
	return nil
}

// AttrInt returns an int attribute or def.
func AttrInt(n *onnxpb.NodeProto, name string, def int64) int64 {
	if a := Attr(n, name); a != nil {
		return a.GetI()
	}
	return def
}

// AttrInts returns an ints attribute or def.
func AttrInts(n *onnxpb.NodeProto, name string, def []int64) []int64 {
	if a := Attr(n, name); a != nil {
		return a.GetInts()
	}
	return def
}

// AttrFloats returns a floats attribute or def.
func AttrFloats(n *onnxpb.NodeProto, name string, def []float32) []float32 {
	if a := Attr(n, name); a != nil {
		return a.GetFloats()
	}
	return def
}

// AttrString returns a string attribute or def.
func AttrString(n *onnxpb.NodeProto, name string, def string) string {
	if a := Attr(n, name); a != nil {
		return string(a.GetS())
	}
	return def
}

// AttrFloat returns a float attribute or def.
func AttrFloat(n *onnxpb.NodeProto, name string, def float32) float32 {
	if a := Attr(n, name); a != nil {
		return a.GetF()
	}
	return def
}

// ConstantValue decodes the value of a Constant node.
func ConstantValue(n *onnxpb.NodeProto) (*tensor.Tensor, error) {
	for _, a := range n.GetAttribute() {
		switch a.GetName() {
		case "value":
			v, err := onnxmodel.ToTensor(a.GetT())
			if err != nil {
				return nil, fmt.Errorf("%s: %w", onnxmodel.NodeLabel(n), err)
			}
			return v, nil
		case "value_float":
			return tensor.NewFloat32([]int{}, []float32{a.GetF()}), nil
		case "value_floats":
			return tensor.NewFloat32([]int{len(a.GetFloats())}, append([]float32{}, a.GetFloats()...)), nil
		case "value_int":
			return tensor.NewInt64([]int{}, []int64{a.GetI()}), nil
		case "value_ints":
			return tensor.NewInt64([]int{len(a.GetInts())}, append([]int64{}, a.GetInts()...)), nil
		}
	}
	return nil, fmt.Errorf("%s has no value attribute that wtonnx reads (value, value_float(s), value_int(s))", onnxmodel.NodeLabel(n))
}

func norm(axis int64, rank int) int {
	if axis < 0 {
		axis += int64(rank)
	}
	return int(axis)
}

// SliceStart clamps a Slice start as ONNX does.
func SliceStart(dim, start, step int64) int64 {
	if start < 0 {
		start += dim
	}
	if step > 0 {
		return clamp(start, 0, dim)
	}
	return clamp(start, 0, dim-1)
}

// SliceLen computes the length ONNX Slice gives along one axis.
func SliceLen(dim, start, end, step int64) int64 {
	start = SliceStart(dim, start, step)
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

// Broadcast is the multidirectional (numpy) broadcast of two shapes.
func Broadcast(a, b Shape) Shape {
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

// IntArith applies an element-wise ai.onnx arithmetic operator to int64
// operands exactly (Div truncates toward zero, Mod with fmod=0 takes the
// divisor's sign, as ONNX and numpy define them). It returns nil for
// shapes that do not broadcast, a zero divisor, or another operator.
func IntArith(op string, fmod bool, a, b []int64) []int64 {
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
			if y == 0 {
				return nil
			}
			r := x % y
			if !fmod && r != 0 && (r < 0) != (y < 0) {
				r += y
			}
			out[i] = r
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

// MakesDouble names what makes node n hold or produce a DOUBLE tensor (an
// attribute's tensor, or a Cast to DOUBLE), or returns "". The Go engine
// computes float32 and refuses such nodes rather than narrow them.
func MakesDouble(n *onnxpb.NodeProto) string {
	for _, a := range n.GetAttribute() {
		if t := a.GetT(); t != nil && onnxpb.TensorProto_DataType(t.GetDataType()) == onnxpb.TensorProto_DOUBLE {
			return fmt.Sprintf("attribute %q", a.GetName())
		}
	}
	if NormDomain(n.GetDomain()) == "" && n.GetOpType() == "Cast" &&
		onnxpb.TensorProto_DataType(AttrInt(n, "to", 0)) == onnxpb.TensorProto_DOUBLE {
		return "Cast to DOUBLE"
	}
	return ""
}
