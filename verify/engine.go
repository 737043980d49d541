package verify

import (
	"fmt"
	"strings"

	"github.com/wtonnx/wtonnx/customop"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/runtime"
	"github.com/wtonnx/wtonnx/runtime/goexec"
	"github.com/wtonnx/wtonnx/runtime/ort"
)

// Engine kinds accepted by OpenEngine, Options.Engines and bench.
const (
	EngineORT = "ort" // ONNX Runtime (runtime/ort)
	EngineGo  = "go"  // the pure-Go executor (runtime/goexec)
)

// EngineOptions configures OpenEngine.
type EngineOptions struct {
	// EP is ONNX Runtime's execution provider: "cpu" (also ""), "cuda",
	// "tensorrt" or "auto". The Go engine accepts "", "cpu" and "auto".
	EP       string `json:"ep,omitempty"`
	DeviceID int    `json:"device_id,omitempty"`
	// Threads is the intra-op thread count (ONNX Runtime) or the goroutine
	// bound (Go engine); 0 leaves the engine's default.
	Threads int `json:"threads,omitempty"`
	// ORTLibrary is the ONNX Runtime shared library ("" means
	// ort.FindLibrary("")).
	ORTLibrary string `json:"ort_library,omitempty"`
	// CustomOpLibrary is the fused-operator library; "" means
	// customop.FindLibrary(""), consulted only when the model needs it.
	CustomOpLibrary string `json:"customop_library,omitempty"`
	// Logf receives one-line notes (execution-provider fallbacks).
	Logf func(format string, args ...any) `json:"-"`
	// profilePrefix turns ONNX Runtime's profiler on (Execute reads which
	// provider ran each node from it).
	profilePrefix string
}

// Model is a loaded model and the file it came from.
type Model struct {
	Path  string
	Proto *onnxpb.ModelProto
	// data, when set, is the serialized model to give ONNX Runtime
	// instead of the file at Path (an edited copy of it).
	data []byte
}

// LoadModel reads and checks the model at path.
func LoadModel(path string) (*Model, error) {
	m, err := onnxmodel.Load(path)
	if err != nil {
		return nil, err
	}
	return &Model{Path: path, Proto: m}, nil
}

// label names the model in messages.
func (m *Model) label() string {
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

// OpenEngine opens m on the engine kind ("ort" or "go").
//
// For ONNX Runtime, a model with ai.wtonnx nodes gets the custom-op library
// registered (found by customop.FindLibrary(opts.CustomOpLibrary); not
// finding it is an error that says why). With EP "auto", the fallbacks ONNX
// Runtime went through are reported to opts.Logf as one line.
func OpenEngine(kind string, m *Model, opts EngineOptions) (runtime.Engine, error) {
	if m == nil || m.Proto == nil {
		return nil, fmt.Errorf("no model to open")
	}
	ep := strings.ToLower(strings.TrimSpace(opts.EP))
	switch kind {
	case EngineGo:
		switch ep {
		case "", ort.EPCPU, ort.EPAuto:
		default:
			return nil, fmt.Errorf("the go engine runs on the CPU only; execution provider %q needs the ort engine", opts.EP)
		}
		e, err := goexec.Open(m.Proto, goexec.Options{Threads: opts.Threads})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.label(), err)
		}
		return e, nil
	case EngineORT:
		return openORT(m, ep, opts)
	}
	return nil, fmt.Errorf("unknown engine %q (want %s or %s)", kind, EngineORT, EngineGo)
}

func openORT(m *Model, ep string, opts EngineOptions) (runtime.Engine, error) {
	var libs []string
	if UsesCustomOps(m.Proto) || opts.CustomOpLibrary != "" {
		lib, err := customop.FindLibrary(opts.CustomOpLibrary)
		if err != nil {
			if UsesCustomOps(m.Proto) {
				return nil, fmt.Errorf("%s has nodes in domain %s, which ONNX Runtime runs through wtonnx's custom-op library: %w", m.label(), customop.Domain, err)
			}
			return nil, fmt.Errorf("custom-op library: %w", err)
		}
		libs = append(libs, lib)
	}
	var notes []string
	o := ort.Options{
		LibraryPath:       opts.ORTLibrary,
		EP:                ep,
		DeviceID:          opts.DeviceID,
		IntraOpThreads:    opts.Threads,
		CustomOpLibraries: libs,
		ProfilePrefix:     opts.profilePrefix,
		Logf: func(format string, args ...any) {
			note := strings.TrimPrefix(fmt.Sprintf(format, args...), "ort: ")
			if i := strings.LastIndex(note, "; trying "); i >= 0 {
				note = note[:i]
			}
			notes = append(notes, note)
		},
	}
	var (
		e   *ort.Engine
		err error
	)
	switch {
	case m.data != nil:
		e, err = ort.Open(m.data, o)
	case m.Path != "":
		e, err = ort.OpenFile(m.Path, o)
	default:
		var data []byte
		if data, err = onnxmodel.Marshal(m.Proto); err != nil {
			return nil, fmt.Errorf("%s: %w", m.label(), err)
		}
		e, err = ort.Open(data, o)
	}
	if err != nil {
		return nil, err
	}
	if len(notes) > 0 && opts.Logf != nil {
		if e.Provider() == ort.EPCPU {
			opts.Logf("--ep %s: no GPU execution provider could be used, running on the CPU (%s; %s)", ep, strings.Join(notes, "; "), ort.DoctorHint)
		} else {
			opts.Logf("--ep %s: running on %s (%s)", ep, e.Provider(), strings.Join(notes, "; "))
		}
	}
	return e, nil
}
