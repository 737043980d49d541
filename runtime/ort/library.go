package ort

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	onnxruntime "github.com/yalue/onnxruntime_go"

	"github.com/wtonnx/wtonnx/internal/libfind"
)

// EnvLibrary is the environment variable naming the ONNX Runtime shared
// library when no explicit path is given.
const EnvLibrary = "WTONNX_ORT_LIB"

// LibraryFile is the file name of the ONNX Runtime core library on Linux.
const LibraryFile = "libonnxruntime.so.1"

// CacheDir is where `make setup` caches the library, relative to the
// repository root.
const CacheDir = ".cache/onnxruntime"

// GPUCacheDir is where `make setup-gpu` caches the GPU set (ONNX Runtime
// 1.29.0 with its CUDA and TensorRT provider libraries beside it), relative
// to the repository root.
const GPUCacheDir = ".cache/onnxruntime-gpu"

// ModulePath identifies the wtonnx repository root: the directory whose
// go.mod declares this module.
const ModulePath = libfind.ModulePath

// FindLibrary returns the path of the ONNX Runtime shared library to load:
// flag when it is not empty, else $WTONNX_ORT_LIB, else the copy cached by
// `make setup` at <repo>/.cache/onnxruntime/libonnxruntime.so.1 (the
// repository is found by walking up from the working directory and from the
// executable's directory), else libonnxruntime.so.1 beside the executable.
// An explicitly named file that does not exist is an error; so is finding
// nothing, with a message that says how to get the library.
// When only the GPU set of `make setup-gpu` is cached, it is used.
func FindLibrary(flag string) (string, error) {
	return FindLibraryFor(flag, EPCPU)
}

// FindLibraryFor is FindLibrary for execution provider ep: for "cuda",
// "tensorrt" and "auto" the GPU set cached by `make setup-gpu` at
// <repo>/.cache/onnxruntime-gpu/ comes before the CPU library (flag and
// $WTONNX_ORT_LIB still come first).
func FindLibraryFor(flag, ep string) (string, error) {
	cwd, _ := os.Getwd()
	exe, _ := os.Executable()
	return findLibraryFor(flag, os.Getenv(EnvLibrary), cwd, exe, ep)
}

func findLibrary(flag, env, cwd, exe string) (string, error) {
	return findLibraryFor(flag, env, cwd, exe, EPCPU)
}

func findLibraryFor(flag, env, cwd, exe, ep string) (string, error) {
	spec := librarySpec
	if wantsGPU(ep) {
		spec.CacheDir, spec.MoreCacheDirs = GPUCacheDir, []string{CacheDir}
	} else {
		spec.MoreCacheDirs = []string{GPUCacheDir}
	}
	return libfind.Find(spec, flag, env, cwd, exe)
}

// wantsGPU reports whether execution provider ep asks for a GPU.
func wantsGPU(ep string) bool {
	switch strings.ToLower(strings.TrimSpace(ep)) {
	case EPCUDA, EPTensorRT, EPAuto:
		return true
	}
	return false
}

// LibrarySet is one ONNX Runtime library wtonnx could load, and where it was
// found.
type LibrarySet struct {
	Path   string // as found (not resolved)
	Source string // "flag", "env WTONNX_ORT_LIB", "make setup", "make setup-gpu", "beside the executable"
}

// LibrarySets lists every ONNX Runtime library file FindLibraryFor can pick,
// for any execution provider, in search order and without duplicates (the
// same file reached twice is listed once): the one named by flag, by
// $WTONNX_ORT_LIB, the CPU and GPU caches of the repository above the
// working directory or the executable, and the copy beside the executable.
// Named files that do not exist are listed too, so that a caller can say so.
func LibrarySets(flag string) []LibrarySet {
	cwd, _ := os.Getwd()
	exe, _ := os.Executable()
	return librarySets(flag, os.Getenv(EnvLibrary), cwd, exe)
}

func librarySets(flag, env, cwd, exe string) []LibrarySet {
	var sets []LibrarySet
	seen := map[string]bool{}
	add := func(path, source string, mustExist bool) {
		if path == "" {
			return
		}
		key := path
		if r, err := resolvePath(path); err == nil {
			key = r
		}
		if seen[key] {
			return
		}
		if mustExist && libfind.CheckFile(path, LibraryFile) != nil {
			return
		}
		seen[key] = true
		sets = append(sets, LibrarySet{Path: path, Source: source})
	}
	add(flag, "flag", false)
	add(env, "env "+EnvLibrary, false)
	spec := librarySpec
	spec.MoreCacheDirs = []string{GPUCacheDir}
	for _, c := range spec.Candidates(cwd, exe) {
		source := map[string]string{CacheDir: "make setup", GPUCacheDir: "make setup-gpu", "": "beside the executable"}[c.Dir]
		add(c.Path, source, true)
	}
	return sets
}

var librarySpec = libfind.Spec{
	What: "ONNX Runtime library", File: LibraryFile, EnvVar: EnvLibrary, CacheDir: CacheDir,
	BesideExecutable: true,
	NotFound: func(where string) error {
		return fmt.Errorf("ONNX Runtime library not found (%s): run `make setup` in the wtonnx repository "+
			"to fetch and cache ONNX Runtime 1.30.0 at %s/%s (or `make setup-gpu` for the 1.29.0 GPU set at %s), "+
			"or set %s to the path of %s (ONNX Runtime 1.29 or newer)",
			where, CacheDir, LibraryFile, GPUCacheDir, EnvLibrary, LibraryFile)
	},
}

// checkFile reports whether path names an existing library file.
func checkFile(path string) error { return libfind.CheckFile(path, LibraryFile) }

// environment records which ONNX Runtime library this process loaded.
//
// This is the package's only mutable package-level state, and it exists
// because the thing it guards is itself process-global: the ONNX Runtime C
// library keeps a single OrtEnv per process, and onnxruntime_go holds that
// env, the dlopen handle and the OrtApi table in its own package variables
// (SetSharedLibraryPath / InitializeEnvironment / IsInitialized). Loading a
// second, different library into the same process is impossible, so the
// first successful Initialize wins and later calls must name the same file.
// The environment is never destroyed: engines may be opened and closed at any
// time for the life of the process.
var environment struct {
	mu      sync.Mutex
	path    string // resolved path of the loaded library; "" until loaded
	version string
}

// Initialize loads the ONNX Runtime shared library at path into the process
// and creates the ONNX Runtime environment, returning the library's version.
// Calling it again with the same file (after resolving symbolic links) does
// nothing; naming a different file is an error, because the runtime is
// process-global. Open calls it; call it directly only to learn the version.
func Initialize(path string) (string, error) {
	if path == "" {
		return "", errors.New("ort: no ONNX Runtime library path given (use FindLibrary)")
	}
	if err := checkFile(path); err != nil {
		return "", fmt.Errorf("ort: %w", err)
	}
	resolved, err := resolvePath(path)
	if err != nil {
		return "", fmt.Errorf("ort: %s: %w", path, err)
	}
	environment.mu.Lock()
	defer environment.mu.Unlock()
	if environment.path != "" {
		if environment.path != resolved {
			return "", fmt.Errorf("ort: ONNX Runtime is already loaded in this process from %s; cannot also load %s "+
				"(the runtime is process-global: use one library per process)", environment.path, resolved)
		}
		return environment.version, nil
	}
	if onnxruntime.IsInitialized() {
		// Some other code of this process initialised onnxruntime_go
		// directly; we cannot tell from which file.
		return "", fmt.Errorf("ort: the ONNX Runtime environment was initialised outside runtime/ort; cannot tell whether it is %s", resolved)
	}
	onnxruntime.SetSharedLibraryPath(resolved)
	if err := onnxruntime.InitializeEnvironment(onnxruntime.WithLogLevelError()); err != nil {
		return "", fmt.Errorf("ort: loading ONNX Runtime from %s failed (it must be a Linux x86-64 build of "+
			"ONNX Runtime 1.29 or newer; `make setup` fetches 1.30.0): %w", resolved, err)
	}
	environment.path = resolved
	environment.version = onnxruntime.GetVersion()
	return environment.version, nil
}

// LoadedLibrary returns the resolved path and version of the ONNX Runtime
// library loaded into this process, or empty strings before Initialize.
func LoadedLibrary() (path, version string) {
	environment.mu.Lock()
	defer environment.mu.Unlock()
	return environment.path, environment.version
}

func resolvePath(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}
