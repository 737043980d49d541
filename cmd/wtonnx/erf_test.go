package main

import (
	"encoding/json"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/erf"
	"github.com/wtonnx/wtonnx/inspect"
)

// convertedConvNeXt converts the ConvNeXt fixture (random wavelet branch)
// into dir and returns the original's and the converted model's paths.
func convertedConvNeXt(t *testing.T, dir string) (orig, conv string) {
	t.Helper()
	orig = filepath.Join("..", "..", "testmodels", "convnext", "model.onnx")
	conv = filepath.Join(dir, "convnext_wt.onnx")
	if code, _, stderr := runCLI("convert", orig, "-o", conv, "--init", "random", "--seed", "1"); code != 0 {
		t.Fatalf("convert: %s", stderr)
	}
	return orig, conv
}

const cnLayer = "/features/features.5/features.5.0/block/block.0/Conv"

func TestErfCommand(t *testing.T) {
	dir := t.TempDir()
	orig, conv := convertedConvNeXt(t, dir)
	pngPath, csvPath := filepath.Join(dir, "erf.png"), filepath.Join(dir, "erf.csv")
	code, stdout, stderr := runCLI("erf", conv, "--node", cnLayer, "--original", orig, "-o", pngPath, "--csv", csvPath)
	if code != 0 {
		t.Fatalf("erf: %d %s", code, stderr)
	}
	// 3 levels, 5x5 wavelet kernels: 2^3*(5+1)-1 = 47 over all residues.
	if !strings.Contains(stdout, "non-zero extent 47 px (theoretical 47, receptive field 40)") || !strings.Contains(stdout, "original 7x7 depthwise kernel: non-zero extent 7 px") {
		t.Errorf("stdout:\n%s", stdout)
	}
	f, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil || img.Bounds().Dx() < 800 {
		t.Fatalf("picture: %v %v", err, img.Bounds())
	}
	csv, err := os.ReadFile(csvPath)
	if err != nil || !strings.HasPrefix(string(csv), "dy,dx,mean_abs_response\n") {
		t.Fatalf("csv: %v %.40q", err, csv)
	}
	// JSON carries both maps; the CSV rows are the WTConv map's values.
	code, stdout, stderr = runCLI("erf", conv, "--node", cnLayer, "--original", orig, "--json")
	if code != 0 {
		t.Fatal(stderr)
	}
	var res erf.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	if res.Original == nil || res.WTConv.Levels != 3 || strings.Count(string(csv), "\n") != 1+len(res.WTConv.Values) {
		t.Errorf("json: original %v levels %d, %d values, csv %d lines", res.Original != nil, res.WTConv.Levels, len(res.WTConv.Values), strings.Count(string(csv), "\n"))
	}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no output", []string{"erf", conv, "--node", cnLayer}, "nothing to write"},
		{"no node", []string{"erf", conv, "--json"}, "pick one with --node"},
		{"unknown node", []string{"erf", conv, "--node", "nope", "--json"}, `no WTConv layer is called "nope"`},
		{"unconverted model", []string{"erf", orig, "--json"}, "no WTConv layer"},
		{"output exists", []string{"erf", conv, "--node", cnLayer, "-o", pngPath}, "already exists"},
		{"channel out of range", []string{"erf", conv, "--node", cnLayer, "--channel", "999", "--json"}, "channel 999"},
		{"size too small", []string{"erf", conv, "--node", cnLayer, "--size", "4", "--json"}, "size 4"},
		{"wrong original", []string{"erf", conv, "--node", cnLayer, "--original", filepath.Join(refDir, "basic_c4_k3_l1", "source.onnx"), "--json"}, "no Conv node"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(c.args...)
			if code != 2 || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stderr %q, want %q", code, stderr, c.want)
			}
			if stdout != "" && !strings.HasPrefix(c.name, "output") {
				t.Errorf("stdout %q", stdout)
			}
		})
	}
	if fi, _ := os.ReadDir(dir); len(fi) != 3 { // the model, the PNG and the CSV: no temporary files
		t.Errorf("files left in %s: %v", dir, fi)
	}
}

func TestInspectVs(t *testing.T) {
	dir := t.TempDir()
	orig, conv := convertedConvNeXt(t, dir)
	code, stdout, stderr := runCLI("inspect", orig, "--vs", conv)
	if code != 0 {
		t.Fatal(stderr)
	}
	for _, want := range []string{"5 of 5 depthwise convs became WTConv layers", cnLayer, "dw 7x7", "wtconv 7x7+5x5 L3 ops", "7 -> 40", "7 -> 160", "800 -> 9136"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("missing %q in\n%s", want, stdout)
		}
	}
	code, stdout, stderr = runCLI("inspect", orig, "--vs", conv, "--json")
	if code != 0 {
		t.Fatal(stderr)
	}
	var c inspect.Comparison
	if err := json.Unmarshal([]byte(stdout), &c); err != nil {
		t.Fatal(err)
	}
	if c.ConvertedLayers != 5 || len(c.Layers) != 5 || c.After.MaxReceptiveField != 160 || c.Before.ModelParams >= c.After.ModelParams {
		t.Errorf("comparison %+v", c)
	}
	if code, _, stderr := runCLI("inspect", orig, "--vs", filepath.Join(dir, "none.onnx")); code != 2 || !strings.Contains(stderr, "none.onnx") {
		t.Errorf("missing --vs model: %d %s", code, stderr)
	}
}

// TestErfJPEG: -o with a .jpg name writes a JPEG, not a PNG named .jpg.
func TestErfJPEG(t *testing.T) {
	dir := t.TempDir()
	_, conv := convertedConvNeXt(t, dir)
	p := filepath.Join(dir, "e.jpg")
	if code, _, stderr := runCLI("erf", conv, "--node", cnLayer, "--positions", "4", "-o", p); code != 0 {
		t.Fatalf("erf: %s", stderr)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil || img.Bounds().Dx() < 400 {
		t.Fatalf("%s is not a JPEG picture: %v", p, err)
	}
}
