package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestMistakesFailBeforeWork runs every command-line mistake the commands
// know about against a model file that does not exist: each must exit
// non-zero with a message naming the flag (or file) and not the missing
// model, which proves it was caught before any work, and leave no output.
func TestMistakesFailBeforeWork(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "missing-model.onnx")
	adir := filepath.Join(dir, "adir")
	adirONNX := filepath.Join(dir, "adir.onnx")
	for _, d := range []string{adir, adirONNX} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	afile := filepath.Join(dir, "afile.txt")
	if err := os.WriteFile(afile, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := func(name string) string { return filepath.Join(dir, name) }
	cases := []struct {
		name   string
		args   []string
		want   []string
		output string // must not exist afterwards
	}{
		{"convert kernel 0", []string{"convert", model, "-o", out("k0.onnx"), "--kernel", "0"}, []string{"--kernel 0", "1 to 31"}, out("k0.onnx")},
		{"convert kernel word", []string{"convert", model, "-o", out("kw.onnx"), "--kernel", "abc"}, []string{`--kernel "abc"`, "whole number", "Run 'wtonnx convert --help'"}, out("kw.onnx")},
		{"convert seed without random", []string{"convert", model, "-o", out("s.onnx"), "--seed", "5"}, []string{"--seed", "--init random"}, out("s.onnx")},
		{"convert negative threshold", []string{"convert", model, "-o", out("t.onnx"), "--external-data-threshold", "-1"}, []string{"--external-data-threshold -1"}, out("t.onnx")},
		{"convert negative min kernel", []string{"convert", model, "-o", out("m.onnx"), "--min-kernel", "-2"}, []string{"--min-kernel -2"}, out("m.onnx")},
		{"convert weights without import", []string{"convert", model, "-o", out("w.onnx"), "--weights", "w.npz"}, []string{"--weights", "--init import"}, out("w.onnx")},
		{"convert prefix without import", []string{"convert", model, "-o", out("p.onnx"), "--weights-prefix", "a=b"}, []string{"--weights-prefix", "--init import"}, out("p.onnx")},
		{"convert import without weights", []string{"convert", model, "-o", out("i.onnx"), "--init", "import"}, []string{"--init import", "--weights"}, out("i.onnx")},
		{"convert unknown format", []string{"convert", model, "-o", out("f.onnx"), "--format", "fused"}, []string{`--format "fused"`}, out("f.onnx")},
		{"convert levels zero", []string{"convert", model, "-o", out("l.onnx"), "--levels", "0"}, []string{"--levels", `"0"`}, out("l.onnx")},
		{"convert bad input shape", []string{"convert", model, "-o", out("is.onnx"), "--input-shape", "x=1xAx3"}, []string{"--input-shape", `"A"`}, out("is.onnx")},
		{"convert output a directory", []string{"convert", model, "-o", adirONNX, "--force"}, []string{"-o", adirONNX, "is a directory"}, ""},
		{"convert output a directory without extension", []string{"convert", model, "-o", adir, "--force"}, []string{"-o", adir, "is a directory"}, ""},
		{"convert output not .onnx", []string{"convert", model, "-o", out("x.txt")}, []string{"-o", "x.txt", ".onnx"}, out("x.txt")},
		{"convert output folder missing", []string{"convert", model, "-o", out("no/x.onnx")}, []string{"-o", "does not exist"}, out("no/x.onnx")},
		{"convert dry run with force", []string{"convert", model, "--dry-run", "--force"}, []string{"--force", "--dry-run"}, ""},
		{"convert dry run with threshold", []string{"convert", model, "--dry-run", "--external-data-threshold", "10"}, []string{"--external-data-threshold", "--dry-run"}, ""},
		{"convert unknown flag", []string{"convert", model, "--bogus"}, []string{"--bogus", "Run 'wtonnx convert --help'"}, ""},
		{"erf output jpeg-less gif", []string{"erf", model, "-o", out("e.gif")}, []string{"-o", "e.gif", ".png or .jpg or .jpeg"}, out("e.gif")},
		{"erf output a directory", []string{"erf", model, "-o", adir, "--force"}, []string{"-o", adir, "is a directory"}, ""},
		{"erf csv extension", []string{"erf", model, "--csv", out("e.txt")}, []string{"--csv", ".csv"}, out("e.txt")},
		{"erf positions", []string{"erf", model, "-o", out("p.png"), "--positions", "0"}, []string{"--positions 0"}, out("p.png")},
		{"erf size", []string{"erf", model, "-o", out("s.png"), "--size", "-1"}, []string{"--size -1"}, out("s.png")},
		{"erf same file twice", []string{"erf", model, "-o", out("same.png"), "--csv", out("same.png")}, []string{"same file"}, out("same.png")},
		{"report pdf", []string{"report", model, model + "2", "-o", out("r.pdf")}, []string{"-o", "r.pdf", ".html"}, out("r.pdf")},
		{"report output a directory", []string{"report", model, model + "2", "-o", adir, "--force"}, []string{"-o", adir, "is a directory"}, ""},
		{"report negative iters", []string{"report", model, model + "2", "-o", out("r1.html"), "--iters", "-1"}, []string{"--iters -1"}, out("r1.html")},
		{"report unknown engine", []string{"report", model, model + "2", "-o", out("r2.html"), "--engines", "ort,tpu"}, []string{"--engines", `"tpu"`}, out("r2.html")},
		{"report negative threads", []string{"report", model, model + "2", "-o", out("r3.html"), "--threads", "-2"}, []string{"--threads -2"}, out("r3.html")},
		{"report bad input shape", []string{"report", model, model + "2", "-o", out("r4.html"), "--input-shape", "abc"}, []string{"--input-shape", `"abc"`}, out("r4.html")},
		{"run unknown engine", []string{"run", model, "--engine", "tpu"}, []string{"--engine", `"tpu"`}, ""},
		{"run negative threads", []string{"run", model, "--threads", "-1"}, []string{"--threads -1"}, ""},
		{"run output dir is a file", []string{"run", model, "-o", afile}, []string{"-o", afile, "is a file"}, ""},
		{"run seed word", []string{"run", model, "--seed", "x"}, []string{`--seed "x"`, "whole number"}, ""},
		{"bench zero iters", []string{"bench", model, "--iters", "0"}, []string{"--iters 0"}, ""},
		{"bench negative warmup", []string{"bench", model, "--warmup", "-1"}, []string{"--warmup -1"}, ""},
		{"bench unknown engine", []string{"bench", model, "--engine", "tpu"}, []string{"--engine", `"tpu"`}, ""},
		{"bench dist", []string{"bench", model, "--input-shape", "x"}, []string{"--input-shape"}, ""},
		{"inspect bad input shape", []string{"inspect", model, "--input-shape", "x=0"}, []string{"--input-shape"}, ""},
		{"inspect vs with keep", []string{"inspect", model, "--vs", model, "--keep-overridable-weights"}, []string{"--keep-overridable-weights", "--vs"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(c.args...)
			if code == 0 {
				t.Fatalf("exit 0 (stdout %q)", stdout)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not mention %q", stderr, w)
				}
			}
			if strings.Contains(stderr, "missing-model.onnx") {
				t.Errorf("stderr %q names the model: the mistake was not caught before loading it", stderr)
			}
			if strings.Contains(stderr, "strconv.") {
				t.Errorf("stderr %q leaks Go's parse error", stderr)
			}
			if c.output != "" {
				if _, err := os.Stat(c.output); err == nil {
					t.Errorf("%s was written", c.output)
				}
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.Contains(e.Name(), ".tmp") {
					t.Errorf("temporary file %s left behind", e.Name())
				}
			}
		})
	}
}

// TestFlagPlaceholders: a flag's value placeholder in --help is one word
// (pflag takes the first back-quoted text of the usage as the placeholder,
// which once read "--ort-lib make setup").
func TestFlagPlaceholders(t *testing.T) {
	root := newRootCmd(nil, nil)
	for _, c := range root.Commands() {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			name, _ := pflag.UnquoteUsage(f)
			if strings.ContainsAny(name, " '") {
				t.Errorf("%s --%s: placeholder %q", c.Name(), f.Name, name)
			}
		})
	}
}

// TestTextAndJSONFixes: the wording and JSON shapes issue 11 fixed.
func TestTextAndJSONFixes(t *testing.T) {
	dir := t.TempDir()
	// The external data file is named on save.
	out := filepath.Join(dir, "m.onnx")
	code, stdout, stderr := runCLI("convert", "../../testmodels/mobilenet_v2/model.onnx", "-o", out, "--external-data-threshold", "1024")
	if code != 0 || !strings.Contains(stdout, "Wrote "+out+" (with its external data in "+out+".data)") || !strings.Contains(stdout, "Converted 17 layers") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	// Converting the result again: one line for the 135 convs inside layers.
	code, stdout, _ = runCLI("convert", out, "-o", filepath.Join(dir, "again.onnx"))
	if code != 0 || strings.Count(stdout, "parts of the 17 WTConv layers") != 1 || strings.Count(stdout, "\n") > 6 {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	// inspect --json: dtype float32, unknown sizes null.
	code, stdout, stderr = runCLI("inspect", "../../testmodels/mobilenet_v2_dynamic/model.onnx", "--json")
	if code != 0 {
		t.Fatalf("inspect: %s", stderr)
	}
	var s struct {
		Inputs []struct {
			DType string `json:"dtype"`
		} `json:"inputs"`
		Convs []struct {
			InputHW []*int64 `json:"input_hw"`
		} `json:"convs"`
		Costs struct {
			Layers []struct {
				FLOPs *int64 `json:"flops"`
			} `json:"layers"`
			Totals struct {
				FLOPs *int64 `json:"flops"`
			} `json:"totals"`
		} `json:"costs"`
	}
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Inputs) != 1 || s.Inputs[0].DType != "float32" {
		t.Errorf("inputs %+v", s.Inputs)
	}
	if len(s.Convs) == 0 || len(s.Convs[0].InputHW) != 2 || s.Convs[0].InputHW[0] != nil {
		t.Errorf("first conv's input_hw %v, want [null, null]", s.Convs)
	}
	if len(s.Costs.Layers) == 0 || s.Costs.Layers[0].FLOPs != nil || s.Costs.Totals.FLOPs != nil {
		t.Errorf("unknown FLOPs not null: %+v", s.Costs)
	}
	// The hint beside unknown sizes.
	code, stdout, _ = runCLI("inspect", "../../testmodels/mobilenet_v2_dynamic/model.onnx")
	if code != 0 || !strings.Contains(stdout, "--input-shape") {
		t.Errorf("inspect text without the --input-shape hint: %s", stdout)
	}
	// Bench labels differ for two models of one base name.
	if l := modelLabels([]string{"a/x/model.onnx", "b/x/model.onnx"}); l[0] == l[1] {
		t.Errorf("labels %q", l)
	}
	if l := modelLabels([]string{"a/model.onnx", "b/model.onnx"}); l[0] != "a/model.onnx" || l[1] != "b/model.onnx" {
		t.Errorf("labels %q", l)
	}
}

// TestInspectVsChecksConversion: --vs accepts a model and its conversion,
// and refuses them swapped or an unrelated pair.
func TestInspectVsChecksConversion(t *testing.T) {
	dir := t.TempDir()
	orig, conv := convertedConvNeXt(t, dir)
	other := "../../testmodels/mobilenet_v2/model.onnx"
	if code, stdout, stderr := runCLI("inspect", orig, "--vs", conv); code != 0 || !strings.Contains(stdout, "5 of 5 depthwise convs became WTConv layers") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	for _, c := range []struct {
		a, b, want string
	}{
		{conv, orig, "swapped"},
		{other, conv, "is not a conversion of"},
		{orig, orig, "none of the original's 5 depthwise convs became a WTConv layer"},
	} {
		code, _, stderr := runCLI("inspect", c.a, "--vs", c.b)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("inspect %s --vs %s: exit %d, stderr %q, want %q", c.a, c.b, code, stderr, c.want)
		}
	}
}
