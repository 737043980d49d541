package inspect

import (
	"sort"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/testmodels"
)

func TestInspectListsExactlyTheDepthwiseConvs(t *testing.T) {
	fixtures, err := testmodels.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fixtures {
		m, err := onnxmodel.Load(f.ModelPath())
		if err != nil {
			t.Fatal(err)
		}
		var shapes map[string][]int64
		if f.Name == "mobilenet_v2_dynamic" {
			shapes = map[string][]int64{f.Meta.InputName: {1, 3, 224, 224}}
		}
		s, err := Inspect(m, shapes)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		var cands []string
		reasons := map[string]string{}
		for _, c := range s.Convs {
			if c.Candidate {
				cands = append(cands, c.Node)
				if len(c.InputHW) != 2 || c.InputHW[0] <= 0 {
					t.Errorf("%s: %s has no feature-map size", f.Name, c.Node)
				}
			} else {
				reasons[c.Node] = c.Reason
			}
		}
		want := append([]string{}, f.Meta.DepthwiseConvs...)
		sort.Strings(cands)
		sort.Strings(want)
		if strings.Join(cands, ",") != strings.Join(want, ",") {
			t.Errorf("%s: candidates %v, want %v", f.Name, cands, want)
		}
		for _, nc := range f.Meta.NonCandidateConvs {
			r, ok := reasons[nc.Node]
			if !ok {
				t.Errorf("%s: non-candidate %s not listed", f.Name, nc.Node)
				continue
			}
			if !strings.HasPrefix(r, nc.Reason) {
				t.Errorf("%s: %s: reason %q, want one starting %q", f.Name, nc.Node, r, nc.Reason)
			}
		}
		if f.Name == "regnet" && (s.Candidates != 0 || len(reasons) == 0) {
			t.Errorf("regnet: %d candidates, %d grouped convs listed", s.Candidates, len(reasons))
		}
	}
}
