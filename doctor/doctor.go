// Package doctor reports what wtonnx can run on this machine: every ONNX
// Runtime library it would load (version, path, execution providers compiled
// in, and for CUDA and TensorRT whether their provider libraries load, with
// the dynamic loader's own reason when they do not), the WTConv custom-op
// library and the ONNX Runtime C API versions it accepts, the NVIDIA driver
// and its GPUs, and the Go engine's build and the CPU features it can use.
// Operators reports, from the same probes, which operators each engine runs
// (`wtonnx ops`).
//
// Nothing here creates an ONNX Runtime session: libraries are probed with
// dlopen (internal/dlprobe), so several ONNX Runtime builds can be examined
// in one process and a broken GPU install cannot crash the report.
package doctor

import (
	"fmt"
	"io"
	"path/filepath"
	goruntime "runtime"
	"strings"

	"golang.org/x/sys/cpu"

	"github.com/wtonnx/wtonnx/customop"
	"github.com/wtonnx/wtonnx/internal/dlprobe"
	"github.com/wtonnx/wtonnx/runtime/goexec"
	"github.com/wtonnx/wtonnx/runtime/ort"
)

// Options names libraries explicitly, as the --ort-lib and --customop-lib
// flags of the other commands do; empty fields use the usual search.
type Options struct {
	ORTLibrary      string
	CustomOpLibrary string
}

// Report is the doctor's finding. Its JSON shape only ever gains fields.
type Report struct {
	ONNXRuntime []ORTSet `json:"onnxruntime"`
	CustomOp    CustomOp `json:"customop"`
	GoEngine    GoEngine `json:"go_engine"`
	GPU         GPU      `json:"gpu"`
}

// GPU is what the NVIDIA driver (libcuda.so.1) reports; the CUDA and
// TensorRT providers need it and at least one device.
type GPU struct {
	// DriverCUDA is the CUDA version the driver supports, e.g. "13.0";
	// "" when the driver is missing.
	DriverCUDA string   `json:"driver_cuda,omitempty"`
	Devices    []string `json:"devices"`
	// Error is the loader's reason the driver is missing, or the driver
	// call that failed (no device, driver too old).
	Error string `json:"error,omitempty"`
}

// ORTSet is one ONNX Runtime core library and the GPU providers beside it.
type ORTSet struct {
	Path   string `json:"path"`
	Source string `json:"source"` // how it was found: flag, env WTONNX_ORT_LIB, make setup, make setup-gpu, ...
	// DefaultFor lists the --ep values that load this library when none is
	// named (cpu, cuda, tensorrt, auto).
	DefaultFor []string `json:"default_for"`
	Version    string   `json:"version,omitempty"`
	Error      string   `json:"error,omitempty"` // why it could not be probed
	// CompiledIn is OrtGetAvailableProviders: the execution providers the
	// build knows (a GPU provider also needs its library, see Providers).
	CompiledIn []string   `json:"compiled_in"`
	Providers  []Provider `json:"providers"`
}

// Provider is one GPU execution provider of an ORTSet.
type Provider struct {
	Name       string   `json:"name"` // CUDAExecutionProvider, TensorrtExecutionProvider
	EP         string   `json:"ep"`   // the --ep value: cuda, tensorrt
	CompiledIn bool     `json:"compiled_in"`
	Libraries  []string `json:"libraries"`
	Missing    []string `json:"missing,omitempty"`
	// Loads: every library is present and the loader resolves all their
	// dependencies. A session may still fail (no GPU, driver too old).
	Loads bool `json:"loads"`
	// FailedLibrary and Reason: the library the loader refused and its
	// message, e.g. "libcudart.so.13: cannot open shared object file".
	FailedLibrary string `json:"failed_library,omitempty"`
	Reason        string `json:"reason,omitempty"`
}

// CustomOp describes the WTConv custom-op library.
type CustomOp struct {
	Path  string `json:"path,omitempty"`
	Error string `json:"error,omitempty"`
	// APIMin and APIMax are the ONNX Runtime C API versions it accepts;
	// API n is ONNX Runtime 1.n.
	APIMin uint32 `json:"api_min,omitempty"`
	APIMax uint32 `json:"api_max,omitempty"`
}

// GoEngine describes the pure-Go engine in this binary.
type GoEngine struct {
	// Build is "vector" (GOEXPERIMENT=simd kernels) or "portable".
	Build       string   `json:"build"`
	Kernels     string   `json:"kernels"` // the matrix micro-kernel in use, e.g. "avx2 4x16"
	GOARCH      string   `json:"goarch"`
	CPUFeatures []string `json:"cpu_features"`
}

var gpuProviders = []struct{ ep, name string }{
	{ort.EPCUDA, "CUDAExecutionProvider"},
	{ort.EPTensorRT, "TensorrtExecutionProvider"},
}

// Gather examines this machine.
func Gather(opts Options) Report {
	var r Report
	defaults := map[string][]string{}
	for _, ep := range []string{ort.EPCPU, ort.EPCUDA, ort.EPTensorRT, ort.EPAuto} {
		if p, err := ort.FindLibraryFor(opts.ORTLibrary, ep); err == nil {
			k := resolve(p)
			defaults[k] = append(defaults[k], ep)
		}
	}
	for _, set := range ort.LibrarySets(opts.ORTLibrary) {
		r.ONNXRuntime = append(r.ONNXRuntime, probeSet(set, defaults[resolve(set.Path)]))
	}
	r.CustomOp = probeCustomOp(opts.CustomOpLibrary)
	r.GoEngine = GoEngine{Build: "portable", Kernels: goexec.Kernels(), GOARCH: goruntime.GOARCH, CPUFeatures: cpuFeatures()}
	if goexec.VectorKernels {
		r.GoEngine.Build = "vector"
	}
	r.GPU = probeGPU()
	return r
}

func probeGPU() GPU {
	d, err := dlprobe.CUDA()
	g := GPU{Devices: d.Devices}
	if g.Devices == nil {
		g.Devices = []string{}
	}
	if d.Version > 0 {
		g.DriverCUDA = fmt.Sprintf("%d.%d", d.Version/1000, d.Version%1000/10)
	}
	if err != nil {
		g.Error = err.Error()
	}
	return g
}

func resolve(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		if r, err := filepath.EvalSymlinks(abs); err == nil {
			return r
		}
		return abs
	}
	return p
}

func probeSet(set ort.LibrarySet, defaultFor []string) ORTSet {
	s := ORTSet{Path: set.Path, Source: set.Source, DefaultFor: defaultFor, CompiledIn: []string{}, Providers: []Provider{}}
	if s.DefaultFor == nil {
		s.DefaultFor = []string{}
	}
	info, err := dlprobe.ORT(set.Path)
	s.Version = info.Version
	if err != nil {
		s.Error = err.Error()
		return s
	}
	s.CompiledIn = info.Providers
	dir := filepath.Dir(set.Path)
	for _, gp := range gpuProviders {
		st := ort.DiagnoseProvider(dir, gp.ep)
		p := Provider{
			Name: gp.name, EP: gp.ep, Libraries: st.Libraries, Missing: st.Missing,
			Loads: st.Loads, FailedLibrary: st.Failed, Reason: st.Reason,
		}
		for _, c := range info.Providers {
			p.CompiledIn = p.CompiledIn || c == gp.name
		}
		s.Providers = append(s.Providers, p)
	}
	return s
}

func probeCustomOp(flag string) CustomOp {
	path, err := customop.FindLibrary(flag)
	if err != nil {
		return CustomOp{Error: err.Error()}
	}
	c := CustomOp{Path: path}
	lo, hi, err := dlprobe.Range(path, customop.APIRangeSymbol)
	if err != nil {
		c.Error = err.Error() + " (a build older than this wtonnx: run `make customop`)"
		return c
	}
	c.APIMin, c.APIMax = lo, hi
	return c
}

// cpuFeatures lists the x86 features the Go engine's kernels and ONNX
// Runtime's choose between.
func cpuFeatures() []string {
	if goruntime.GOARCH != "amd64" {
		return []string{}
	}
	var out []string
	for _, f := range []struct {
		name string
		has  bool
	}{
		{"sse4.1", cpu.X86.HasSSE41}, {"sse4.2", cpu.X86.HasSSE42}, {"avx", cpu.X86.HasAVX},
		{"avx2", cpu.X86.HasAVX2}, {"fma", cpu.X86.HasFMA},
		{"avx512f", cpu.X86.HasAVX512F}, {"avx512bw", cpu.X86.HasAVX512BW}, {"avx512vl", cpu.X86.HasAVX512VL},
		{"avx512dq", cpu.X86.HasAVX512DQ}, {"avx512vnni", cpu.X86.HasAVX512VNNI}, {"avx512bf16", cpu.X86.HasAVX512BF16},
		{"avxvnni", cpu.X86.HasAVXVNNI}, {"amx-tile", cpu.X86.HasAMXTile},
	} {
		if f.has {
			out = append(out, f.name)
		}
	}
	if out == nil {
		out = []string{}
	}
	return out
}

// WriteText prints the report for a terminal.
func WriteText(w io.Writer, r Report) error {
	var b strings.Builder
	b.WriteString("ONNX Runtime\n")
	if len(r.ONNXRuntime) == 0 {
		b.WriteString("  none found: run `make setup` (CPU) or `make setup-gpu` (CUDA and TensorRT), or set " + ort.EnvLibrary + "\n")
	}
	for _, s := range r.ONNXRuntime {
		ver := s.Version
		if ver == "" {
			ver = "?"
		}
		fmt.Fprintf(&b, "  %s  %s  (%s", ver, s.Path, s.Source)
		if len(s.DefaultFor) > 0 {
			fmt.Fprintf(&b, "; used for --ep %s", strings.Join(s.DefaultFor, ", "))
		}
		b.WriteString(")\n")
		if s.Error != "" {
			fmt.Fprintf(&b, "    cannot be probed: %s\n", s.Error)
			continue
		}
		fmt.Fprintf(&b, "    compiled in: %s\n", strings.Join(s.CompiledIn, ", "))
		for _, p := range s.Providers {
			fmt.Fprintf(&b, "    %-9s ", p.EP+":")
			switch {
			case p.Loads:
				b.WriteString("provider libraries load (a session still needs a GPU and a recent driver)")
			case len(p.Missing) > 0:
				fmt.Fprintf(&b, "unavailable: %s not beside the core library (`make setup-gpu` fetches a matched GPU set)", strings.Join(p.Missing, ", "))
			default:
				fmt.Fprintf(&b, "unavailable: the loader cannot load %s: %s", p.FailedLibrary, p.Reason)
			}
			if !p.CompiledIn {
				b.WriteString(" [not compiled in]")
			}
			b.WriteByte('\n')
		}
	}
	b.WriteString("NVIDIA driver\n")
	switch {
	case r.GPU.Error != "" && r.GPU.DriverCUDA == "":
		fmt.Fprintf(&b, "  not usable: %s\n", r.GPU.Error)
	case r.GPU.Error != "":
		fmt.Fprintf(&b, "  supports CUDA %s, but %s\n", r.GPU.DriverCUDA, r.GPU.Error)
	default:
		fmt.Fprintf(&b, "  supports CUDA %s; GPUs: %s\n", r.GPU.DriverCUDA, strings.Join(r.GPU.Devices, ", "))
	}
	b.WriteString("Custom-op library (ai.wtonnx::WTConv)\n")
	switch {
	case r.CustomOp.Path == "":
		fmt.Fprintf(&b, "  not found: %s\n", r.CustomOp.Error)
	case r.CustomOp.Error != "":
		fmt.Fprintf(&b, "  %s: %s\n", r.CustomOp.Path, r.CustomOp.Error)
	default:
		// Newer releases still offer the older API versions.
		fmt.Fprintf(&b, "  %s\n  accepts ONNX Runtime C API %d..%d: ONNX Runtime 1.%d and newer\n",
			r.CustomOp.Path, r.CustomOp.APIMin, r.CustomOp.APIMax, r.CustomOp.APIMin)
	}
	b.WriteString("Go engine\n")
	build := "portable kernels"
	if r.GoEngine.Build == "vector" {
		build = "vector kernels (GOEXPERIMENT=simd)"
	}
	fmt.Fprintf(&b, "  %s, micro-kernel %s, %s\n  CPU features: %s\n", build, r.GoEngine.Kernels, r.GoEngine.GOARCH,
		strings.Join(r.GoEngine.CPUFeatures, " "))
	_, err := io.WriteString(w, b.String())
	return err
}
