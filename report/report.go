// Package report builds a self-contained HTML report of a conversion: the
// summary of what changed, the per-layer cost table (parameters, FLOPs,
// receptive field before and after, from inspect), impulse-response
// pictures of a few representative layers (from erf), the numerical
// verification (from verify) and a latency comparison (from bench).
//
// The HTML file needs nothing else to be viewed: the pictures are PNGs in
// data: URIs, the style sheet is inline (with a print style sheet), and it
// refers to no external URL.
package report

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wtonnx/wtonnx/bench"
	"github.com/wtonnx/wtonnx/erf"
	"github.com/wtonnx/wtonnx/graph"
	"github.com/wtonnx/wtonnx/inspect"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/provenance"
	"github.com/wtonnx/wtonnx/runtime/engines"
	"github.com/wtonnx/wtonnx/verify"
	"github.com/wtonnx/wtonnx/wtconvgraph"
)

// Defaults of Options.
const (
	DefaultLayers = 3
	DefaultIters  = 20
	DefaultWarmup = 3
)

// Options control Build.
type Options struct {
	Original  string // the model before conversion
	Converted string // its converted form
	// Engines run the verification and the latency comparison ("ort",
	// "go"); empty means both.
	Engines []string
	// Iters and Warmup are bench's measured and discarded inferences per
	// model and engine (0: DefaultIters, DefaultWarmup); Iters < 0 skips the
	// latency comparison.
	Iters  int
	Warmup int
	// Layers is how many representative layers are pictured (0:
	// DefaultLayers; < 0: none).
	Layers int
	// Positions caps the impulse positions averaged per picture (0: erf's
	// default).
	Positions int
	// SkipVerify leaves the verification out.
	SkipVerify bool
	// Tolerance is the verification's (the zero value:
	// verify.DefaultTolerance).
	Tolerance verify.Tolerance
	// InputShapes fix dynamic input dims for shape inference and for the
	// generated inputs.
	InputShapes map[string][]int64
	// Engine configures the engines (execution provider, threads, native
	// libraries); its Threads also bound the impulse-response pictures.
	Engine engines.Options
	// Logf receives progress notes.
	Logf func(format string, args ...any)
	// Now stamps the report (zero: time.Now()).
	Now time.Time
}

// Picture is one impulse-response picture.
type Picture struct {
	Layer   string      `json:"layer"`
	Caption string      `json:"caption"`
	PNG     []byte      `json:"-"`
	Result  *erf.Result `json:"-"`
}

// What a Check expects of its comparisons.
const (
	// ExpectEqual: the outputs must agree within tolerance (engines
	// against each other; a conversion with init preserve against its
	// original; a converted model that records no provenance).
	ExpectEqual = "equal"
	// ExpectChange: the conversion changes the outputs by design (init
	// random or import, as its provenance records).
	ExpectChange = "change"
)

// Verdicts of a Check beside verify's "pass" and "fail".
const (
	// VerdictChanged: the outputs differ and the conversion meant them to.
	VerdictChanged = "changed"
	// VerdictError: the check could not run (see Check.Error).
	VerdictError = "error"
)

// Check is the outcome of one verification run, or why it could not run.
//
// Verdict reads Result in the light of Expect: "pass", "fail", "changed"
// (the outputs differ as the conversion meant them to; not a failure) or
// "error".
type Check struct {
	// ID is stable for scripts: CheckEngines or CheckVsOriginal.
	ID      string         `json:"id"`
	Title   string         `json:"title"`
	Note    string         `json:"note"`
	Expect  string         `json:"expect"`
	Verdict string         `json:"verdict"`
	Result  *verify.Result `json:"result,omitempty"`
	Error   string         `json:"error,omitempty"`
}

// Stable ids of the checks.
const (
	CheckEngines    = "converted_across_engines"
	CheckVsOriginal = "converted_vs_original"
)

// Latency is one bench run, or why it could not run.
type Latency struct {
	Engine string        `json:"engine"`
	Result *bench.Result `json:"result,omitempty"`
	Error  string        `json:"error,omitempty"`
}

// Report is everything the HTML shows.
type Report struct {
	Original   string              `json:"original"`
	Converted  string              `json:"converted"`
	Generated  time.Time           `json:"generated"`
	Comparison *inspect.Comparison `json:"comparison"`
	// Provenance is what the converted model records about how wtonnx
	// made it; nil when it records nothing.
	Provenance *provenance.Record `json:"provenance,omitempty"`
	Forms      []string           `json:"forms"` // forms of the converted layers
	Pictures   []Picture          `json:"pictures"`
	Checks     []Check            `json:"checks"`
	Latencies  []Latency          `json:"latencies"`
	// Notes are things worth knowing (a section left out, and why).
	Notes []string `json:"notes,omitempty"`
}

// Build computes the report. Problems of the models themselves are errors;
// a verification or latency run that cannot start (an engine's library
// missing, say) is recorded in the report instead, so that the rest still
// comes out.
func Build(ctx context.Context, opts Options) (*Report, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if opts.Original == "" || opts.Converted == "" {
		return nil, fmt.Errorf("report: give the original and the converted model")
	}
	if a, b := cleanAbs(opts.Original), cleanAbs(opts.Converted); a == b {
		return nil, fmt.Errorf("report: %s is given as both the original and the converted model", opts.Original)
	}
	kinds := opts.Engines
	if len(kinds) == 0 {
		kinds = append([]string(nil), engines.Kinds...)
	}
	for _, e := range kinds {
		if err := engines.CheckKind(e); err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
	}
	r := &Report{Original: opts.Original, Converted: opts.Converted, Generated: opts.Now}
	if r.Generated.IsZero() {
		r.Generated = time.Now()
	}
	r.Generated = r.Generated.UTC().Truncate(time.Second)

	logf("costs: inspecting both models")
	cmp, err := inspect.CompareFiles(opts.Original, opts.Converted, opts.InputShapes)
	if err != nil {
		return nil, err
	}
	r.Comparison = cmp
	if cmp.After.WTConv == 0 {
		return nil, fmt.Errorf("report: %s has no WTConv layer (is it the converted model?)", opts.Converted)
	}
	orig, err := onnxmodel.Load(opts.Original)
	if err != nil {
		return nil, err
	}
	conv, err := onnxmodel.Load(opts.Converted)
	if err != nil {
		return nil, err
	}
	for _, m := range []struct {
		path  string
		model *onnxpb.ModelProto
	}{{opts.Original, orig}, {opts.Converted, conv}} {
		if err := needStaticInputs(m.path, m.model, opts.InputShapes); err != nil {
			return nil, err
		}
	}
	shapes, err := graph.InferShapes(conv, opts.InputShapes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opts.Converted, err)
	}
	layers, err := wtconvgraph.Find(conv, shapes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opts.Converted, err)
	}
	forms := map[string]bool{}
	for _, l := range layers {
		if !forms[string(l.Form)] {
			forms[string(l.Form)] = true
			r.Forms = append(r.Forms, string(l.Form))
		}
	}

	n := opts.Layers
	if n == 0 {
		n = DefaultLayers
	}
	for _, l := range Representative(layers, n) {
		logf("impulse response: %s (%d levels)", l.Name, l.Layer.Levels)
		res, err := erf.FromModels(ctx, conv, orig, l.Name, erf.Options{Channel: -1, MaxPositions: opts.Positions, Threads: opts.Engine.Threads})
		if err != nil {
			return nil, fmt.Errorf("impulse response of %s: %w", l.Name, err)
		}
		var buf bytes.Buffer
		if err := erf.WritePNG(&buf, res.Panels(), erf.PictureOptions{}); err != nil {
			return nil, err
		}
		w := res.WTConv
		hw := "unknown size"
		if l.InputHW != nil {
			hw = fmt.Sprintf("%dx%d feature map", l.InputHW[0], l.InputHW[1])
		}
		r.Pictures = append(r.Pictures, Picture{
			Layer: l.Name, PNG: buf.Bytes(), Result: res,
			Caption: fmt.Sprintf("%s (%s, %d channels, %s), channel %d: mean |impulse response| over %d impulse positions; non-zero over %d px (theoretical receptive field %d px) against the original kernel's %d px.",
				l.Name, l.Form, l.Layer.Channels, hw, res.Channel, len(w.Positions), w.Extent(), w.ReceptiveField, res.Original.Extent()),
		})
	}

	expect, expectNote := ExpectEqual, "The converted model records no provenance (it was not written by this wtonnx), so it is expected to reproduce the original, as a conversion with init preserve (zero wavelet kernels) does."
	if rec, ok := provenance.Read(conv); ok {
		r.Provenance = rec
		switch init := rec.Options["init"]; init {
		case "random", "import":
			expect = ExpectChange
			expectNote = fmt.Sprintf("The conversion used init %s (%s): its wavelet branch is non-zero, so the outputs change by design; the error statistics show by how much.", init, rec.CommandLine())
		default:
			expectNote = fmt.Sprintf("The conversion used init %s (%s): the wavelet kernels start at zero, so the converted model must reproduce the original.", init, rec.CommandLine())
		}
		if sum, err := provenance.FileSHA256(opts.Original); err == nil && rec.SourceSHA256 != "" && sum != rec.SourceSHA256 {
			r.Notes = append(r.Notes, fmt.Sprintf("%s was converted from a file with SHA-256 %s, but %s has SHA-256 %s: the comparison is not with its own original.", opts.Converted, rec.SourceSHA256, opts.Original, sum))
		}
	}
	tol := opts.Tolerance
	if tol == (verify.Tolerance{}) {
		tol = verify.DefaultTolerance
	}
	spec := verify.InputSpec{Seed: verify.DefaultSeed, Shapes: opts.InputShapes}
	eo := verify.Options{
		Engines: kinds, Engine: opts.Engine, Tolerance: tol, Inputs: spec, Logf: logf,
	}
	if opts.SkipVerify {
		r.Notes = append(r.Notes, "verification skipped (--skip-verify)")
	} else {
		if len(kinds) >= 2 {
			o := eo
			o.ModelA = opts.Converted
			logf("verify: the converted model on %v", kinds)
			r.Checks = append(r.Checks, runCheck(ctx, CheckEngines, "Converted model across engines",
				"Every engine runs the converted model on the same random input; outputs must agree within the tolerance.", ExpectEqual, o))
		}
		o := eo
		o.ModelA, o.ModelB = opts.Converted, opts.Original
		logf("verify: converted against original on %v", kinds)
		r.Checks = append(r.Checks, runCheck(ctx, CheckVsOriginal, "Converted against original", "Same input to both models. "+expectNote, expect, o))
	}

	iters, warmup := opts.Iters, opts.Warmup
	if iters == 0 {
		iters = DefaultIters
	}
	if warmup == 0 {
		warmup = DefaultWarmup
	}
	if iters < 0 {
		r.Notes = append(r.Notes, "latency comparison skipped")
	} else {
		for _, e := range kinds {
			logf("bench: %s, %d iterations", e, iters)
			br, err := bench.Run(ctx, bench.Options{
				Model: opts.Converted, Vs: opts.Original, Kind: e, Engine: opts.Engine,
				Warmup: warmup, Iters: iters, Inputs: spec, Logf: logf,
			})
			l := Latency{Engine: e, Result: br}
			if err != nil {
				l.Error = err.Error()
			}
			r.Latencies = append(r.Latencies, l)
		}
	}
	return r, nil
}

// needStaticInputs refuses a model whose inputs have dynamic dimensions
// that shapes do not fix: the costs, verification and latency sections all
// need a size, and the report would otherwise show "?" without a reason.
func needStaticInputs(path string, m *onnxpb.ModelProto, shapes map[string][]int64) error {
	g := m.GetGraph()
	inits := map[string]bool{}
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = true
	}
	for _, in := range g.GetInput() {
		if inits[in.GetName()] || shapes[in.GetName()] != nil {
			continue
		}
		dims := in.GetType().GetTensorType().GetShape().GetDim()
		var text []string
		dynamic := false
		for _, d := range dims {
			if v := d.GetDimValue(); v > 0 {
				text = append(text, strconv.FormatInt(v, 10))
				continue
			}
			dynamic = true
			if p := d.GetDimParam(); p != "" {
				text = append(text, p)
			} else {
				text = append(text, "?")
			}
		}
		if dynamic {
			return fmt.Errorf("report: input %q of %s has dynamic dimensions [%s]; the cost, verification and latency sections need a fixed size: give --input-shape %s=1x3x224x224 (its real size)",
				in.GetName(), path, strings.Join(text, " x "), in.GetName())
		}
	}
	return nil
}

func runCheck(ctx context.Context, id, title, note, expect string, o verify.Options) Check {
	c := Check{ID: id, Title: title, Note: note, Expect: expect}
	res, err := verify.Run(ctx, o)
	if err != nil {
		c.Error, c.Verdict = err.Error(), VerdictError
		return c
	}
	c.Result = res
	c.Verdict = CheckVerdict(expect, res)
	return c
}

// CheckVerdict reads a verification in the light of what was expected: a
// comparison of the converted model with its original that differs is the
// intended change when a change is expected; a difference between engines
// is always a failure. Any failure makes "fail", else any intended change
// makes "changed", else "pass".
func CheckVerdict(expect string, res *verify.Result) string {
	v := verify.VerdictPass
	for _, c := range res.Comparisons {
		e := expect
		if c.A.Model == c.B.Model {
			e = ExpectEqual
		}
		switch ComparisonVerdict(e, c.Pass) {
		case verify.VerdictFail:
			return verify.VerdictFail
		case VerdictChanged:
			v = VerdictChanged
		}
	}
	return v
}

// ComparisonVerdict reads whether outputs agreed within tolerance in the
// light of what was expected: agreement passes; a difference fails when
// equality was expected and is the intended change otherwise.
func ComparisonVerdict(expect string, agreed bool) string {
	switch {
	case agreed:
		return verify.VerdictPass
	case expect == ExpectChange:
		return VerdictChanged
	}
	return verify.VerdictFail
}

func cleanAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	if fi, err := os.Stat(a); err == nil {
		if r, err := filepath.EvalSymlinks(a); err == nil && fi != nil {
			return r
		}
	}
	return a
}

// Representative picks up to n layers that show the range of the model: the
// first layer of each distinct (levels, wavelet kernel, base kernel) in
// graph order, spread evenly when there are more kinds than n, in graph
// order.
func Representative(layers []wtconvgraph.Layer, n int) []*wtconvgraph.Layer {
	if n <= 0 {
		return nil
	}
	type key struct{ L, k, b0, b1 int }
	seen := map[key]bool{}
	var kinds []int
	for i, l := range layers {
		k := key{l.Layer.Levels, l.Layer.Kernel, l.BaseKernel[0], l.BaseKernel[1]}
		if !seen[k] {
			seen[k] = true
			kinds = append(kinds, i)
		}
	}
	pick := kinds
	if len(kinds) > n {
		pick = nil
		for j := 0; j < n; j++ {
			if n == 1 {
				pick = append(pick, kinds[0])
				break
			}
			pick = append(pick, kinds[j*(len(kinds)-1)/(n-1)])
		}
	}
	sort.Ints(pick)
	out := make([]*wtconvgraph.Layer, len(pick))
	for i, j := range pick {
		out[i] = &layers[j]
	}
	return out
}
