package convert_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/convert"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/testmodels"
)

// TestCheckerAcceptsConvertedModels saves every fixture converted in every
// form and runs the reference ONNX checker (full check) on the files.
func TestCheckerAcceptsConvertedModels(t *testing.T) {
	py := os.Getenv("WTONNX_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	if out, err := exec.Command(py, "-c", "import onnx").CombinedOutput(); err != nil {
		t.Fatalf("%s cannot import onnx (%v: %s): apt-get install python3-onnx, or set WTONNX_PYTHON", py, err, strings.TrimSpace(string(out)))
	}
	fixtures, err := testmodels.All()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var paths []string
	for _, f := range fixtures {
		m, err := onnxmodel.Load(f.ModelPath())
		if err != nil {
			t.Fatal(err)
		}
		for _, format := range allFormats {
			if format == convert.FormatFunction && f.Meta.Opset < 10 {
				continue
			}
			c, _, err := convert.Convert(m, convert.Options{Init: convert.InitRandom, Seed: 1, Levels: 2, Format: format})
			if err != nil {
				t.Fatalf("%s %s: %v", f.Name, format, err)
			}
			p := filepath.Join(dir, f.Name+"_"+string(format)+".onnx")
			if err := onnxmodel.Save(c, p, onnxmodel.SaveOptions{}); err != nil {
				t.Fatal(err)
			}
			paths = append(paths, p)
		}
	}
	out, err := exec.Command(py, append([]string{"../scripts/onnx_check.py"}, paths...)...).CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("the ONNX checker rejected a converted model: %v", err)
	}
	if n := strings.Count(string(out), "OK "); n != len(paths) {
		t.Fatalf("checker passed %d of %d models (the others were skipped)", n, len(paths))
	}
}
