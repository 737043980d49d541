package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/testmodels"
	"github.com/wtonnx/wtonnx/triton"
)

func TestExportTriton(t *testing.T) {
	f, err := testmodels.Load("mobilenet_v2_dynamic")
	if err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(t.TempDir(), "repo")
	code, stdout, stderr := runCLI("export", "triton", f.ModelPath(), "-o", repo, "--name", "mnv2", "--kind", "cpu", "--instances", "3", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res triton.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	if res.MaxBatch != triton.DefaultMaxBatch || res.Instances != 3 || res.Kind != "cpu" || res.CustomOpLibrary != "" {
		t.Errorf("result %+v", res)
	}
	cfg, err := os.ReadFile(filepath.Join(repo, "mnv2", "config.pbtxt"))
	if err != nil || !strings.Contains(string(cfg), "kind: KIND_CPU") || !strings.Contains(string(cfg), "count: 3") {
		t.Errorf("config.pbtxt: %v\n%s", err, cfg)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"export", "triton", f.ModelPath(), "-o", repo, "--name", "mnv2"}, "--force"},
		{[]string{"export", "triton", f.ModelPath(), "-o", repo, "--name", "x", "--instances", "0"}, "--instances 0"},
		{[]string{"export", "triton", f.ModelPath(), "-o", repo, "--name", "y", "--kind", "cpu", "--tensorrt"}, "--tensorrt"},
		{[]string{"export", "triton", f.ModelPath()}, "output"},
	} {
		code, stdout, stderr := runCLI(c.args...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q (want %q)", c.args, code, stdout, stderr, c.want)
		}
	}
	if entries, _ := os.ReadDir(repo); len(entries) != 1 {
		t.Errorf("failed exports left %d entries in %s", len(entries), repo)
	}
}
