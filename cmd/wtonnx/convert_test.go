package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/provenance"
)

const refDir = "../../../shared/reference/wtconv-official"

// runCLI runs the command line in-process.
func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestConvertBadInputs(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.onnx")
	if err := os.WriteFile(garbage, []byte("this is not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	existing := filepath.Join(dir, "exists.onnx")
	if err := os.WriteFile(existing, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	even := filepath.Join(refDir, "even_c6_k5_l2")
	basic := filepath.Join(refDir, "basic_c4_k3_l1")
	src := filepath.Join(even, "source.onnx")
	for _, c := range []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"missing model", []string{"convert", filepath.Join(dir, "nope.onnx")}, "nope.onnx"},
		{"corrupt model", []string{"convert", garbage}, "not a valid ONNX model"},
		{"levels zero", []string{"convert", src, "--levels", "0"}, "--levels"},
		{"levels word", []string{"convert", src, "--levels", "many"}, "--levels"},
		{"unknown init", []string{"convert", src, "--init", "magic"}, `--init "magic"`},
		{"unknown format", []string{"convert", src, "--format", "fused"}, `--format "fused"`},
		{"import without weights", []string{"convert", src, "--init", "import"}, "--init import needs --weights"},
		{"weights without import", []string{"convert", src, "--weights", filepath.Join(even, "weights.safetensors")}, "--init import"},
		{"missing checkpoint", []string{"convert", src, "--init", "import", "--weights", filepath.Join(dir, "none.safetensors")}, "none.safetensors"},
		{"checkpoint of another layer", []string{"convert", src, "--init", "import", "--weights", filepath.Join(basic, "weights.safetensors")}, "channels"},
		{"checkpoint levels disagree", []string{"convert", src, "--init", "import", "--levels", "3", "--weights", filepath.Join(even, "weights.safetensors")}, "levels"},
		{"checkpoint prefix absent", []string{"convert", src, "--init", "import", "--weights-prefix", `^layer\.=other.`, "--weights", filepath.Join(even, "weights.safetensors")}, "other."},
		{"levels too deep for the size", []string{"convert", src, "--levels", "6"}, "level"},
		{"bad regex", []string{"convert", src, "--select", "("}, "--select"},
		{"bad input shape", []string{"convert", src, "--input-shape", "x=1xAx3"}, "input shape"},
		{"output exists", []string{"convert", src, "-o", existing}, "already exists"},
		{"output is input", []string{"convert", src, "-o", src, "--force"}, "that is an input"},
		{"output folder missing", []string{"convert", src, "-o", filepath.Join(dir, "no", "such", "out.onnx")}, "does not exist"},
		{"report output folder missing", []string{"report", src, src, "-o", filepath.Join(dir, "no", "r.html")}, "does not exist"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".onnx")
			args := c.args
			if !contains(args, "-o") {
				args = append(args, "-o", out)
			}
			code, _, stderr := runCLI(args...)
			if code != 2 {
				t.Fatalf("exit %d, want 2 (stderr %q)", code, stderr)
			}
			if !strings.Contains(stderr, c.want) {
				t.Fatalf("stderr %q does not mention %q", stderr, c.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Fatalf("an output file was written")
			}
		})
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep" {
		t.Fatal("an existing file was overwritten")
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
	if len(leftovers) > 0 {
		t.Fatalf("temporary files left behind: %v", leftovers)
	}
}

func contains(v []string, s string) bool {
	for _, x := range v {
		if x == s {
			return true
		}
	}
	return false
}

func TestConvertNoCandidateKeepsGraph(t *testing.T) {
	src := "../../testmodels/regnet/model.onnx"
	out := filepath.Join(t.TempDir(), "regnet.onnx")
	code, stdout, stderr := runCLI("convert", src, "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "nothing converted") || !strings.Contains(stderr, "grouped but not depthwise") {
		t.Fatalf("warning missing or without reason: %q", stderr)
	}
	// The graph is the input's; only the producer and the provenance
	// differ.
	in, err := onnxmodel.Load(src)
	if err != nil {
		t.Fatal(err)
	}
	got, err := onnxmodel.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(in.GetGraph(), got.GetGraph()) {
		t.Error("the unchanged model's graph differs from the input's")
	}
	rec, ok := provenance.Read(got)
	if !ok || rec.Command != "convert" || rec.SourceProducer != in.GetProducerName() || got.GetProducerName() != "wtonnx" {
		t.Errorf("provenance %+v, producer %q", rec, got.GetProducerName())
	}
	if !strings.Contains(stdout, "Left as they are") {
		t.Fatalf("summary does not list the skipped convs: %s", stdout)
	}
}

func TestConvertDryRunWritesNothing(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.onnx")
	code, stdout, stderr := runCLI("convert", "../../testmodels/mobilenet_v2/model.onnx", "-o", out, "--dry-run", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, `"converted": [`) {
		t.Fatalf("no JSON plan: %s", stdout)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("dry run wrote a file")
	}
}

func TestInspectJSON(t *testing.T) {
	code, stdout, stderr := runCLI("inspect", "../../testmodels/mobilenet_v2/model.onnx", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{`"ir_version"`, `"candidates": 17`, `"convs"`} {
		if !strings.Contains(stdout, want) {
			t.Fatalf("JSON lacks %s", want)
		}
	}
	code, _, stderr = runCLI("inspect", "../../testmodels/nope.onnx")
	if code != 2 || !strings.Contains(stderr, "nope.onnx") {
		t.Fatalf("missing model: exit %d, %q", code, stderr)
	}
}

// TestConvertExternalData writes the converted model with its large
// tensors in a side file, and checks that it loads and computes what the
// inline one does.
func TestConvertExternalData(t *testing.T) {
	dir := t.TempDir()
	src := "../../testmodels/convnext/model.onnx"
	inline, ext := filepath.Join(dir, "inline.onnx"), filepath.Join(dir, "ext.onnx")
	for _, args := range [][]string{
		{"convert", src, "-o", inline, "--init", "random", "--seed", "2"},
		{"convert", src, "-o", ext, "--init", "random", "--seed", "2", "--external-data-threshold", "4096"},
	} {
		if code, _, stderr := runCLI(args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
	}
	a, _ := os.Stat(inline)
	b, _ := os.Stat(ext)
	d, err := os.Stat(ext + ".data")
	if err != nil {
		t.Fatalf("no external data file: %v", err)
	}
	if b.Size() >= a.Size()/4 || d.Size() < a.Size()/2 {
		t.Fatalf("sizes: inline %d, external model %d + data %d", a.Size(), b.Size(), d.Size())
	}
	code, stdout, stderr := runCLI("verify", inline, ext, "--engines", "ort,go")
	if code != 0 {
		t.Fatalf("verify inline vs external: exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// A model with nothing to convert is copied, but one whose tensors live in
// an external data file is saved whole (a copy of its .onnx alone would
// refer to a data file that is not beside it), and the output is readable
// by others like any file os.Create makes.
func TestConvertNoCandidateExternalDataElsewhere(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	ext := filepath.Join(a, "ext.onnx")
	if code, _, stderr := runCLI("convert", "../../testmodels/mobilenet_v2/model.onnx", "-o", ext, "--external-data-threshold", "1024"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, c := range []struct {
		src  string
		args []string
	}{
		{ext, []string{"--select", "no such node"}},
		{"../../testmodels/regnet/model.onnx", nil},
	} {
		out := filepath.Join(b, filepath.Base(c.src)+".copy.onnx")
		args := append([]string{"convert", c.src, "-o", out}, c.args...)
		if code, _, stderr := runCLI(args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		if code, _, stderr := runCLI("inspect", out); code != 0 {
			t.Fatalf("%v: the output cannot be read: exit %d: %s", args, code, stderr)
		}
		st, err := os.Stat(out)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != 0o644 {
			t.Errorf("%v: %s has mode %v, want -rw-r--r--", args, out, got)
		}
	}
}

// The output checks shared by convert, erf and report speak for the command
// that ran, not always for convert.
func TestOutputPathErrorsNameNoOtherCommand(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "exists.png")
	if err := os.WriteFile(existing, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(refDir, "basic_c4_k3_l1", "source.onnx")
	for _, args := range [][]string{
		{"erf", src, "-o", existing},
		{"erf", src, "-o", src, "--force"},
		{"report", src, src + ".x", "-o", existing},
	} {
		code, _, stderr := runCLI(args...)
		if code != 2 || strings.Contains(stderr, "convert:") {
			t.Errorf("%v: exit %d, %q", args, code, stderr)
		}
	}
}

func TestConvertHelpListsEveryFormat(t *testing.T) {
	_, stdout, _ := runCLI("convert", "--help")
	i := strings.Index(stdout, "--format string")
	if i < 0 {
		t.Fatalf("no --format flag in the help: %s", stdout)
	}
	if line := strings.SplitN(stdout[i:], "\n", 2)[0]; !strings.Contains(line, "function") {
		t.Errorf("the --format flag's help does not list the function form: %q", line)
	}
}
