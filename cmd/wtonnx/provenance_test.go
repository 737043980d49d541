package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/provenance"
)

// Every converted model records how it was made, and converting twice
// still gives the same bytes (the record holds no timestamp).
func TestConvertRecordsProvenance(t *testing.T) {
	even := filepath.Join(refDir, "even_c6_k5_l2")
	src := filepath.Join(even, "source.onnx")
	weights := filepath.Join(even, "weights.safetensors")
	srcSum, err := provenance.FileSHA256(src)
	if err != nil {
		t.Fatal(err)
	}
	wSum, err := provenance.FileSHA256(weights)
	if err != nil {
		t.Fatal(err)
	}
	srcModel, err := onnxmodel.Load(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
		want map[string]string
	}{
		{"preserve", nil, map[string]string{"init": "preserve", "levels": "auto", "format": "ops"}},
		{"random", []string{"--init", "random", "--seed", "7", "--format", "customop", "--levels", "2", "--kernel", "3"},
			map[string]string{"init": "random", "seed": "7", "format": "customop", "levels": "2", "kernel": "3"}},
		{"import", []string{"--init", "import", "--weights", weights},
			map[string]string{"init": "import", "weights": "weights.safetensors", "weights.sha256": wSum}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var outs [][]byte
			for i := range 2 {
				out := filepath.Join(dir, c.name+string(rune('a'+i))+".onnx")
				args := append([]string{"convert", src, "-o", out}, c.args...)
				if code, _, stderr := runCLI(args...); code != 0 {
					t.Fatalf("%v: exit %d: %s", args, code, stderr)
				}
				b, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				outs = append(outs, b)
			}
			if !bytes.Equal(outs[0], outs[1]) {
				t.Error("converting twice gave different bytes")
			}
			m, err := onnxmodel.Parse(outs[0])
			if err != nil {
				t.Fatal(err)
			}
			rec, ok := provenance.Read(m)
			if !ok {
				t.Fatal("no provenance in the converted model")
			}
			if m.GetProducerName() != "wtonnx" || m.GetProducerVersion() != provenance.Version() || rec.Version != provenance.Version() {
				t.Errorf("producer %q %q, recorded version %q, want wtonnx %q", m.GetProducerName(), m.GetProducerVersion(), rec.Version, provenance.Version())
			}
			if rec.Command != "convert" || rec.Source != "source.onnx" || rec.SourceSHA256 != srcSum {
				t.Errorf("command %q source %q %s, want convert source.onnx %s", rec.Command, rec.Source, rec.SourceSHA256, srcSum)
			}
			if rec.SourceProducer != srcModel.GetProducerName() || rec.SourceProducerVersion != srcModel.GetProducerVersion() {
				t.Errorf("source producer %q %q, want %q %q", rec.SourceProducer, rec.SourceProducerVersion, srcModel.GetProducerName(), srcModel.GetProducerVersion())
			}
			for k, v := range c.want {
				if rec.Options[k] != v {
					t.Errorf("option %s = %q, want %q (all: %v)", k, rec.Options[k], v, rec.Options)
				}
			}
			if c.name != "random" && rec.Options["seed"] != "" {
				t.Errorf("seed %q recorded for init %s", rec.Options["seed"], c.name)
			}
			if !strings.HasPrefix(rec.CommandLine(), "wtonnx convert --") {
				t.Errorf("command line %q", rec.CommandLine())
			}
		})
	}
}

func TestVersionFlag(t *testing.T) {
	code, stdout, stderr := runCLI("--version")
	if code != 0 || strings.TrimSpace(stdout) != "wtonnx "+provenance.Version() || provenance.Version() == "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
