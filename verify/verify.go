package verify

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/wtonnx/wtonnx/runtime"
	"github.com/wtonnx/wtonnx/runtime/engines"
	"github.com/wtonnx/wtonnx/runtime/ort"
	"github.com/wtonnx/wtonnx/tensor"
)

// Verdicts of a Result.
const (
	VerdictPass = "pass"
	VerdictFail = "fail"
)

// Model labels used in Subject.Model.
const (
	ModelLabelA = "A"
	ModelLabelB = "B"
)

// Options configures Run.
type Options struct {
	// ModelA is the model to check; ModelB, when set, a second model with
	// the same inputs and outputs (an original and its conversion).
	ModelA string
	ModelB string
	// Engines lists the engines to run ("ort", "go"); empty means both.
	Engines []string
	// Engine configures the engines (execution provider, threads, native
	// libraries); its Logf, when nil, is Logf.
	Engine engines.Options
	// Tolerance is the comparison tolerance; the zero value demands
	// equality.
	Tolerance Tolerance
	Inputs    InputSpec
	// Reference, when given, holds saved outputs that take the place of
	// ModelB: each engine's outputs of ModelA are compared with them.
	Reference ReferenceSpec
	// Localize also compares every intermediate float tensor and reports
	// the first node whose output diverges (see Localization).
	Localize bool
	// Logf receives one-line notes.
	Logf func(format string, args ...any)
}

// Result is the outcome of Run. Its JSON form is stable:
//
//	{
//	  "verdict": "pass" | "fail",
//	  "model_a": PATH, "model_b": PATH (omitted with one model),
//	  "reference": PATH (with saved reference outputs),
//	  "tolerance": {"atol": F, "rtol": F, "scale": F},
//	  "inputs": [{"name", "dtype", "shape": [N...], "source"}],
//	  "runs": [{"model": "A"|"B", "engine": "ort/cpu"|"go", "seconds": F,
//	            "fallbacks": [{"ep", "reason", "next"}] (only after a GPU fallback)}],
//	  "comparisons": [{
//	    "a": {"model", "engine"}, "b": {"model", "engine"}, "pass": BOOL,
//	    "outputs": [OutputStats...]}],
//	  "localizations": [Localization...] (only with Localize)
//	}
//
// The verdict is "pass" exactly when every comparison passes; localization
// does not change it.
type Result struct {
	Verdict       string         `json:"verdict"`
	ModelA        string         `json:"model_a"`
	ModelB        string         `json:"model_b,omitempty"`
	Reference     string         `json:"reference,omitempty"`
	Tolerance     Tolerance      `json:"tolerance"`
	Inputs        []InputInfo    `json:"inputs"`
	Runs          []RunInfo      `json:"runs"`
	Comparisons   []Comparison   `json:"comparisons"`
	Localizations []Localization `json:"localizations,omitempty"`
}

// Subject is one model on one engine.
type Subject struct {
	Model  string `json:"model"`  // "A" or "B"
	Engine string `json:"engine"` // the engine's Name(): "ort/cpu", "go", ...
}

func (s Subject) String() string { return s.Model + "[" + s.Engine + "]" }

// RunInfo records one inference. Fallbacks lists the GPU execution
// providers ONNX Runtime could not use before the one it ran on (EP auto).
type RunInfo struct {
	Subject
	Seconds   float64        `json:"seconds"`
	Fallbacks []ort.Fallback `json:"fallbacks,omitempty"`
}

// Comparison holds the outputs of subject A compared with those of subject
// B, B being the reference of the relative tolerance.
type Comparison struct {
	A       Subject       `json:"a"`
	B       Subject       `json:"b"`
	Pass    bool          `json:"pass"`
	Outputs []OutputStats `json:"outputs"`
}

// Run loads the models, runs them on every engine with the same inputs and
// compares the outputs.
//
// With one model, every pair of engines is compared (the first listed is
// "a"). With two, A is compared with B on each engine, and B is compared
// across engines. With reference outputs, each engine's outputs of A are
// compared with them (the reference is "b"). An error means the check could not be made; outputs that
// differ are reported in the Result, not as an error.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	engines, err := normEngines(opts.Engines)
	if err != nil {
		return nil, err
	}
	if opts.ModelA == "" {
		return nil, fmt.Errorf("no model given")
	}
	withRef := !opts.Reference.IsZero()
	if withRef && opts.ModelB != "" {
		return nil, fmt.Errorf("give a second model or reference outputs, not both")
	}
	if withRef && opts.Localize {
		return nil, fmt.Errorf("localize compares intermediate tensors of two runs; saved reference outputs hold only the graph outputs")
	}
	if opts.ModelB == "" && !withRef && len(engines) < 2 {
		return nil, fmt.Errorf("one model on one engine (%s) leaves nothing to compare: give a second model or a second engine", engines[0])
	}
	ma, err := LoadModel(opts.ModelA)
	if err != nil {
		return nil, err
	}
	models := []*Model{ma}
	if opts.ModelB != "" {
		mb, err := LoadModel(opts.ModelB)
		if err != nil {
			return nil, err
		}
		models = append(models, mb)
	}
	inputs, infos, err := makeInputs(ma.Proto, opts.Inputs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opts.ModelA, err)
	}
	if len(models) == 2 {
		if err := CheckSameInputs(ma, models[1]); err != nil {
			return nil, err
		}
	}
	var ref map[string]*tensor.Tensor
	var refNames []string
	if withRef {
		if ref, err = loadReference(ma.Proto, opts.Reference); err != nil {
			return nil, fmt.Errorf("%s: %w", opts.ModelA, err)
		}
		for name := range ref {
			refNames = append(refNames, name)
		}
		sort.Strings(refNames)
	}
	eo := opts.Engine
	if eo.Logf == nil {
		eo.Logf = opts.Logf
	}
	eo.Logf = dedupLogf(eo.Logf)

	res := &Result{ModelA: opts.ModelA, ModelB: opts.ModelB, Tolerance: opts.Tolerance, Inputs: infos}
	if withRef {
		res.Reference = opts.Reference.String()
	}
	// outs[model][engine]
	outs := make([][]map[string]*tensor.Tensor, len(models))
	subjects := make([][]Subject, len(models))
	for mi, m := range models {
		outs[mi] = make([]map[string]*tensor.Tensor, len(engines))
		subjects[mi] = make([]Subject, len(engines))
		for ei, kind := range engines {
			label := ModelLabelA
			if mi == 1 {
				label = ModelLabelB
			}
			r, err := runOnce(ctx, kind, m, eo, inputs, refNames)
			if err != nil {
				return nil, err
			}
			subj := Subject{Model: label, Engine: r.engine}
			outs[mi][ei], subjects[mi][ei] = r.out, subj
			res.Runs = append(res.Runs, RunInfo{Subject: subj, Seconds: r.seconds, Fallbacks: r.fallbacks})
		}
	}

	add := func(am, ae, bm, be int) {
		stats := Compare(outs[am][ae], outs[bm][be], opts.Tolerance)
		res.Comparisons = append(res.Comparisons, Comparison{
			A: subjects[am][ae], B: subjects[bm][be], Pass: AllPass(stats), Outputs: stats,
		})
	}
	if len(models) == 2 {
		for ei := range engines {
			add(0, ei, 1, ei)
		}
	}
	if withRef {
		refSubj := Subject{Model: ModelLabelReference, Engine: "npy"}
		for ei := range engines {
			stats := Compare(outs[0][ei], ref, opts.Tolerance)
			res.Comparisons = append(res.Comparisons, Comparison{
				A: subjects[0][ei], B: refSubj, Pass: AllPass(stats), Outputs: stats,
			})
		}
	}
	last := len(models) - 1
	for i := range engines {
		if withRef {
			break // each engine is judged against the reference
		}
		for j := i + 1; j < len(engines); j++ {
			add(last, i, last, j)
		}
	}
	res.Verdict = VerdictPass
	for _, c := range res.Comparisons {
		if !c.Pass {
			res.Verdict = VerdictFail
		}
	}

	if opts.Localize {
		locs, err := localizeAll(ctx, models, engines, eo, inputs, opts.Tolerance)
		if err != nil {
			return nil, fmt.Errorf("localize: %w", err)
		}
		res.Localizations = locs
	}
	return res, nil
}

// ran is one inference of runOnce.
type ran struct {
	out       map[string]*tensor.Tensor
	engine    string // the engine's Name()
	seconds   float64
	fallbacks []ort.Fallback
}

// runOnce opens m on one engine, runs it once and closes it.
func runOnce(ctx context.Context, kind string, m *Model, eo engines.Options, inputs map[string]*tensor.Tensor, names []string) (ran, error) {
	e, err := engines.Open(kind, *m, eo)
	if err != nil {
		return ran{}, err
	}
	defer e.Close()
	start := time.Now()
	out, err := e.Run(ctx, inputs, names)
	secs := time.Since(start).Seconds()
	if err != nil {
		return ran{}, fmt.Errorf("%s on %s: %w", m.Label(), e.Name(), err)
	}
	r := ran{out: out, engine: e.Name(), seconds: secs}
	if oe, ok := e.(*ort.Engine); ok {
		r.fallbacks = oe.Fallbacks()
	}
	return r, nil
}

func normEngines(in []string) ([]string, error) {
	if len(in) == 0 {
		return append([]string(nil), engines.Kinds...), nil
	}
	seen := map[string]bool{}
	var out []string
	for _, e := range in {
		e = strings.ToLower(strings.TrimSpace(e))
		if err := engines.CheckKind(e); err != nil {
			return nil, err
		}
		if seen[e] {
			return nil, fmt.Errorf("engine %q is listed twice", e)
		}
		seen[e] = true
		out = append(out, e)
	}
	return out, nil
}

// CheckSameInputs checks that b takes the inputs a does: the same names,
// element types and fixed dimensions.
func CheckSameInputs(a, b *Model) error {
	ia, ib := ModelInputs(a.Proto), ModelInputs(b.Proto)
	names := func(infos []runtime.TensorInfo) string {
		n := make([]string, len(infos))
		for i, x := range infos {
			n[i] = x.Name
		}
		sort.Strings(n)
		return strings.Join(n, ", ")
	}
	if names(ia) != names(ib) {
		return fmt.Errorf("the models take different inputs: %s has %s, %s has %s", a.Label(), names(ia), b.Label(), names(ib))
	}
	byName := make(map[string]runtime.TensorInfo, len(ib))
	for _, x := range ib {
		byName[x.Name] = x
	}
	for _, x := range ia {
		y := byName[x.Name]
		if x.DType != y.DType {
			return fmt.Errorf("the models take different inputs: %q is %s in %s but %s in %s", x.Name, typeName(x.DType), a.Label(), typeName(y.DType), b.Label())
		}
		if x.Dims == nil || y.Dims == nil {
			continue
		}
		differ := len(x.Dims) != len(y.Dims)
		for i := 0; !differ && i < len(x.Dims); i++ {
			differ = x.Dims[i] >= 0 && y.Dims[i] >= 0 && x.Dims[i] != y.Dims[i]
		}
		if differ {
			return fmt.Errorf("the models take different inputs: %q is %s in %s but %s in %s", x.Name, declString(x), a.Label(), declString(y), b.Label())
		}
	}
	return nil
}

// dedupLogf passes each distinct note on once.
func dedupLogf(logf func(string, ...any)) func(string, ...any) {
	if logf == nil {
		return nil
	}
	seen := map[string]bool{}
	return func(format string, args ...any) {
		s := fmt.Sprintf(format, args...)
		if seen[s] {
			return
		}
		seen[s] = true
		logf("%s", s)
	}
}
