package goexec

import (
	"fmt"
	"math"

	"github.com/wtonnx/wtonnx/tensor"
)

// broadcastShape applies numpy broadcasting to two shapes.
func broadcastShape(a, b []int) ([]int, error) {
	r := max(len(a), len(b))
	out := make([]int, r)
	for i := 0; i < r; i++ {
		da, db := 1, 1
		if j := i - (r - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (r - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			out[i] = da
		case da == 1:
			out[i] = db
		case db == 1:
			out[i] = da
		default:
			return nil, fmt.Errorf("shapes %v and %v cannot be broadcast (dimension %d: %d vs %d)", a, b, i, da, db)
		}
	}
	return out, nil
}

// bcastPlan iterates two operands broadcast to an output shape as rows: the
// innermost (collapsed) dimension is a row, in which each operand advances by
// a stride of 0 or 1.
type bcastPlan struct {
	out    []int
	dims   []int // collapsed dims, innermost last
	sa, sb []int // element strides of a and b per collapsed dim
	rows   int
	rowLen int
}

func planBroadcast(as, bs, out []int) *bcastPlan {
	r := len(out)
	pad := func(s []int) []int {
		p := make([]int, r)
		for i := range p {
			p[i] = 1
		}
		copy(p[r-len(s):], s)
		return p
	}
	pa, pb := pad(as), pad(bs)
	stride := func(p []int) []int {
		st := make([]int, r)
		acc := 1
		for i := r - 1; i >= 0; i-- {
			if p[i] == 1 && out[i] != 1 {
				st[i] = 0
			} else {
				st[i] = acc
			}
			acc *= p[i]
		}
		return st
	}
	sta, stb := stride(pa), stride(pb)
	var dims, sa, sb []int
	for i := 0; i < r; i++ {
		if out[i] == 1 {
			continue
		}
		if n := len(dims); n > 0 && sa[n-1] == sta[i]*out[i] && sb[n-1] == stb[i]*out[i] {
			dims[n-1] *= out[i]
			sa[n-1] = sta[i]
			sb[n-1] = stb[i]
			continue
		}
		dims = append(dims, out[i])
		sa = append(sa, sta[i])
		sb = append(sb, stb[i])
	}
	if len(dims) == 0 {
		dims, sa, sb = []int{1}, []int{1}, []int{1}
	}
	p := &bcastPlan{out: out, dims: dims, sa: sa, sb: sb}
	p.rowLen = dims[len(dims)-1]
	p.rows = 1
	for _, d := range dims[:len(dims)-1] {
		p.rows *= d
	}
	return p
}

// rowOffsets returns the offsets of row r in a and b.
func (p *bcastPlan) rowOffsets(r int) (ao, bo int) {
	for i := len(p.dims) - 2; i >= 0; i-- {
		d := p.dims[i]
		idx := r % d
		r /= d
		ao += idx * p.sa[i]
		bo += idx * p.sb[i]
	}
	return ao, bo
}

type binOp int

const (
	opAdd binOp = iota
	opSub
	opMul
	opDiv
	opPow
	opPRelu
	opMax
	opMin
	opMod  // Mod with fmod=0: the remainder takes the divisor's sign (integers)
	opFmod // Mod with fmod=1: the remainder takes the dividend's sign
)

func binOpOf(name string) binOp {
	switch name {
	case "Add", "Sum", "Mean":
		return opAdd
	case "Sub":
		return opSub
	case "Mul":
		return opMul
	case "Div":
		return opDiv
	case "Pow":
		return opPow
	case "PRelu":
		return opPRelu
	case "Max":
		return opMax
	case "Mod":
		return opMod
	}
	return opMin
}

func buildBinary(name string) func(b *buildCtx) (kernelFunc, error) {
	return func(b *buildCtx) (kernelFunc, error) {
		op := binOpOf(name)
		switch name {
		case "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor":
			return buildCompare(name), nil
		case "Mod":
			fmod, err := b.attrs.int("fmod", 0)
			if err != nil {
				return nil, err
			}
			if fmod != 0 && fmod != 1 {
				return nil, fmt.Errorf("fmod must be 0 or 1, got %d", fmod)
			}
			if fmod == 1 {
				op = opFmod
			}
		}
		legacy := false
		legacyPRelu := name == "PRelu" && b.opset < 7
		axis := int64(-1)
		if b.opset < 7 && name != "PRelu" {
			bc, err := b.attrs.int("broadcast", 0)
			if err != nil {
				return nil, err
			}
			legacy = bc != 0
			if legacy && b.attrs.has("axis") {
				if axis, err = b.attrs.int("axis", 0); err != nil {
					return nil, err
				}
			}
		}
		return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			x, y := in[0], in[1]
			if legacy && axis >= 0 {
				// Legacy broadcasting: y's shape matches x's from axis on.
				if int(axis)+len(y.Shape) > len(x.Shape) {
					return nil, fmt.Errorf("legacy broadcast of %v into %v at axis %d does not fit", y.Shape, x.Shape, axis)
				}
				shape := make([]int, 0, len(x.Shape)-int(axis))
				shape = append(shape, y.Shape...)
				for len(shape) < len(x.Shape)-int(axis) {
					shape = append(shape, 1)
				}
				y = &tensor.Tensor{DType: y.DType, Shape: shape, F32: y.F32, I64: y.I64}
			}
			if op == opPRelu && legacyPRelu && len(y.Shape) == 1 && len(x.Shape) >= 2 && y.Shape[0] == x.Shape[1] && y.Shape[0] > 1 {
				// Before opset 7 a 1-D slope is per channel (axis 1).
				shape := []int{y.Shape[0]}
				for len(shape) < len(x.Shape)-1 {
					shape = append(shape, 1)
				}
				y = alias(y, shape)
			}
			if op == opPRelu {
				out, err := broadcastShape(x.Shape, y.Shape)
				if err != nil {
					return nil, err
				}
				if !tensor.SameShape(out, x.Shape) {
					return nil, fmt.Errorf("slope of shape %v does not broadcast to X of shape %v", y.Shape, x.Shape)
				}
			}
			if op == opMod && x.DType == tensor.Float32 {
				return nil, fmt.Errorf("Mod of floating-point tensors needs fmod=1")
			}
			t, err := binary(rc, op, x, y)
			if err != nil {
				return nil, err
			}
			return []*tensor.Tensor{t}, nil
		}, nil
	}
}

func buildVariadic(name string) func(b *buildCtx) (kernelFunc, error) {
	return func(b *buildCtx) (kernelFunc, error) {
		op := binOpOf(name)
		return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			acc := in[0]
			for i, t := range in[1:] {
				if t == nil {
					return nil, fmt.Errorf("input %d is empty", i+1)
				}
				var err error
				if acc, err = binary(rc, op, acc, t); err != nil {
					return nil, err
				}
			}
			if len(in) == 1 {
				acc = alias(acc, acc.Shape)
			}
			if name == "Mean" {
				if err := requireF32(acc, "inputs"); err != nil {
					return nil, err
				}
				out := rc.newF32(acc.Shape)
				inv := 1 / float32(len(in))
				for i, v := range acc.F32 {
					out.F32[i] = v * inv
				}
				acc = out
			}
			return []*tensor.Tensor{acc}, nil
		}, nil
	}
}

// binary applies op with numpy broadcasting.
func binary(rc *runCtx, op binOp, x, y *tensor.Tensor) (*tensor.Tensor, error) {
	if x.DType != y.DType {
		if op == opPow && x.DType == tensor.Float32 && y.DType == tensor.Int64 {
			y = castTensor(y, tensor.Float32)
		} else {
			return nil, fmt.Errorf("operand types differ: %v and %v", x.DType, y.DType)
		}
	}
	shape, err := broadcastShape(x.Shape, y.Shape)
	if err != nil {
		return nil, err
	}
	p := planBroadcast(x.Shape, y.Shape, shape)
	if x.DType == tensor.Int64 {
		out := tensor.NewInt64(shape, nil)
		if err := binaryI64(p, op, out.I64, x.I64, y.I64); err != nil {
			return nil, err
		}
		return out, nil
	}
	out := rc.newF32(shape)
	if len(out.F32) == 0 {
		return out, nil
	}
	grain := max(1, 16384/p.rowLen)
	parallelFor(rc.threads, p.rows, grain, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			ao, bo := p.rowOffsets(r)
			n := p.rowLen
			binRowF32(op, out.F32[r*n:r*n+n], x.F32[ao:], p.sa[len(p.sa)-1], y.F32[bo:], p.sb[len(p.sb)-1])
		}
	})
	return out, nil
}

func binaryI64(p *bcastPlan, op binOp, dst, a, b []int64) error {
	n := p.rowLen
	sa, sb := p.sa[len(p.sa)-1], p.sb[len(p.sb)-1]
	for r := 0; r < p.rows; r++ {
		ao, bo := p.rowOffsets(r)
		d := dst[r*n : r*n+n]
		for i := range d {
			x, y := a[ao+i*sa], b[bo+i*sb]
			switch op {
			case opAdd:
				d[i] = x + y
			case opSub:
				d[i] = x - y
			case opMul:
				d[i] = x * y
			case opDiv:
				if y == 0 {
					return fmt.Errorf("integer division by zero")
				}
				d[i] = x / y
			case opPow:
				d[i] = powI64(x, y)
			case opPRelu:
				if x < 0 {
					d[i] = x * y
				} else {
					d[i] = x
				}
			case opMax:
				d[i] = max(x, y)
			case opMin:
				d[i] = min(x, y)
			case opMod, opFmod:
				if y == 0 {
					return fmt.Errorf("integer modulo by zero")
				}
				r := x % y
				if op == opMod && r != 0 && (r < 0) != (y < 0) {
					r += y
				}
				d[i] = r
			}
		}
	}
	return nil
}

// binRowF32 computes one row; sa and sb are 0 (broadcast scalar) or 1.
func binRowF32(op binOp, d, a []float32, sa int, b []float32, sb int) {
	n := len(d)
	switch {
	case sa == 1 && sb == 1:
		a, b = a[:n], b[:n]
		switch op {
		case opAdd:
			for i := range d {
				d[i] = a[i] + b[i]
			}
		case opSub:
			for i := range d {
				d[i] = a[i] - b[i]
			}
		case opMul:
			for i := range d {
				d[i] = a[i] * b[i]
			}
		case opDiv:
			for i := range d {
				d[i] = a[i] / b[i]
			}
		default:
			for i := range d {
				d[i] = binScalar(op, a[i], b[i])
			}
		}
	case sa == 1 && sb == 0:
		a = a[:n]
		y := b[0]
		switch op {
		case opAdd:
			for i := range d {
				d[i] = a[i] + y
			}
		case opSub:
			for i := range d {
				d[i] = a[i] - y
			}
		case opMul:
			for i := range d {
				d[i] = a[i] * y
			}
		case opDiv:
			for i := range d {
				d[i] = a[i] / y
			}
		default:
			for i := range d {
				d[i] = binScalar(op, a[i], y)
			}
		}
	case sa == 0 && sb == 1:
		b = b[:n]
		x := a[0]
		switch op {
		case opAdd:
			for i := range d {
				d[i] = x + b[i]
			}
		case opSub:
			for i := range d {
				d[i] = x - b[i]
			}
		case opMul:
			for i := range d {
				d[i] = x * b[i]
			}
		default:
			for i := range d {
				d[i] = binScalar(op, x, b[i])
			}
		}
	default:
		v := binScalar(op, a[0], b[0])
		for i := range d {
			d[i] = v
		}
	}
}

func binScalar(op binOp, x, y float32) float32 {
	switch op {
	case opAdd:
		return x + y
	case opSub:
		return x - y
	case opMul:
		return x * y
	case opDiv:
		return x / y
	case opPow:
		return powF32(x, y)
	case opPRelu:
		if x < 0 {
			return x * y
		}
		return x
	case opMax:
		if x != x || y != y {
			return float32(math.NaN())
		}
		return max(x, y)
	case opMod, opFmod:
		return float32(math.Mod(float64(x), float64(y)))
	default:
		if x != x || y != y {
			return float32(math.NaN())
		}
		return min(x, y)
	}
}

// powI64 is x^y exactly (wrapping on overflow, as int64 arithmetic does);
// a negative exponent truncates toward zero like the float result would.
func powI64(x, y int64) int64 {
	if y < 0 {
		return int64(math.Pow(float64(x), float64(y)))
	}
	r := int64(1)
	for ; y > 0; y >>= 1 {
		if y&1 != 0 {
			r *= x
		}
		x *= x
	}
	return r
}

func powF32(x, y float32) float32 {
	switch y {
	case 2:
		return x * x
	case 1:
		return x
	case 0.5:
		return float32(math.Sqrt(float64(x)))
	case 3:
		return x * x * x
	}
	return float32(math.Pow(float64(x), float64(y)))
}

// unary operators

type unaryOp struct {
	kind        string
	alpha, beta float32
	lo, hi      float32 // Clip bounds
	approxTanh  bool    // Gelu approximate="tanh"
	// gelu holds the constants of a fused erf GELU chain: y =
	// x * (erf(x / gelu[0]) + gelu[1]) * gelu[2].
	gelu [3]float32
}

func buildUnary(name string) func(b *buildCtx) (kernelFunc, error) {
	return func(b *buildCtx) (kernelFunc, error) {
		u := unaryOp{kind: name}
		var err error
		switch name {
		case "HardSigmoid":
			if u.alpha, err = b.attrs.float("alpha", 0.2); err != nil {
				return nil, err
			}
			if u.beta, err = b.attrs.float("beta", 0.5); err != nil {
				return nil, err
			}
		case "LeakyRelu":
			if u.alpha, err = b.attrs.float("alpha", 0.01); err != nil {
				return nil, err
			}
		case "Elu":
			if u.alpha, err = b.attrs.float("alpha", 1); err != nil {
				return nil, err
			}
		case "Selu":
			if u.alpha, err = b.attrs.float("alpha", 1.67326319217681884765625); err != nil {
				return nil, err
			}
			if u.beta, err = b.attrs.float("gamma", 1.05070102214813232421875); err != nil {
				return nil, err
			}
		case "Gelu":
			approx, err := b.attrs.str("approximate", "none")
			if err != nil {
				return nil, err
			}
			switch approx {
			case "none":
			case "tanh":
				u.approxTanh = true
			default:
				return nil, fmt.Errorf("approximate=%q is not supported (none, tanh)", approx)
			}
		}
		return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			x := in[0]
			if x.DType == tensor.Int64 {
				return unaryI64(u.kind, x)
			}
			if u.kind == "Not" {
				return nil, fmt.Errorf("Not takes a boolean tensor, got %v", x.DType)
			}
			out := rc.newF32(x.Shape)
			u.apply(rc, out.F32, x.F32)
			return []*tensor.Tensor{out}, nil
		}, nil
	}
}

func unaryI64(kind string, x *tensor.Tensor) ([]*tensor.Tensor, error) {
	out := tensor.NewInt64(x.Shape, nil)
	for i, v := range x.I64 {
		switch kind {
		case "Neg":
			out.I64[i] = -v
		case "Abs":
			if v < 0 {
				v = -v
			}
			out.I64[i] = v
		case "Relu":
			out.I64[i] = max(v, 0)
		case "Identity", "Floor", "Ceil", "Round":
			out.I64[i] = v
		case "Sign":
			out.I64[i] = int64(cmpInt(v, 0))
		case "Not":
			out.I64[i] = 0
			if v == 0 {
				out.I64[i] = 1
			}
		default:
			return nil, fmt.Errorf("%s is not defined for int64 input", kind)
		}
	}
	return []*tensor.Tensor{out}, nil
}

func (u *unaryOp) apply(rc *runCtx, dst, src []float32) {
	parallelFor(rc.threads, len(src), 32768, func(lo, hi int) {
		u.applyRange(dst[lo:hi], src[lo:hi])
	})
}

// clampBounds reports whether the activation is a clamp (Relu, Clip) and
// its bounds.
func (u *unaryOp) clampBounds() (lo, hi float32, ok bool) {
	switch u.kind {
	case "Relu":
		return 0, float32(math.Inf(1)), true
	case "Clip":
		return u.lo, u.hi, true
	}
	return 0, 0, false
}

// mathUnary holds the operators that are one float64 math function.
var mathUnary = map[string]func(float64) float64{
	"Tanh": math.Tanh, "Sqrt": math.Sqrt, "Exp": math.Exp, "Log": math.Log, "Abs": math.Abs,
	"Floor": math.Floor, "Ceil": math.Ceil, "Round": math.RoundToEven, "Sin": math.Sin, "Cos": math.Cos,
}

func (u *unaryOp) applyRange(d, s []float32) {
	s = s[:len(d)]
	if f, ok := mathUnary[u.kind]; ok {
		for i, v := range s {
			d[i] = float32(f(float64(v)))
		}
		return
	}
	switch u.kind {
	case "Relu", "Clip":
		lo, hi, _ := u.clampBounds()
		clamp(d, s, lo, hi)
	case "Sigmoid":
		for i, v := range s {
			d[i] = sigmoid(v)
		}
	case "Erf":
		erfs(d, s)
	case "erfGelu":
		erfGelu(d, s, u.gelu[0], u.gelu[1], u.gelu[2])
	case "Neg":
		for i, v := range s {
			d[i] = -v
		}
	case "Reciprocal":
		for i, v := range s {
			d[i] = 1 / v
		}
	case "HardSigmoid":
		a, b := u.alpha, u.beta
		for i, v := range s {
			d[i] = max(0, min(1, a*v+b))
		}
	case "HardSwish":
		for i, v := range s {
			d[i] = v * max(0, min(1, v/6+0.5))
		}
	case "LeakyRelu":
		a := u.alpha
		for i, v := range s {
			d[i] = max(v, 0) + a*min(v, 0)
		}
	case "Elu":
		a := float64(u.alpha)
		for i, v := range s {
			if v < 0 {
				d[i] = float32(a * math.Expm1(float64(v)))
			} else {
				d[i] = v
			}
		}
	case "Selu":
		a, g := float64(u.alpha), float64(u.beta)
		for i, v := range s {
			if v <= 0 {
				d[i] = float32(g * a * math.Expm1(float64(v)))
			} else {
				d[i] = float32(g * float64(v))
			}
		}
	case "Softplus":
		for i, v := range s {
			d[i] = float32(softplus(float64(v)))
		}
	case "Softsign":
		for i, v := range s {
			d[i] = v / (1 + float32(math.Abs(float64(v))))
		}
	case "Mish":
		for i, v := range s {
			d[i] = float32(float64(v) * math.Tanh(softplus(float64(v))))
		}
	case "Sign":
		for i, v := range s {
			switch {
			case v > 0:
				d[i] = 1
			case v < 0:
				d[i] = -1
			default:
				d[i] = v // 0, -0 and NaN keep their value
			}
		}
	case "Gelu":
		if u.approxTanh {
			for i, v := range s {
				x := float64(v)
				d[i] = float32(0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x))))
			}
		} else {
			for i, v := range s {
				d[i] = 0.5 * v * (1 + erf32(v*(1/math.Sqrt2)))
			}
		}
	}
}

// softplus is log(1+exp(x)) without overflow for large x.
func softplus(x float64) float64 {
	if x > 30 {
		return x
	}
	return math.Log1p(math.Exp(x))
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func sigmoid(v float32) float32 {
	x := float64(v)
	if x >= 0 {
		return float32(1 / (1 + math.Exp(-x)))
	}
	e := math.Exp(x)
	return float32(e / (1 + e))
}

func buildClip(b *buildCtx) (kernelFunc, error) {
	lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
	if b.opset < 11 {
		var err error
		if lo, err = b.attrs.float("min", lo); err != nil {
			return nil, err
		}
		if hi, err = b.attrs.float("max", hi); err != nil {
			return nil, err
		}
		if b.numIn() > 1 {
			return nil, fmt.Errorf("min/max are attributes before opset 11, not inputs")
		}
	} else if b.attrs.has("min") || b.attrs.has("max") {
		return nil, fmt.Errorf("min/max are inputs from opset 11 on, not attributes")
	}
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		u := unaryOp{kind: "Clip", lo: lo, hi: hi}
		var ilo, ihi int64 = math.MinInt64, math.MaxInt64
		for i, p := range []*float32{&u.lo, &u.hi} {
			if len(in) <= i+1 || in[i+1] == nil {
				continue
			}
			t := in[i+1]
			if t.Len() != 1 || t.DType != x.DType {
				return nil, fmt.Errorf("bound %d must be a scalar of the input's type, got %v %v", i+1, t.DType, t.Shape)
			}
			if t.DType == tensor.Float32 {
				*p = t.F32[0]
			} else if i == 0 {
				ilo = t.I64[0]
			} else {
				ihi = t.I64[0]
			}
		}
		if x.DType == tensor.Int64 {
			out := tensor.NewInt64(x.Shape, nil)
			for i, v := range x.I64 {
				out.I64[i] = min(max(v, ilo), ihi)
			}
			return []*tensor.Tensor{out}, nil
		}
		out := rc.newF32(x.Shape)
		u.apply(rc, out.F32, x.F32)
		return []*tensor.Tensor{out}, nil
	}, nil
}

// alias returns a tensor sharing t's data with another shape.
func alias(t *tensor.Tensor, shape []int) *tensor.Tensor {
	return &tensor.Tensor{DType: t.DType, Shape: shape, F32: t.F32, I64: t.I64}
}

func buildIdentity(b *buildCtx) (kernelFunc, error) {
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		return []*tensor.Tensor{alias(in[0], in[0].Shape)}, nil
	}, nil
}

func buildDropout(b *buildCtx) (kernelFunc, error) {
	// Inference: Dropout is the identity. From opset 12 training_mode is
	// input 2; a constant false (or absent) is required.
	if b.hasIn(2) {
		t, ok := b.constIn(2)
		if !ok || t.Len() != 1 || (t.DType == tensor.Int64 && t.I64[0] != 0) || (t.DType == tensor.Float32 && t.F32[0] != 0) {
			return nil, fmt.Errorf("training_mode must be a constant false for inference")
		}
	}
	if b.numOut() < 2 {
		return buildIdentity(b)
	}
	// In inference the mask keeps every element: all true (BOOL from
	// opset 10 on, the input's type before).
	floatMask := b.opset < 10
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		var mask *tensor.Tensor
		if floatMask && in[0].DType == tensor.Float32 {
			mask = tensor.NewFloat32(in[0].Shape, nil)
			for i := range mask.F32 {
				mask.F32[i] = 1
			}
		} else {
			mask = tensor.NewInt64(in[0].Shape, nil)
			for i := range mask.I64 {
				mask.I64[i] = 1
			}
		}
		return []*tensor.Tensor{alias(in[0], in[0].Shape), mask}, nil
	}, nil
}
