package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		{"output is the model", []string{"report", orig, conv, "-o", conv, "--force"}, "is the input"},
		{"one model", []string{"report", orig, "-o", out + "2"}, "accepts 2 arg"},
		{"negative iters", []string{"report", orig, conv, "-o", out + "3", "--iters", "-1"}, "must not be negative"},
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
