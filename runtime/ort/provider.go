package ort

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	onnxruntime "github.com/yalue/onnxruntime_go"
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

// providerError explains why a GPU execution provider could not be used and
// how to get it. cause is ONNX Runtime's own message.
type providerError struct {
	EP      string
	Missing []string // provider libraries absent beside the core library
	LibDir  string
	Version string
	Stage   string // "append" (loading the provider) or "session" (creating the session)
	Cause   error
}

func (e *providerError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ort: %s execution provider is not available", epLabel(e.EP))
	if len(e.Missing) > 0 {
		fmt.Fprintf(&b, ": %s missing from %s", strings.Join(e.Missing, ", "), e.LibDir)
	}
	fmt.Fprintf(&b, " (ONNX Runtime says: %s)", firstLine(e.Cause))
	fmt.Fprintf(&b, "; the %s provider needs %s of the same ONNX Runtime version (%s) beside %s: take them from the NuGet package "+
		"Microsoft.ML.OnnxRuntime.Gpu.Linux %s (runtimes/linux-x64/native/), with CUDA 12 and cuDNN 9 libraries on the loader path",
		epLabel(e.EP), strings.Join(providerLibraries(e.EP), ", "), e.Version, filepath.Join(e.LibDir, LibraryFile), e.Version)
	if e.EP == EPTensorRT {
		b.WriteString(" and TensorRT 10 (libnvinfer) as well")
	}
	return b.String()
}

func (e *providerError) Unwrap() error { return e.Cause }

// reason is the one-line explanation used in fallback notes.
func (e *providerError) reason() string {
	if len(e.Missing) > 0 {
		return strings.Join(e.Missing, ", ") + " not found beside " + LibraryFile
	}
	return firstLine(e.Cause)
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
