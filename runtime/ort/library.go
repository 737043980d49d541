package ort

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	onnxruntime "github.com/yalue/onnxruntime_go"
)

// EnvLibrary is the environment variable naming the ONNX Runtime shared
// library when no explicit path is given.
const EnvLibrary = "WTONNX_ORT_LIB"

// LibraryFile is the file name of the ONNX Runtime core library on Linux.
const LibraryFile = "libonnxruntime.so.1"

// CacheDir is where `make setup` caches the library, relative to the
// repository root.
const CacheDir = ".cache/onnxruntime"

// ModulePath identifies the wtonnx repository root: the directory whose
// go.mod declares this module.
const ModulePath = "github.com/wtonnx/wtonnx"

// FindLibrary returns the path of the ONNX Runtime shared library to load:
// flag when it is not empty, else $WTONNX_ORT_LIB, else the copy cached by
// `make setup` at <repo>/.cache/onnxruntime/libonnxruntime.so.1 (the
// repository is found by walking up from the working directory and from the
// executable's directory), else libonnxruntime.so.1 beside the executable.
// An explicitly named file that does not exist is an error; so is finding
// nothing, with a message that says how to get the library.
func FindLibrary(flag string) (string, error) {
	cwd, _ := os.Getwd()
	exe, _ := os.Executable()
	return findLibrary(flag, os.Getenv(EnvLibrary), cwd, exe)
}

func findLibrary(flag, env, cwd, exe string) (string, error) {
	if flag != "" {
		if err := checkFile(flag); err != nil {
			return "", fmt.Errorf("ONNX Runtime library given on the command line: %w", err)
		}
		return flag, nil
	}
	if env != "" {
		if err := checkFile(env); err != nil {
			return "", fmt.Errorf("ONNX Runtime library named by %s: %w", EnvLibrary, err)
		}
		return env, nil
	}
	var looked []string
	try := func(p string) bool {
		looked = append(looked, p)
		return checkFile(p) == nil
	}
	var exeDir string
	if exe != "" {
		exeDir = filepath.Dir(exe)
	}
	for _, start := range []string{cwd, exeDir} {
		if start == "" {
			continue
		}
		if root, ok := repoRoot(start); ok {
			p := filepath.Join(root, CacheDir, LibraryFile)
			if try(p) {
				return p, nil
			}
		}
	}
	if exeDir != "" {
		if p := filepath.Join(exeDir, LibraryFile); try(p) {
			return p, nil
		}
	}
	where := "no wtonnx repository (a go.mod of module " + ModulePath + ") above the working directory or the executable"
	if len(looked) > 0 {
		where = "looked at " + strings.Join(looked, ", ")
	}
	return "", fmt.Errorf("ONNX Runtime library not found (%s): run `make setup` in the wtonnx repository "+
		"to fetch and cache ONNX Runtime 1.30.0 at %s/%s, or set %s to the path of %s (ONNX Runtime 1.29 or newer)",
		where, CacheDir, LibraryFile, EnvLibrary, LibraryFile)
}

// checkFile reports whether path names an existing regular file.
func checkFile(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s: no such file", path)
		}
		return err
	}
	if st.IsDir() {
		return fmt.Errorf("%s is a directory, not the %s library file", path, LibraryFile)
	}
	return nil
}

// repoRoot walks up from dir to the directory whose go.mod declares
// ModulePath.
func repoRoot(dir string) (string, bool) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", false
	}
	for {
		if moduleOf(filepath.Join(dir, "go.mod")) == ModulePath {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// moduleOf returns the module path declared by a go.mod file, or "".
func moduleOf(gomod string) string {
	f, err := os.Open(gomod)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "module"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

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
