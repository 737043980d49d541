package report_test

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wtonnx/wtonnx/convert"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/report"
	"github.com/wtonnx/wtonnx/testmodels"
	"github.com/wtonnx/wtonnx/wtconvgraph"
)

// convnext converts the ConvNeXt fixture with a random wavelet branch and
// returns the original's and the converted model's paths.
func convnext(t *testing.T, dir string) (orig, conv string) {
	t.Helper()
	fx, err := testmodels.Load("convnext")
	if err != nil {
		t.Fatal(err)
	}
	src, err := onnxmodel.Load(fx.ModelPath())
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := convert.Convert(src, convert.Options{Levels: convert.AutoLevels, Init: convert.InitRandom, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	conv = filepath.Join(dir, "convnext_wt.onnx")
	if err := onnxmodel.Save(m, conv, onnxmodel.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	return fx.ModelPath(), conv
}

// artifactDir is $WTONNX_ARTIFACTS (CI keeps it) or a test folder.
func artifactDir(t *testing.T) string {
	if d := os.Getenv("WTONNX_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// TestReportInChromium builds the report of a converted ConvNeXt on both
// engines, checks its content and that it refers to nothing outside itself,
// then opens it in headless Chromium: the DOM after load must hold the
// per-layer table and the pictures, every picture decoded; and a screenshot
// is taken (kept in $WTONNX_ARTIFACTS when set).
func TestReportInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed; the report test needs it: apt-get install chromium")
	}
	dir := t.TempDir()
	orig, conv := convnext(t, dir)
	r, err := report.Build(context.Background(), report.Options{
		Original: orig, Converted: conv, Iters: 3, Warmup: 1, Layers: 2, Positions: 16,
		Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range r.Checks {
		if c.Error != "" {
			t.Fatalf("%s: %s", c.Title, c.Error)
		}
	}
	for _, l := range r.Latencies {
		if l.Error != "" || l.Result == nil || len(l.Result.Models) != 2 || l.Result.MedianRatio <= 0 {
			t.Fatalf("latency on %s: %s %+v", l.Engine, l.Error, l.Result)
		}
	}
	if len(r.Checks) != 2 || r.Checks[0].Result.Verdict != "pass" {
		t.Fatalf("checks %+v", r.Checks)
	}
	if r.Checks[0].ID != report.CheckEngines || r.Checks[1].ID != report.CheckVsOriginal {
		t.Fatalf("check ids %q, %q", r.Checks[0].ID, r.Checks[1].ID)
	}
	// A random wavelet branch changes the function: converted against
	// original fails, while the original agrees with itself across engines.
	var origAcross bool
	for _, c := range r.Checks[1].Result.Comparisons {
		if c.A.Model == c.B.Model {
			origAcross = c.Pass
		} else if c.Pass {
			t.Errorf("converted (random branch) passes against the original on %s", c.A.Engine)
		}
	}
	if !origAcross || r.Checks[1].Result.Verdict != "fail" {
		t.Errorf("original across engines %v, verdict %s", origAcross, r.Checks[1].Result.Verdict)
	}
	if len(r.Pictures) != 2 || r.Comparison.ConvertedLayers != 5 {
		t.Fatalf("%d pictures, %d converted", len(r.Pictures), r.Comparison.ConvertedLayers)
	}
	var buf bytes.Buffer
	if err := r.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	path := filepath.Join(dir, "report.html")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// Self-contained: every src and href is a data: URI or a fragment, and
	// no address appears anywhere.
	for _, m := range regexp.MustCompile(`(?i)\b(src|href|action|srcset)\s*=\s*["']?([^"' >]*)`).FindAllStringSubmatch(html, -1) {
		if !strings.HasPrefix(m[2], "data:image/png;base64,") && !strings.HasPrefix(m[2], "#") {
			t.Errorf("external reference %s=%q", m[1], m[2])
		}
	}
	for _, bad := range []string{"http:", "https:", "//fonts", "@import", "url("} {
		if strings.Contains(html, bad) {
			t.Errorf("the report contains %q", bad)
		}
	}
	for _, want := range []string{"2026-01-02 03:04 UTC", "L5 (ops)", "Converted model across engines", "ort/cpu", "@media print"} {
		if !strings.Contains(html, want) {
			t.Errorf("the report lacks %q", want)
		}
	}

	flags := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(), "--virtual-time-budget=10000"}
	chrome := func(args ...string) []byte {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, chromium, append(append([]string{}, flags...), args...)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
		}
		return stdout.Bytes()
	}
	dom := string(chrome("--dump-dom", "file://"+path))
	imgs := regexp.MustCompile(`<body[^>]*data-images="(\d+)"`).FindStringSubmatch(dom)
	decoded := regexp.MustCompile(`<body[^>]*data-images-decoded="(\d+)"`).FindStringSubmatch(dom)
	if imgs == nil || decoded == nil || imgs[1] != "2" || decoded[1] != "2" {
		t.Errorf("images after load: %v decoded %v (want 2 and 2)", imgs, decoded)
	}
	for _, m := range regexp.MustCompile(`data-natural-width="(\d+)"`).FindAllStringSubmatch(dom, -1) {
		if w, _ := strconv.Atoi(m[1]); w < 800 {
			t.Errorf("a picture decoded %d px wide", w)
		}
	}
	table := regexp.MustCompile(`(?s)<table id="layer-table">.*?</table>`).FindString(dom)
	if n := strings.Count(table, "<tr"); n != 1+5+1 {
		t.Errorf("the layer table has %d rows, want a header, 5 layers and a total", n)
	}

	shot := filepath.Join(artifactDir(t), "report-screenshot.png")
	chrome("--screenshot="+shot, "--window-size=1280,2000", "file://"+path)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	nonWhite := 0
	for y := b.Min.Y; y < b.Max.Y; y += 4 {
		for x := b.Min.X; x < b.Max.X; x += 4 {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r < 0xf000 || g < 0xf000 || bl < 0xf000 {
				nonWhite++
			}
		}
	}
	share := float64(nonWhite) / float64((b.Dx()/4)*(b.Dy()/4))
	if b.Dx() != 1280 || b.Dy() != 2000 || share < 0.05 {
		t.Errorf("screenshot %v, %.1f%% not white", b, 100*share)
	}
	t.Logf("screenshot: %s (%.0f%% of the page not white)", shot, 100*share)
}

func TestRepresentative(t *testing.T) {
	mk := func(levels ...int) []wtconvgraph.Layer {
		var ls []wtconvgraph.Layer
		for i, l := range levels {
			var x wtconvgraph.Layer
			x.Name = strconv.Itoa(i)
			x.Layer.Levels, x.Layer.Kernel, x.BaseKernel = l, 5, [2]int{7, 7}
			ls = append(ls, x)
		}
		return ls
	}
	names := func(ls []*wtconvgraph.Layer) string {
		var s []string
		for _, l := range ls {
			s = append(s, l.Name)
		}
		return strings.Join(s, ",")
	}
	ls := mk(5, 5, 5, 4, 4, 3, 3, 3, 3, 2, 2)
	for n, want := range map[int]string{1: "0", 2: "0,9", 3: "0,3,9", 4: "0,3,5,9", 9: "0,3,5,9", 0: ""} {
		if got := names(report.Representative(ls, n)); got != want {
			t.Errorf("n=%d: %s, want %s", n, got, want)
		}
	}
}

func TestBuildErrors(t *testing.T) {
	dir := t.TempDir()
	orig, conv := convnext(t, dir)
	for _, c := range []struct {
		name string
		opts report.Options
		want string
	}{
		{"same model twice", report.Options{Original: conv, Converted: conv}, "both the original and the converted"},
		{"not converted", report.Options{Original: orig, Converted: orig + "/../model.onnx"}, "both"},
		{"unconverted as converted", report.Options{Original: conv, Converted: orig}, "swapped"},
		{"unknown engine", report.Options{Original: orig, Converted: conv, Engines: []string{"tpu"}}, "unknown engine"},
		{"missing model", report.Options{Original: filepath.Join(dir, "none.onnx"), Converted: conv}, "none.onnx"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := report.Build(context.Background(), c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}
