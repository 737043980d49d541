package reference

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/wtonnx/wtonnx/tensor"
)

// Export is one whole model that already holds WTConv layers, exported by
// torch.onnx.export: the shared cases (../shared/reference/exported, the
// authors' WTConv2d) and wtonnx's own (testmodels/exported, made by
// testmodels/gen/exported.py). Its folder holds model.onnx, x.npy, y.npy,
// case.json and weights.safetensors.
type Export struct {
	Name    string        `json:"name"`
	Dir     string        `json:"-"`
	Opset   int           `json:"opset"`
	Dynamic string        `json:"dynamic"` // none, batch or all
	Wavelet string        `json:"wavelet"`
	Layers  []ExportLayer `json:"wtconv_layers"`
}

// ExportLayer is one WTConv2d module of an export.
type ExportLayer struct {
	Module  string `json:"module"`
	C       int    `json:"C"`
	Kernel  int    `json:"kernel"`
	Levels  int    `json:"levels"`
	Stride  int    `json:"stride"`
	Bias    bool   `json:"bias"`
	Wavelet string `json:"wavelet"`
}

// ModelPath, WeightsPath: the export's files.
func (e Export) ModelPath() string   { return filepath.Join(e.Dir, "model.onnx") }
func (e Export) WeightsPath() string { return filepath.Join(e.Dir, "weights.safetensors") }

// Data reads x.npy and y.npy (PyTorch's output for x).
func (e Export) Data() (x, y *tensor.Tensor, err error) {
	if x, err = tensor.ReadNPY(filepath.Join(e.Dir, "x.npy")); err != nil {
		return nil, nil, err
	}
	if y, err = tensor.ReadNPY(filepath.Join(e.Dir, "y.npy")); err != nil {
		return nil, nil, err
	}
	return x, y, nil
}

// Layer returns the layer of module path m, or nil.
func (e Export) Layer(m string) *ExportLayer {
	for i := range e.Layers {
		if e.Layers[i].Module == m {
			return &e.Layers[i]
		}
	}
	return nil
}

// SharedExportsDir is the folder of the shared exports.
func SharedExportsDir() string {
	return filepath.Join(repoDir(), "..", "shared", "reference", "exported")
}

// OwnExportsDir is the folder of wtonnx's exports.
func OwnExportsDir() string { return filepath.Join(repoDir(), "testmodels", "exported") }

// SharedExports returns the shared exports; it fails when there are none.
func SharedExports() ([]Export, error) { return loadExports(SharedExportsDir()) }

// Exports returns the shared exports followed by wtonnx's own.
func Exports() ([]Export, error) {
	shared, err := SharedExports()
	if err != nil {
		return nil, err
	}
	own, err := loadExports(OwnExportsDir())
	if err != nil {
		return nil, err
	}
	return append(shared, own...), nil
}

func loadExports(root string) ([]Export, error) {
	paths, err := filepath.Glob(filepath.Join(root, "*", "case.json"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no exported cases under %s (shared/ must sit beside the repository)", root)
	}
	sort.Strings(paths)
	var out []Export
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var e Export
		if err := json.Unmarshal(b, &e); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		e.Dir = filepath.Dir(p)
		out = append(out, e)
	}
	return out, nil
}
