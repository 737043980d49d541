package wtconvgraph

import (
	"sort"
	"strconv"
	"strings"
)

// A term says, symbolically, what one channel group of a tensor inside a
// candidate layer holds: the layer input, a wavelet band at some level, a
// level conv's output, a synthesis, a sum of those, a subsampling. The
// recognizer computes the term of every tensor it can follow from the
// layer's input and accepts a layer only when some tensor holds exactly
// base + synthesis(levels 1..L): the wiring is checked by value, not by
// which operators or names happen to sit in between.
type term struct {
	op    string // x, t (analysis band), w (level conv), y (scaled level conv), b (base conv), bs (scaled base), s (synthesis), sum, sub, zero
	level int
	band  int
	node  int // b, bs: the base conv's node index
	step  int // sub: the subsampling step
	args  []*term
	key   string
}

func mk(t *term) *term {
	var b strings.Builder
	switch t.op {
	case "x", "zero":
		b.WriteString(t.op)
	case "t", "w", "y":
		b.WriteString(t.op + strconv.Itoa(t.level) + "." + strconv.Itoa(t.band))
	case "b", "bs":
		b.WriteString(t.op + "#" + strconv.Itoa(t.node))
	default:
		b.WriteString(t.op)
		if t.op == "sub" {
			b.WriteString(strconv.Itoa(t.step))
		}
		b.WriteString("(")
		for i, a := range t.args {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(a.key)
		}
		b.WriteString(")")
	}
	t.key = b.String()
	return t
}

var zeroTerm = mk(&term{op: "zero"})

func leaf(op string, level, band int) *term { return mk(&term{op: op, level: level, band: band}) }

func baseTerm(op string, node int) *term { return mk(&term{op: op, node: node}) }

// synth is the synthesis (inverse transform) of four bands.
func synth(bands []*term) *term { return mk(&term{op: "s", args: bands}) }

func subsample(step int, t *term) *term {
	if t.op == "sub" {
		return mk(&term{op: "sub", step: step * t.step, args: t.args})
	}
	return mk(&term{op: "sub", step: step, args: []*term{t}})
}

// sum adds terms, flattening nested sums, dropping zeros, merging syntheses
// band by band (synthesis is linear) and pulling out a common subsampling.
func sum(ts ...*term) *term {
	var flat []*term
	for _, t := range ts {
		switch t.op {
		case "sum":
			flat = append(flat, t.args...)
		case "zero":
		default:
			flat = append(flat, t)
		}
	}
	// Merge syntheses.
	var syn []*term
	var rest []*term
	for _, t := range flat {
		if t.op == "s" {
			syn = append(syn, t)
		} else {
			rest = append(rest, t)
		}
	}
	if len(syn) > 1 {
		bands := make([]*term, 4)
		for b := range bands {
			var parts []*term
			for _, s := range syn {
				parts = append(parts, s.args[b])
			}
			bands[b] = sum(parts...)
		}
		rest = append(rest, synth(bands))
	} else {
		rest = append(rest, syn...)
	}
	// A common subsampling step comes out of the sum.
	if len(rest) > 1 {
		step := -1
		for _, t := range rest {
			if t.op != "sub" || (step != -1 && t.step != step) {
				step = 0
				break
			}
			step = t.step
		}
		if step > 0 {
			var inner []*term
			for _, t := range rest {
				inner = append(inner, t.args[0])
			}
			return subsample(step, sum(inner...))
		}
	}
	switch len(rest) {
	case 0:
		return zeroTerm
	case 1:
		return rest[0]
	}
	sort.Slice(rest, func(i, j int) bool { return rest[i].key < rest[j].key })
	return mk(&term{op: "sum", args: rest})
}

// expectedSynthesis is Z_i of the spec for a layer of L levels:
// synthesis(Y_i band 0 + Z_{i+1}, Y_i bands 1..3). scaled(i) says whether
// level i's conv is followed by its scale (a graph optimiser may have
// folded the scale into the conv's weight: then Y_i is the conv's output).
func expectedSynthesis(i, L int, scaled func(int) bool) *term {
	op := "w"
	if scaled(i) {
		op = "y"
	}
	ll := leaf(op, i, 0)
	if i < L {
		ll = sum(ll, expectedSynthesis(i+1, L, scaled))
	}
	return synth([]*term{ll, leaf(op, i, 1), leaf(op, i, 2), leaf(op, i, 3)})
}

// finalParts splits a candidate output term into its base branch, the
// synthesis and the subsampling step: base + Z or sub_s(base + Z).
func finalParts(t *term) (base, z *term, step int, ok bool) {
	step = 1
	if t.op == "sub" {
		step, t = t.step, t.args[0]
	}
	if t.op != "sum" || len(t.args) != 2 {
		return nil, nil, 0, false
	}
	a, b := t.args[0], t.args[1]
	if a.op == "s" {
		a, b = b, a
	}
	if (a.op != "b" && a.op != "bs") || b.op != "s" {
		return nil, nil, 0, false
	}
	return a, b, step, true
}

// has reports whether t mentions a term of operator op.
func (t *term) has(op string) bool {
	if t.op == op {
		return true
	}
	for _, a := range t.args {
		if a.has(op) {
			return true
		}
	}
	return false
}
