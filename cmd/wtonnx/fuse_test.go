package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
)

func TestFuseCLI(t *testing.T) {
	dir := t.TempDir()
	e01 := filepath.Join(exportedDir, "e01_single_c16_k5_l3", "model.onnx")
	out := filepath.Join(dir, "fused.onnx")
	code, stdout, stderr := runCLI("fuse", e01, "-o", out, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep struct {
		Fused []struct {
			Name         string  `json:"name"`
			From         string  `json:"from"`
			CheckMaxDiff float64 `json:"check_max_diff"`
		} `json:"fused"`
		NodesBefore int `json:"nodes_before"`
		NodesAfter  int `json:"nodes_after"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Fused) != 1 || rep.Fused[0].Name != "wt" || rep.Fused[0].From != "pytorch" || rep.NodesAfter >= rep.NodesBefore {
		t.Errorf("report %+v", rep)
	}
	// Nothing to fuse: the graph written unchanged (with wtonnx's
	// provenance), a warning, exit 0.
	src := filepath.Join(refDir, "basic_c4_k3_l1", "source.onnx")
	same := filepath.Join(dir, "same.onnx")
	code, _, stderr = runCLI("fuse", src, "-o", same)
	a, errA := onnxmodel.Load(src)
	b, errB := onnxmodel.Load(same)
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	if code != 0 || !strings.Contains(stderr, "nothing fused") || !proto.Equal(a.GetGraph(), b.GetGraph()) {
		t.Errorf("nothing to fuse: exit %d, stderr %q, equal graphs %v", code, stderr, proto.Equal(a.GetGraph(), b.GetGraph()))
	}
	// A db2 layer keeps its wavelet in the fused node.
	db2 := filepath.Join(dir, "db2.onnx")
	code, stdout, stderr = runCLI("fuse", filepath.Join(exportedDir, "e07_db2_wavelet", "model.onnx"), "-o", db2)
	if code != 0 || !strings.Contains(stdout, "db2") {
		t.Errorf("db2: exit %d, stderr %q", code, stderr)
	}
	if m, err := onnxmodel.Load(db2); err != nil {
		t.Error(err)
	} else {
		for _, n := range m.GetGraph().GetNode() {
			if n.GetOpType() == "WTConv" && graphAttrString(n, "wavelet") != "db2" {
				t.Errorf("the fused node's wavelet is %q", graphAttrString(n, "wavelet"))
			}
		}
	}
	// Dry run writes nothing.
	dry := filepath.Join(dir, "dry.onnx")
	if code, stdout, _ := runCLI("fuse", e01, "-o", dry, "--dry-run", "--format", "ops"); code != 0 || !strings.Contains(stdout, "Would fuse 1 layers") {
		t.Errorf("dry run: exit %d, %s", code, stdout)
	}
	if _, err := os.Stat(dry); err == nil {
		t.Error("the dry run wrote a file")
	}
	if code, _, stderr := runCLI("fuse", e01, "-o", filepath.Join(dir, "x.onnx"), "--format", "fused"); code == 0 || !strings.Contains(stderr, "unknown format") {
		t.Errorf("bad format: exit %d, %s", code, stderr)
	}
}

func graphAttrString(n *onnxpb.NodeProto, name string) string {
	for _, a := range n.GetAttribute() {
		if a.GetName() == name {
			return string(a.GetS())
		}
	}
	return ""
}

// TestInspectExplain breaks an export's synthesis wiring: inspect reports
// a near miss, with its reason under --explain and in --json.
func TestInspectExplain(t *testing.T) {
	m, err := onnxmodel.Load(filepath.Join(exportedDir, "e01_single_c16_k5_l3", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	var cts []*onnxpb.NodeProto
	for _, n := range m.GetGraph().GetNode() {
		if n.GetOpType() == "ConvTranspose" {
			cts = append(cts, n)
		}
	}
	cts[2].Input[0] = cts[1].Input[0]
	p := filepath.Join(t.TempDir(), "broken.onnx")
	if err := onnxmodel.Save(m, p, onnxmodel.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI("inspect", p, "--explain")
	if code != 0 || !strings.Contains(out, "0 recognised, 1 near misses") || !strings.Contains(out, "not a layer:") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	code, out, _ = runCLI("inspect", p, "--json")
	var s struct {
		NearMisses []struct{ Node, Reason string } `json:"near_misses"`
	}
	if err := json.Unmarshal([]byte(out), &s); code != 0 || err != nil || len(s.NearMisses) != 1 || !strings.Contains(s.NearMisses[0].Reason, "synthesis") {
		t.Errorf("exit %d, %v, %+v", code, err, s)
	}
}
