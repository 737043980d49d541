package verify

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/tensor"
)

// ModelLabelReference is the Subject.Model of saved reference outputs.
const ModelLabelReference = "reference"

// ReferenceSpec says where saved reference outputs come from: outputs
// produced elsewhere (by PyTorch, on another machine, by an earlier
// version), which every engine's outputs are compared with.
type ReferenceSpec struct {
	// Dir holds one .npy file per graph output, named as `wtonnx run -o
	// DIR` names them (see OutputFileNames).
	Dir string `json:"dir,omitempty"`
	// Files maps output names to .npy files; the key "" stands for the
	// model's only output. Only the outputs named are compared.
	Files map[string]string `json:"files,omitempty"`
}

// IsZero reports whether no reference is given.
func (r ReferenceSpec) IsZero() bool { return r.Dir == "" && len(r.Files) == 0 }

// String names the reference in the reports.
func (r ReferenceSpec) String() string {
	if r.Dir != "" {
		return r.Dir
	}
	paths := make([]string, 0, len(r.Files))
	for _, p := range r.Files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return strings.Join(paths, ",")
}

// OutputFileNames returns the .npy file name of each output, in the order
// given: characters other than letters, digits, '.', '-' and '_' become
// '_', leading '.' and '_' are dropped (no hidden files, no ".."), and a
// name that would repeat an earlier one gets "_2", "_3", ... `wtonnx run -o`
// writes outputs under these names and --reference DIR reads them back.
func OutputFileNames(names []string) []string {
	used := map[string]bool{}
	files := make([]string, len(names))
	for i, name := range names {
		base := sanitizeFileName(name)
		file := base + ".npy"
		for k := 2; used[file]; k++ {
			file = fmt.Sprintf("%s_%d.npy", base, k)
		}
		used[file] = true
		files[i] = file
	}
	return files
}

func sanitizeFileName(name string) string {
	b := []byte(name)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'
		if !ok {
			b[i] = '_'
		}
	}
	s := strings.TrimLeft(string(b), "._")
	if s == "" {
		s = "output"
	}
	return s
}

// loadReference reads the reference tensors spec names for the outputs of
// m, by output name.
func loadReference(m *onnxpb.ModelProto, spec ReferenceSpec) (map[string]*tensor.Tensor, error) {
	if spec.Dir != "" && len(spec.Files) > 0 {
		return nil, fmt.Errorf("reference: give a folder or files, not both")
	}
	var outputs []string
	for _, o := range m.GetGraph().GetOutput() {
		outputs = append(outputs, o.GetName())
	}
	files := map[string]string{}
	if spec.Dir != "" {
		st, err := os.Stat(spec.Dir)
		if err != nil {
			return nil, fmt.Errorf("reference: %w", err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("reference: %s is not a folder (give NAME=FILE.npy for a file)", spec.Dir)
		}
		for i, f := range OutputFileNames(outputs) {
			path := filepath.Join(spec.Dir, f)
			if _, err := os.Stat(path); err != nil {
				return nil, fmt.Errorf("reference: output %q: %s is missing (the folder should hold one .npy per output, as `wtonnx run -o DIR` writes)", outputs[i], path)
			}
			files[outputs[i]] = path
		}
	}
	for name, path := range spec.Files {
		if name == "" {
			if len(outputs) != 1 {
				return nil, fmt.Errorf("reference: %s has no output name and the model has %d outputs (%s); write NAME=FILE.npy", path, len(outputs), strings.Join(outputs, ", "))
			}
			name = outputs[0]
		}
		found := false
		for _, o := range outputs {
			found = found || o == name
		}
		if !found {
			return nil, fmt.Errorf("reference: %s is given for %q, which is not an output of the model (outputs: %s)", path, name, strings.Join(outputs, ", "))
		}
		if prev, dup := files[name]; dup {
			return nil, fmt.Errorf("reference: output %q is given twice (%s and %s)", name, prev, path)
		}
		files[name] = path
	}
	out := make(map[string]*tensor.Tensor, len(files))
	for name, path := range files {
		t, err := tensor.ReadNPY(path)
		if err != nil {
			return nil, fmt.Errorf("reference: output %q: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}
