// Package libfind locates the native libraries wtonnx loads (ONNX Runtime,
// the WTConv custom-op library): an explicit path, else an environment
// variable, else the copy the Makefile caches under the repository's .cache
// folder, the repository being found above the working directory or the
// executable.
package libfind

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ModulePath identifies the wtonnx repository root: the directory whose
// go.mod declares this module.
const ModulePath = "github.com/wtonnx/wtonnx"

// Spec describes one library.
type Spec struct {
	What     string // "ONNX Runtime library", used in messages
	File     string // file name, e.g. libonnxruntime.so.1
	EnvVar   string // environment variable naming the file
	CacheDir string // folder under the repository root
	// MoreCacheDirs are tried, in order, after CacheDir (ONNX Runtime: the
	// GPU set of `make setup-gpu` beside the CPU library of `make setup`).
	MoreCacheDirs []string
	// BesideExecutable also accepts File in the executable's folder.
	BesideExecutable bool
	// NotFound builds the error for "nothing found"; where lists what was
	// looked at.
	NotFound func(where string) error
}

// Find applies the search order to the given flag, environment value,
// working directory and executable path (parameters, so tests need not
// touch the process's environment).
func Find(s Spec, flag, env, cwd, exe string) (string, error) {
	if flag != "" {
		if err := CheckFile(flag, s.File); err != nil {
			return "", fmt.Errorf("%s given on the command line: %w", s.What, err)
		}
		return flag, nil
	}
	if env != "" {
		if err := CheckFile(env, s.File); err != nil {
			return "", fmt.Errorf("%s named by %s: %w", s.What, s.EnvVar, err)
		}
		return env, nil
	}
	var looked []string
	for _, c := range s.Candidates(cwd, exe) {
		looked = append(looked, c.Path)
		if CheckFile(c.Path, s.File) == nil {
			return c.Path, nil
		}
	}
	where := "no wtonnx repository (a go.mod of module " + ModulePath + ") above the working directory or the executable"
	if len(looked) > 0 {
		where = "looked at " + strings.Join(looked, ", ")
	}
	return "", s.NotFound(where)
}

// Candidate is a place Find looks at after the flag and the environment.
type Candidate struct {
	Path string
	// Dir is the cache folder (CacheDir or one of MoreCacheDirs) the path
	// is in, "" for the copy beside the executable.
	Dir string
}

// Candidates lists, in search order and without repeats, the cached copies
// under the repository above cwd and above the executable, then the copy
// beside the executable (when BesideExecutable). They may not exist.
func (s Spec) Candidates(cwd, exe string) []Candidate {
	var out []Candidate
	seen := map[string]bool{}
	add := func(p, dir string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, Candidate{Path: p, Dir: dir})
		}
	}
	var exeDir string
	if exe != "" {
		exeDir = filepath.Dir(exe)
	}
	for _, start := range []string{cwd, exeDir} {
		if start == "" {
			continue
		}
		if root, ok := RepoRoot(start); ok {
			for _, dir := range append([]string{s.CacheDir}, s.MoreCacheDirs...) {
				add(filepath.Join(root, dir, s.File), dir)
			}
		}
	}
	if s.BesideExecutable && exeDir != "" {
		add(filepath.Join(exeDir, s.File), "")
	}
	return out
}

// CheckFile reports whether path names an existing file (not a folder).
func CheckFile(path, file string) error {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s: no such file", path)
		}
		return err
	}
	if st.IsDir() {
		return fmt.Errorf("%s is a directory, not the %s library file", path, file)
	}
	return nil
}

// RepoRoot walks up from dir to the directory whose go.mod declares
// ModulePath.
func RepoRoot(dir string) (string, bool) {
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
