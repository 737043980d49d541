package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/onnxmodel"
)

func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	orig, conv := convertedConvNeXt(t, dir)
	out := filepath.Join(dir, "report.html")
	code, stdout, stderr := runCLI("report", orig, conv, "-o", out, "--skip-verify", "--iters", "0", "--layers", "1", "--positions", "4")
	if code != 0 {
		t.Fatalf("report: %d %s", code, stderr)
	}
	if !strings.Contains(stdout, "5 layers converted; largest receptive field 7 -> 160 px") || !strings.Contains(stdout, "Wrote "+out) {
		t.Errorf("stdout: %s", stdout)
	}
	html, err := os.ReadFile(out)
	if err != nil || !strings.Contains(string(html), `<table id="layer-table">`) || strings.Count(string(html), "<img ") != 1 {
		t.Fatalf("report: %v, %d bytes, %d pictures", err, len(html), strings.Count(string(html), "<img "))
	}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no output", []string{"report", orig, conv}, "-o report.html"},
		{"output exists", []string{"report", orig, conv, "-o", out}, "already exists"},
		{"output is the model", []string{"report", orig, conv, "-o", conv, "--force"}, "that is an input"},
		{"one model", []string{"report", orig, "-o", out + "2"}, "accepts 2 arg"},
		{"negative iters", []string{"report", orig, conv, "-o", out + "3", "--iters", "-1"}, "--iters -1: want 0 or more"},
		{"bad engine", []string{"report", orig, conv, "-o", out + "4", "--engines", "tpu"}, "unknown engine"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runCLI(c.args...)
			if code != 2 || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stderr %q, want %q", code, stderr, c.want)
			}
		})
	}
	if _, err := os.Stat(out + "4"); err == nil {
		t.Error("a failed report left a file")
	}
}

func TestReportJSON(t *testing.T) {
	dir := t.TempDir()
	conv := filepath.Join(dir, "cn.onnx")
	if code, _, stderr := runCLI("convert", "../../testmodels/convnext/model.onnx", "-o", conv, "--init", "random", "--seed", "1"); code != 0 {
		t.Fatalf("convert: %s", stderr)
	}
	out := filepath.Join(dir, "r.html")
	code, stdout, stderr := runCLI("report", "../../testmodels/convnext/model.onnx", conv, "-o", out,
		"--json", "--iters", "2", "--layers", "1", "--positions", "4", "--skip-verify", "--engines", "go")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r struct {
		Comparison struct {
			ConvertedLayers int `json:"converted_layers"`
		} `json:"comparison"`
		Pictures []struct {
			Layer string `json:"layer"`
		} `json:"pictures"`
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	if r.Comparison.ConvertedLayers != 5 || len(r.Pictures) != 1 {
		t.Fatalf("JSON says %d layers, %d pictures", r.Comparison.ConvertedLayers, len(r.Pictures))
	}
	if st, err := os.Stat(out); err != nil || st.Size() == 0 {
		t.Fatalf("no report written: %v", err)
	}
}

// report reads the converted model's provenance: the outputs of a random
// conversion differ from the original's as intended ("changed", nowhere
// "fail"), a preserve conversion must reproduce them ("pass"), and a
// conversion compared with another original is flagged.
func TestReportReadsProvenance(t *testing.T) {
	dir := t.TempDir()
	orig := "../../testmodels/convnext/model.onnx"
	for _, c := range []struct {
		init, want string
	}{{"random", "changed"}, {"preserve", "pass"}} {
		t.Run(c.init, func(t *testing.T) {
			conv := filepath.Join(dir, c.init+".onnx")
			if code, _, stderr := runCLI(append([]string{"convert", orig, "-o", conv, "--init", c.init}, seedArgs(c.init)...)...); code != 0 {
				t.Fatalf("convert: %s", stderr)
			}
			out := filepath.Join(dir, c.init+".html")
			code, stdout, stderr := runCLI("report", orig, conv, "-o", out, "--iters", "0", "--layers", "0")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !strings.Contains(stdout, "Converted against original: "+c.want) || !strings.Contains(stdout, "Converted model across engines: pass") {
				t.Errorf("stdout: %s", stdout)
			}
			if !strings.Contains(stdout, "wtonnx convert --format ops --init "+c.init) {
				t.Errorf("stdout does not show how the model was made: %s", stdout)
			}
			html, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, bad := range []string{`class="fail"`, ">fail<"} {
				if strings.Contains(stdout, "fail") || strings.Contains(string(html), bad) {
					t.Errorf("the report of a %s conversion shows a failure", c.init)
				}
			}
			if !strings.Contains(string(html), `<span class="`+c.want+`">`+c.want+`</span>`) {
				t.Errorf("the HTML lacks the verdict %q", c.want)
			}
			code, stdout, _ = runCLI("report", orig, conv, "-o", filepath.Join(dir, c.init+".json.html"), "--iters", "0", "--layers", "0", "--json", "--engines", "go")
			var r struct {
				Provenance struct {
					Options map[string]string `json:"options"`
				} `json:"provenance"`
				Checks []struct {
					Expect, Verdict string
				} `json:"checks"`
			}
			if err := json.Unmarshal([]byte(stdout), &r); err != nil || code != 0 {
				t.Fatalf("exit %d, %v: %s", code, err, stdout)
			}
			if len(r.Checks) != 1 || r.Checks[0].Verdict != c.want || r.Provenance.Options["init"] != c.init {
				t.Errorf("JSON: %+v", r)
			}
		})
	}
	// The same original re-saved with another producer: the graph is the
	// same, but the source's SHA-256 says it is not the file converted.
	conv := filepath.Join(dir, "random.onnx")
	m, err := onnxmodel.Load(orig)
	if err != nil {
		t.Fatal(err)
	}
	m.ProducerName = proto.String("someone-else")
	other := filepath.Join(dir, "other-original.onnx")
	if err := onnxmodel.Save(m, other, onnxmodel.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI("report", other, conv, "-o", filepath.Join(dir, "other.html"), "--iters", "0", "--layers", "0", "--skip-verify")
	if code != 0 || !strings.Contains(stdout, "is not with its own original") {
		t.Errorf("exit %d: %s%s", code, stdout, stderr)
	}
	// An unrelated model is refused before any work.
	code, _, stderr = runCLI("report", "../../testmodels/mobilenet_v2/model.onnx", conv, "-o", filepath.Join(dir, "unrelated.html"), "--iters", "0", "--layers", "0", "--skip-verify")
	if code == 0 || !strings.Contains(stderr, "is not a conversion of") {
		t.Errorf("unrelated original: exit %d: %s", code, stderr)
	}
}

// seedArgs is --seed 1 for --init random; other inits take no seed.
func seedArgs(init string) []string {
	if init == "random" {
		return []string{"--seed", "1"}
	}
	return nil
}

// TestReportDynamicInput: a model with dynamic axes and no --input-shape is
// refused, naming the input and the flag, and no report is written.
func TestReportDynamicInput(t *testing.T) {
	dir := t.TempDir()
	src := "../../testmodels/mobilenet_v2_dynamic/model.onnx"
	conv := filepath.Join(dir, "dyn_wt.onnx")
	if code, _, stderr := runCLI("convert", src, "-o", conv, "--levels", "2"); code != 0 {
		t.Fatalf("convert: %s", stderr)
	}
	out := filepath.Join(dir, "r.html")
	code, _, stderr := runCLI("report", src, conv, "-o", out, "--skip-verify", "--iters", "0", "--layers", "0")
	if code == 0 || !strings.Contains(stderr, "--input-shape input=") || !strings.Contains(stderr, "dynamic dimensions [batch x 3 x height x width]") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("a refused report was written")
	}
	code, stdout, stderr := runCLI("report", src, conv, "-o", out, "--skip-verify", "--iters", "0", "--layers", "0", "--input-shape", "input=1x3x224x224")
	if code != 0 || strings.Contains(stdout, "? -> ?") {
		t.Fatalf("with --input-shape: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
