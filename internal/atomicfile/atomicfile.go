// Package atomicfile is wtonnx's one way to write a file: through a
// temporary file beside the destination that becomes the destination only
// when it is complete, so that a failure (or a crash) leaves no partial file
// and no temporary file behind.
//
// Check validates a destination before any work is done (it exists as a
// folder, is not itself a folder, has an expected extension, is not there
// already unless overwriting is allowed); Create repeats those checks, so a
// caller that forgot Check still fails before writing.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Options say what may be written where.
type Options struct {
	// Overwrite allows replacing an existing file (never a folder).
	Overwrite bool
	// Exts, when not empty, lists the extensions (".png", lower case) the
	// destination may have; what is written is chosen by it or must match it.
	Exts []string
	// ForceFlag names the option that sets Overwrite, for the message that
	// refuses an existing file ("--force"); empty: no hint.
	ForceFlag string
}

// ExistsError says that the destination exists and may not be replaced.
// errors.Is(err, fs.ErrExist) holds for it.
type ExistsError struct {
	Path, ForceFlag string
}

func (e *ExistsError) Error() string {
	if e.ForceFlag != "" {
		return fmt.Sprintf("%s already exists (use %s to overwrite it)", e.Path, e.ForceFlag)
	}
	return fmt.Sprintf("%s already exists (refusing to overwrite it)", e.Path)
}

// Is makes errors.Is(err, fs.ErrExist) true.
func (e *ExistsError) Is(target error) bool { return target == fs.ErrExist }

// Check reports why path cannot be written with opts, or nil.
func Check(path string, opts Options) error {
	if path == "" {
		return errors.New("no output file given")
	}
	st, err := os.Lstat(path)
	switch {
	case err == nil && st.IsDir():
		return fmt.Errorf("%s is a directory; give a file name", path)
	case err == nil && !opts.Overwrite:
		return &ExistsError{Path: path, ForceFlag: opts.ForceFlag}
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if len(opts.Exts) > 0 {
		ext := strings.ToLower(filepath.Ext(path))
		ok := false
		for _, e := range opts.Exts {
			ok = ok || ext == e
		}
		if !ok {
			return fmt.Errorf("%s: the file name must end in %s (the extension says what is written)", path, strings.Join(opts.Exts, " or "))
		}
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("cannot write %s: the folder %s does not exist", path, dir)
	}
	return nil
}

// File is a file being written; it becomes the destination on Commit and
// disappears on Abort.
type File struct {
	f         *os.File
	path      string
	opts      Options
	committed bool
	aborted   bool
}

// Create checks path (see Check) and opens a temporary file beside it.
// Every Create must be followed by Commit or Abort (Abort after Commit does
// nothing, so `defer f.Abort()` is the usual pattern).
func Create(path string, opts Options) (*File, error) {
	if err := Check(path, opts); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	// CreateTemp makes the file private; what wtonnx writes is not.
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	return &File{f: tmp, path: path, opts: opts}, nil
}

// Write writes to the temporary file.
func (f *File) Write(p []byte) (int, error) { return f.f.Write(p) }

// Path is the destination.
func (f *File) Path() string { return f.path }

// Commit syncs and closes the temporary file and moves it to the
// destination. Without Overwrite it links rather than renames, so that a
// file that appeared at the destination meanwhile is not replaced.
func (f *File) Commit() error {
	if f.committed || f.aborted {
		return fmt.Errorf("writing %s: file already committed or aborted", f.path)
	}
	if err := f.f.Sync(); err != nil {
		f.Abort()
		return fmt.Errorf("writing %s: %w", f.path, err)
	}
	if err := f.f.Close(); err != nil {
		f.Abort()
		return fmt.Errorf("writing %s: %w", f.path, err)
	}
	if err := move(f.f.Name(), f.path, f.opts); err != nil {
		f.aborted = true
		os.Remove(f.f.Name())
		return err
	}
	f.committed = true
	return nil
}

// Abort removes the temporary file; after Commit it does nothing.
func (f *File) Abort() {
	if f.committed || f.aborted {
		return
	}
	f.aborted = true
	f.f.Close()
	os.Remove(f.f.Name())
}

// Remove deletes a committed destination (to undo a multi-file write whose
// later part failed); before Commit it is Abort.
func (f *File) Remove() {
	if f.committed {
		os.Remove(f.path)
		f.committed = false
		f.aborted = true
		return
	}
	f.Abort()
}

func move(tmp, path string, opts Options) error {
	if st, err := os.Lstat(path); err == nil && st.IsDir() {
		return fmt.Errorf("%s is a directory; give a file name", path)
	}
	if opts.Overwrite {
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		return nil
	}
	exists := func() error { return &ExistsError{Path: path, ForceFlag: opts.ForceFlag} }
	err := os.Link(tmp, path)
	switch {
	case err == nil:
		os.Remove(tmp)
		return nil
	case errors.Is(err, fs.ErrExist):
		return exists()
	}
	// Hard links unsupported here: check, then rename.
	if _, serr := os.Lstat(path); serr == nil {
		return exists()
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// WriteFile writes path atomically with what write produces.
func WriteFile(path string, opts Options, write func(io.Writer) error) error {
	f, err := Create(path, opts)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := write(f); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Commit()
}
