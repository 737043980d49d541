package ort

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	onnxruntime "github.com/yalue/onnxruntime_go"

	"github.com/wtonnx/wtonnx/internal/dlprobe"
)

// Execution provider names accepted in Options.EP.
const (
	EPCPU      = "cpu"
	EPCUDA     = "cuda"
	EPTensorRT = "tensorrt"
	EPAuto     = "auto"
)

// Provider libraries that ONNX Runtime loads from the directory of the core
// library when a GPU execution provider is requested.
const (
	providersShared   = "libonnxruntime_providers_shared.so"
	providersCUDA     = "libonnxruntime_providers_cuda.so"
	providersTensorRT = "libonnxruntime_providers_tensorrt.so"
)

// providerLibraries lists the provider shared libraries an EP needs.
func providerLibraries(ep string) []string {
	switch ep {
	case EPCUDA:
		return []string{providersShared, providersCUDA}
	case EPTensorRT:
		// The TensorRT EP is always paired with CUDA for the nodes TensorRT
		// does not take.
		return []string{providersShared, providersTensorRT, providersCUDA}
	}
	return nil
}

func epLabel(ep string) string {
	switch ep {
	case EPCUDA:
		return "CUDA"
	case EPTensorRT:
		return "TensorRT"
	}
	return "CPU"
}

// DoctorHint ends every message about an execution provider that cannot be
// used: `wtonnx doctor` lists, for each ONNX Runtime set found, which
// provider libraries load and the loader's reason when one does not.
const DoctorHint = "run `wtonnx doctor` to see what each ONNX Runtime set found can load"

// ProviderStatus is whether the shared libraries of one GPU execution
// provider load beside a given ONNX Runtime core library.
type ProviderStatus struct {
	EP        string   // "cuda" or "tensorrt"
	Libraries []string // provider libraries it needs beside the core library
	Missing   []string // those absent
	// Loads is true when every provider library is there and the loader
	// resolves all of their dependencies (CUDA, cuDNN, TensorRT, the
	// driver). Whether a GPU is present is only known to a session.
	Loads bool
	// Failed is the provider library the loader refused; Reason is the
	// loader's own message (dlerror), e.g. "libcudart.so.13: cannot open
	// shared object file: No such file or directory".
	Failed, Reason string
}

// DiagnoseProvider checks, without ONNX Runtime, whether execution provider
// ep's libraries sit in libDir and load: each provider library is dlopened
// (RTLD_NOW) the way ONNX Runtime loads it.
func DiagnoseProvider(libDir, ep string) ProviderStatus {
	st := ProviderStatus{EP: ep, Libraries: providerLibraries(ep), Missing: missingProviderLibraries(ep, libDir)}
	if len(st.Missing) > 0 {
		return st
	}
	// The shared bridge first and global, as ONNX Runtime does.
	for _, name := range append([]string{providersShared}, st.Libraries...) {
		if err := dlprobe.Load(filepath.Join(libDir, name), name == providersShared); err != nil {
			st.Failed, st.Reason = name, err.Error()
			return st
		}
	}
	st.Loads = true
	return st
}

// providerError explains why a GPU execution provider could not be used and
// how to get it. cause is ONNX Runtime's own message.
type providerError struct {
	EP      string
	Missing []string // provider libraries absent beside the core library
	LibDir  string
	Version string
	Stage   string // "append" (loading the provider) or "session" (creating the session)
	Cause   error
	// Loader is the dynamic loader's reason a present provider library
	// does not load ("" when it loads or is missing).
	Loader string
}

func newProviderError(ep, libDir, version, stage string, cause error) *providerError {
	pe := &providerError{EP: ep, LibDir: libDir, Version: version, Stage: stage, Cause: cause}
	st := DiagnoseProvider(libDir, ep)
	pe.Missing = st.Missing
	if st.Failed != "" {
		pe.Loader = "the loader cannot load " + st.Failed + ": " + st.Reason
	}
	return pe
}

func (e *providerError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ort: %s execution provider is not available: %s", epLabel(e.EP), e.reason())
	switch {
	case len(e.Missing) > 0:
		fmt.Fprintf(&b, "; the %s provider needs %s of the same ONNX Runtime version (%s) beside %s: run `make setup-gpu` "+
			"for the matched ONNX Runtime 1.29.0 GPU set, which --ep cuda|tensorrt|auto use when no library is named",
			epLabel(e.EP), strings.Join(providerLibraries(e.EP), ", "), e.Version, filepath.Join(e.LibDir, LibraryFile))
	case e.Loader != "":
		b.WriteString("; the 1.29.0 GPU set of `make setup-gpu` needs CUDA 13 (libcudart.so.13, libcublas.so.13, " +
			"libcublasLt.so.13, libcurand.so.10) and the NVIDIA driver's libcuda.so.1 on the loader path")
		if e.EP == EPTensorRT {
			b.WriteString(", and for TensorRT also libnvinfer.so.10, libnvonnxparser.so.10 and cuDNN 9 (libcudnn.so.9)")
		}
	}
	b.WriteString("; " + DoctorHint)
	return b.String()
}

func (e *providerError) Unwrap() error { return e.Cause }

// reason is the one-line explanation used in fallback notes.
func (e *providerError) reason() string {
	switch {
	case len(e.Missing) > 0:
		return strings.Join(e.Missing, ", ") + " not found beside " + filepath.Join(e.LibDir, LibraryFile)
	case e.Loader != "":
		return e.Loader
	}
	return "ONNX Runtime says: " + firstLine(e.Cause)
}

func firstLine(err error) string {
	if err == nil {
		return ""
	}
	s := strings.TrimSpace(err.Error())
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	return s
}

func missingProviderLibraries(ep, libDir string) []string {
	var missing []string
	for _, name := range providerLibraries(ep) {
		if _, err := os.Stat(filepath.Join(libDir, name)); err != nil {
			missing = append(missing, name)
		}
	}
	return missing
}

// appendProvider adds the execution provider ep (cuda or tensorrt) to so.
func appendProvider(so *onnxruntime.SessionOptions, ep string, deviceID int) error {
	dev := map[string]string{"device_id": strconv.Itoa(deviceID)}
	if ep == EPTensorRT {
		trt, err := onnxruntime.NewTensorRTProviderOptions()
		if err != nil {
			return fmt.Errorf("creating TensorRT provider options: %w", err)
		}
		defer trt.Destroy()
		if err := trt.Update(dev); err != nil {
			return fmt.Errorf("setting TensorRT device_id %d: %w", deviceID, err)
		}
		if err := so.AppendExecutionProviderTensorRT(trt); err != nil {
			return err
		}
	}
	cuda, err := onnxruntime.NewCUDAProviderOptions()
	if err != nil {
		return fmt.Errorf("creating CUDA provider options: %w", err)
	}
	defer cuda.Destroy()
	if err := cuda.Update(dev); err != nil {
		return fmt.Errorf("setting CUDA device_id %d: %w", deviceID, err)
	}
	return so.AppendExecutionProviderCUDA(cuda)
}
