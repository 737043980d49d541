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
	opMod  // Mod with fmod=0: the result takes the divisor's sign (integers only)
	opFmod // Mod with fmod=1: C's fmod, the dividend's sign
)

func binOpOf(name string) binOp {
	switch name {
	case "Add", "Sum":
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
	}
	return opMin
}

// buildMod is Mod (opset 10): integer modulo with the divisor's sign, or
// C's fmod (fmod=1, which floating-point inputs require).
func buildMod(b *buildCtx) (kernelFunc, error) {
	fmod, err := b.attrs.int("fmod", 0)
	if err != nil {
		return nil, err
	}
	op := opMod
	if fmod != 0 {
		op = opFmod
	}
	return func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if op == opMod && in[0].DType == tensor.Float32 {
			return nil, fmt.Errorf("Mod of floating-point inputs needs fmod=1")
		}
		t, err := binary(rc, op, in[0], in[1])
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{t}, nil
	}, nil
}

func buildBinary(name string) func(b *buildCtx) (kernelFunc, error) {
	return func(b *buildCtx) (kernelFunc, error) {
		op := binOpOf(name)
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
		} else if b.attrs.has("broadcast") || b.attrs.has("axis") {
			return nil, fmt.Errorf("attributes broadcast/axis exist only before opset 7")
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
				d[i] = int64(math.Pow(float64(x), float64(y)))
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
				m := x % y
				if op == opMod && m != 0 && (m < 0) != (y < 0) {
					m += y
				}
				d[i] = m
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
	case opFmod:
		return float32(math.Mod(float64(x), float64(y)))
	default:
		if x != x || y != y {
			return float32(math.NaN())
		}
		return min(x, y)
	}
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
		case "Identity", "Floor", "Ceil":
			out.I64[i] = v
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

func (u *unaryOp) applyRange(d, s []float32) {
	s = s[:len(d)]
	switch u.kind {
	case "Relu", "Clip":
		lo, hi, _ := u.clampBounds()
		clamp(d, s, lo, hi)
	case "Sigmoid":
		for i, v := range s {
			d[i] = sigmoid(v)
		}
	case "Tanh":
		for i, v := range s {
			d[i] = float32(math.Tanh(float64(v)))
		}
	case "Erf":
		erfs(d, s)
	case "erfGelu":
		erfGelu(d, s, u.gelu[0], u.gelu[1], u.gelu[2])
	case "Sqrt":
		for i, v := range s {
			d[i] = float32(math.Sqrt(float64(v)))
		}
	case "Exp":
		for i, v := range s {
			d[i] = float32(math.Exp(float64(v)))
		}
	case "Log":
		for i, v := range s {
			d[i] = float32(math.Log(float64(v)))
		}
	case "Neg":
		for i, v := range s {
			d[i] = -v
		}
	case "Abs":
		for i, v := range s {
			d[i] = float32(math.Abs(float64(v)))
		}
	case "Reciprocal":
		for i, v := range s {
			d[i] = 1 / v
		}
	case "Floor":
		for i, v := range s {
			d[i] = float32(math.Floor(float64(v)))
		}
	case "Ceil":
		for i, v := range s {
			d[i] = float32(math.Ceil(float64(v)))
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
	return buildIdentity(b)
}
