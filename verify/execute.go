package verify

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/wtonnx/wtonnx/runtime/engines"
	"github.com/wtonnx/wtonnx/runtime/ort"
	"github.com/wtonnx/wtonnx/tensor"
)

// ExecuteOptions configures Execute.
type ExecuteOptions struct {
	Model  string
	Kind   string // "ort" (default) or "go"
	Engine engines.Options
	Inputs InputSpec
}

// Execution is the outcome of Execute. JSON:
//
//	{"model": PATH, "engine": "ort/cpu"|"go", "open_seconds": F, "run_seconds": F,
//	 "inputs": [InputInfo...], "outputs": [TensorSummary...],
//	 "node_providers": [{"node": N, "op_type": T, "provider": P}...]}
type Execution struct {
	Model       string          `json:"model"`
	Engine      string          `json:"engine"`
	OpenSeconds float64         `json:"open_seconds"`
	RunSeconds  float64         `json:"run_seconds"`
	Inputs      []InputInfo     `json:"inputs"`
	Outputs     []TensorSummary `json:"outputs"`
	// NodeProviders is, for the ONNX Runtime engine, the execution
	// provider each node ran on (from ONNX Runtime's profiler; nodes it
	// fused appear under their new names).
	NodeProviders []ort.NodePlacement `json:"node_providers,omitempty"`
	// Tensors holds the outputs by name.
	Tensors map[string]*tensor.Tensor `json:"-"`
}

// TensorSummary describes one tensor. Min, Max and Mean are over its finite
// elements (0 when there are none); NaN and Inf count the others.
type TensorSummary struct {
	Name  string  `json:"name"`
	DType string  `json:"dtype"`
	Shape []int   `json:"shape"`
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
	NaN   int     `json:"nan"`
	Inf   int     `json:"inf"`
	// File is where the tensor was written, when it was (set by callers).
	File string `json:"file,omitempty"`
}

// Execute runs a model once on one engine and returns its outputs, in the
// order the engine lists them, with summaries.
func Execute(ctx context.Context, opts ExecuteOptions) (*Execution, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	kind := opts.Kind
	if kind == "" {
		kind = EngineORT
	}
	m, err := LoadModel(opts.Model)
	if err != nil {
		return nil, err
	}
	inputs, infos, err := makeInputs(m.Proto, opts.Inputs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opts.Model, err)
	}
	eo := opts.Engine
	if kind == EngineORT {
		// ONNX Runtime's profiler says which provider ran each node; it
		// writes its file when the session closes.
		dir, err := os.MkdirTemp("", "wtonnx-profile-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		eo.ProfilePrefix = filepath.Join(dir, "profile")
	}
	start := time.Now()
	e, err := engines.Open(kind, *m, eo)
	if err != nil {
		return nil, err
	}
	closed := false
	defer func() {
		if !closed {
			e.Close()
		}
	}()
	opened := time.Since(start)
	start = time.Now()
	out, err := e.Run(ctx, inputs, nil)
	ran := time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("%s on %s: %w", opts.Model, e.Name(), err)
	}
	name, outInfos := e.Name(), e.Outputs()
	closed = true
	if err := e.Close(); err != nil {
		return nil, err
	}
	var placements []ort.NodePlacement
	if eo.ProfilePrefix != "" {
		if placements, err = ort.ReadProfileFrom(eo.ProfilePrefix); err != nil {
			return nil, fmt.Errorf("%s on %s: %w", opts.Model, name, err)
		}
	}
	x := &Execution{
		Model: opts.Model, Engine: name, OpenSeconds: opened.Seconds(), RunSeconds: ran.Seconds(),
		Inputs: infos, Tensors: out, NodeProviders: placements,
	}
	for _, info := range outInfos {
		t, ok := out[info.Name]
		if !ok {
			return nil, fmt.Errorf("%s on %s: output %q was not returned", opts.Model, name, info.Name)
		}
		x.Outputs = append(x.Outputs, Summarize(info.Name, t))
	}
	return x, nil
}

// Summarize describes tensor t.
func Summarize(name string, t *tensor.Tensor) TensorSummary {
	s := TensorSummary{Name: name, DType: t.DType.String(), Shape: append([]int{}, t.Shape...)}
	first := true
	var sum float64
	finite := 0
	for _, v := range t.Float64s() {
		switch {
		case math.IsNaN(v):
			s.NaN++
			continue
		case math.IsInf(v, 0):
			s.Inf++
			continue
		}
		if first || v < s.Min {
			s.Min = v
		}
		if first || v > s.Max {
			s.Max = v
		}
		first = false
		sum += v
		finite++
	}
	if finite > 0 {
		s.Mean = sum / float64(finite)
	}
	return s
}
