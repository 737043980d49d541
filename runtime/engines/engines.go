// Package engines opens ONNX models on wtonnx's engines, in one place: ONNX
// Runtime (runtime/ort, with its execution providers and wtonnx's custom-op
// library) and the pure-Go executor (runtime/goexec).
//
// run, verify, bench and report all open engines through Open with one
// Options value, so a flag added here (a thread count, a library path)
// reaches every command alike.
package engines

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/wtonnx/wtonnx/customop"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/runtime"
	"github.com/wtonnx/wtonnx/runtime/goexec"
	"github.com/wtonnx/wtonnx/runtime/ort"
	"github.com/wtonnx/wtonnx/tensor"
)

// Engine kinds.
const (
	ORT = "ort" // ONNX Runtime (runtime/ort)
	Go  = "go"  // the pure-Go executor (runtime/goexec)
)

// Kinds lists every engine kind, in the default order.
var Kinds = []string{ORT, Go}

// CheckKind refuses an unknown engine kind.
func CheckKind(kind string) error {
	if kind != ORT && kind != Go {
		return fmt.Errorf("unknown engine %q (want %s or %s)", kind, ORT, Go)
	}
	return nil
}

// Options configures Open; the zero value runs on the CPU with the
// engines' defaults and finds the native libraries where `make setup` puts
// them.
type Options struct {
	// EP is ONNX Runtime's execution provider: "cpu" (also ""), "cuda",
	// "tensorrt" or "auto". The Go engine accepts "", "cpu" and "auto".
	EP       string `json:"ep,omitempty"`
	DeviceID int    `json:"device_id,omitempty"`
	// Threads is the intra-op thread count (ONNX Runtime) or the goroutine
	// bound (Go engine); 0 leaves the engine's default.
	Threads int `json:"threads,omitempty"`
	// NoSpin stops ONNX Runtime's intra-op threads spinning between
	// parallel sections (see ort.Options.NoSpinning): for engines that
	// take turns with others. The Go engine's workers never spin between
	// Runs, so it needs no such option.
	NoSpin bool `json:"no_spin,omitempty"`
	// ORTLibrary is the ONNX Runtime shared library ("" means
	// ort.FindLibrary("")).
	ORTLibrary string `json:"ort_library,omitempty"`
	// CustomOpLibrary is the fused-operator library; "" means
	// customop.FindLibrary(""), consulted only when the model needs it.
	CustomOpLibrary string `json:"customop_library,omitempty"`
	// Logf receives one-line notes (an execution-provider fallback).
	Logf func(format string, args ...any) `json:"-"`
	// ProfilePrefix turns ONNX Runtime's profiler on (see
	// ort.Options.ProfilePrefix): closing the engine writes the profile
	// that ort.ReadProfileFrom reads (which provider ran each node).
	ProfilePrefix string `json:"-"`
}

// Model is what Open runs: a parsed model, the file it came from (ONNX
// Runtime opens the file, so that external data beside it is found), and
// optionally serialized bytes to give ONNX Runtime instead of the file (an
// edited copy of it).
type Model struct {
	Path  string
	Proto *onnxpb.ModelProto
	Data  []byte
}

// Label names the model in messages: its path, else "model".
func (m Model) Label() string {
	if m.Path != "" {
		return m.Path
	}
	return "model"
}

// UsesCustomOps reports whether m has nodes of wtonnx's fused-operator
// domain (ai.wtonnx), in its graph, its subgraphs or its local functions.
func UsesCustomOps(m *onnxpb.ModelProto) bool {
	for _, f := range m.GetFunctions() {
		if nodesUseCustom(f.GetNode()) {
			return true
		}
	}
	return nodesUseCustom(m.GetGraph().GetNode())
}

func nodesUseCustom(nodes []*onnxpb.NodeProto) bool {
	for _, n := range nodes {
		if n.GetDomain() == customop.Domain {
			return true
		}
		for _, a := range n.GetAttribute() {
			if a.GetG() != nil && nodesUseCustom(a.GetG().GetNode()) {
				return true
			}
			for _, g := range a.GetGraphs() {
				if nodesUseCustom(g.GetNode()) {
					return true
				}
			}
		}
	}
	return false
}

// Open opens m on the engine kind ("ort" or "go").
//
// For ONNX Runtime, a model with ai.wtonnx nodes gets the custom-op library
// registered (found by customop.FindLibrary(opts.CustomOpLibrary); not
// finding it is an error that says why). When EP "auto" fell back from a
// GPU provider, the engine's Fallbacks say so and opts.Logf gets one line.
func Open(kind string, m Model, opts Options) (runtime.Engine, error) {
	if m.Proto == nil {
		return nil, fmt.Errorf("no model to open")
	}
	ep := strings.ToLower(strings.TrimSpace(opts.EP))
	switch kind {
	case Go:
		switch ep {
		case "", ort.EPCPU, ort.EPAuto:
		default:
			return nil, fmt.Errorf("the go engine runs on the CPU only; execution provider %q needs the ort engine", opts.EP)
		}
		e, err := goexec.Open(m.Proto, goexec.Options{Threads: opts.Threads})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.Label(), err)
		}
		return e, nil
	case ORT:
		return openORT(m, ep, opts)
	}
	return nil, CheckKind(kind)
}

func openORT(m Model, ep string, opts Options) (runtime.Engine, error) {
	var libs []string
	if UsesCustomOps(m.Proto) || opts.CustomOpLibrary != "" {
		lib, err := customop.FindLibrary(opts.CustomOpLibrary)
		if err != nil {
			if UsesCustomOps(m.Proto) {
				return nil, fmt.Errorf("%s has nodes in domain %s, which ONNX Runtime runs through wtonnx's custom-op library: %w", m.Label(), customop.Domain, err)
			}
			return nil, fmt.Errorf("custom-op library: %w", err)
		}
		libs = append(libs, lib)
	}
	o := ort.Options{
		LibraryPath:       opts.ORTLibrary,
		EP:                ep,
		DeviceID:          opts.DeviceID,
		IntraOpThreads:    opts.Threads,
		NoSpinning:        opts.NoSpin,
		CustomOpLibraries: libs,
		ProfilePrefix:     opts.ProfilePrefix,
	}
	var (
		e   *ort.Engine
		err error
	)
	switch {
	case m.Data != nil:
		e, err = ort.Open(m.Data, o)
	case m.Path != "":
		e, err = ort.OpenFile(m.Path, o)
	default:
		var data []byte
		if data, err = onnxmodel.Marshal(m.Proto); err != nil {
			return nil, fmt.Errorf("%s: %w", m.Label(), err)
		}
		e, err = ort.Open(data, o)
	}
	if err != nil {
		return nil, err
	}
	if note := FallbackNote(ep, e.Provider(), e.Fallbacks()); note != "" && opts.Logf != nil {
		opts.Logf("%s", note)
	}
	return e, nil
}

// FallbackNote says in one line which GPU providers EP ep could not use
// and what ran instead ("" when nothing fell back).
func FallbackNote(ep, obtained string, fallbacks []ort.Fallback) string {
	if len(fallbacks) == 0 {
		return ""
	}
	reasons := make([]string, len(fallbacks))
	for i, f := range fallbacks {
		reasons[i] = f.String()
	}
	if obtained == ort.EPCPU {
		return fmt.Sprintf("--ep %s: no GPU execution provider could be used, running on the CPU (%s; %s)", ep, strings.Join(reasons, "; "), ort.DoctorHint)
	}
	return fmt.Sprintf("--ep %s: running on %s (%s)", ep, obtained, strings.Join(reasons, "; "))
}

// NodeProviders runs m once on ONNX Runtime with its profiler on, in a
// session of its own (so that profiling never slows a measured one), and
// returns which execution provider ran each node.
func NodeProviders(ctx context.Context, m Model, inputs map[string]*tensor.Tensor, opts Options) ([]ort.NodePlacement, error) {
	dir, err := os.MkdirTemp("", "wtonnx-profile-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	opts.ProfilePrefix = filepath.Join(dir, "profile")
	opts.Logf = nil
	e, err := Open(ORT, m, opts)
	if err != nil {
		return nil, err
	}
	_, runErr := e.Run(ctx, inputs, nil)
	if err := e.Close(); err != nil && runErr == nil {
		runErr = err
	}
	if runErr != nil {
		return nil, fmt.Errorf("%s: profiled run: %w", m.Label(), runErr)
	}
	return ort.ReadProfileFrom(opts.ProfilePrefix)
}
