package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/wtonnx/wtonnx/internal/atomicfile"
)

// outputFile is one file a command writes: the flag that names it, its
// path and the extensions that say what is written.
type outputFile struct {
	Flag string   // "-o", "--csv"
	Path string   // "" when not asked for
	Exts []string // allowed extensions, lower case with the dot; nil: any
}

// checkOutputs refuses, before any work, output paths that are an input, a
// directory, in a missing folder, have the wrong extension, or exist
// without --force. Every message names the flag.
func checkOutputs(force bool, inputs []string, outs ...outputFile) error {
	for i, o := range outs {
		if o.Path == "" {
			continue
		}
		for _, in := range inputs {
			if in != "" && samePath(in, o.Path) {
				return fmt.Errorf("%s %s: that is an input; inputs are never modified", o.Flag, o.Path)
			}
		}
		for _, p := range outs[:i] {
			if p.Path != "" && samePath(p.Path, o.Path) {
				return fmt.Errorf("%s and %s name the same file %s", p.Flag, o.Flag, o.Path)
			}
		}
		if err := atomicfile.Check(o.Path, o.options(force)); err != nil {
			return fmt.Errorf("%s: %w", o.Flag, err)
		}
	}
	return nil
}

func (o outputFile) options(force bool) atomicfile.Options {
	return atomicfile.Options{Overwrite: force, Exts: o.Exts, ForceFlag: "--force"}
}

// write writes o atomically; a failure leaves no file.
func (o outputFile) write(force bool, write func(io.Writer) error) error {
	return atomicfile.WriteFile(o.Path, o.options(force), write)
}

// samePath tells whether a and b name one file (both may be missing).
func samePath(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	ab, err2 := filepath.Abs(b)
	if err1 == nil && err2 == nil && aa == ab {
		return true
	}
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// plural is "1 layer" or "3 layers".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
