package fuse_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/wtonnx/wtonnx/convert"
	"github.com/wtonnx/wtonnx/fuse"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/runtime"
	"github.com/wtonnx/wtonnx/runtime/engines"
	"github.com/wtonnx/wtonnx/tensor"
)

// BenchmarkExportedVsFused times one WTConv layer as PyTorch exports it
// against the same layer after fuse --format customop, on ONNX Runtime CPU
// with one intra-op thread, at the WTConvNeXt-T stage shapes (k = 5), batch
// 1 and 8, and the whole WTConvNeXt-style shared case before and after.
// The two models run alternately in one loop; the metrics are their median
// latencies and exported/fused, the speed-up. The layer exports are made
// by testmodels/gen/exported.py with Debian's python3-torch.
//
//	go test -run '^$' -bench ExportedVsFused -benchtime 30x ./fuse
func BenchmarkExportedVsFused(b *testing.B) {
	open := func(m *onnxpb.ModelProto) runtime.Engine {
		e, err := engines.Open(engines.ORT, engines.Model{Proto: m}, engines.Options{Threads: 1})
		if err != nil {
			b.Fatal(err)
		}
		return e
	}
	type model struct {
		name   string
		path   string
		c, hw  int
		levels int
	}
	dir := b.TempDir()
	var models []model
	for _, s := range []struct{ c, hw, levels int }{{96, 56, 5}, {192, 28, 4}, {384, 14, 3}, {768, 7, 2}} {
		p := filepath.Join(dir, fmt.Sprintf("c%d.onnx", s.c))
		out, err := exec.Command("/usr/bin/python3", "../testmodels/gen/exported.py", "--bench", p,
			fmt.Sprint(s.c), fmt.Sprint(s.hw), fmt.Sprint(s.levels), "5").CombinedOutput()
		if err != nil {
			b.Fatalf("exporting the C%d layer needs Debian's python3-torch (apt-get install python3-torch): %v\n%s", s.c, err, out)
		}
		models = append(models, model{fmt.Sprintf("C%d_%dx%d_L%d", s.c, s.hw, s.hw, s.levels), p, s.c, s.hw, s.levels})
	}
	models = append(models, model{"wtconvnext_narrow", "../../shared/reference/exported/e06_wtconvnext_narrow/model.onnx", 3, 224, 0})
	for _, md := range models {
		src, err := onnxmodel.Load(md.path)
		if err != nil {
			b.Fatal(err)
		}
		fused, _, err := fuse.Fuse(src, fuse.Options{Format: convert.FormatCustomOp})
		if err != nil {
			b.Fatal(err)
		}
		exported, fast := open(src), open(fused)
		for _, batch := range []int{1, 8} {
			x := tensor.NewFloat32([]int{batch, md.c, md.hw, md.hw}, nil)
			for i := range x.F32 {
				x.F32[i] = float32(i%97)/48 - 1
			}
			in := map[string]*tensor.Tensor{"input": x}
			b.Run(fmt.Sprintf("%s/b%d", md.name, batch), func(b *testing.B) {
				var te, tf []time.Duration
				for i := 0; i < b.N; i++ {
					for j, e := range []runtime.Engine{exported, fast} {
						t0 := time.Now()
						if _, err := e.Run(context.Background(), in, nil); err != nil {
							b.Fatal(err)
						}
						if j == 0 {
							te = append(te, time.Since(t0))
						} else {
							tf = append(tf, time.Since(t0))
						}
					}
				}
				me, mf := median(te), median(tf)
				b.ReportMetric(float64(me.Microseconds())/1000, "ms_exported")
				b.ReportMetric(float64(mf.Microseconds())/1000, "ms_fused")
				b.ReportMetric(float64(me)/float64(mf), "speedup")
			})
		}
		exported.Close()
		fast.Close()
	}
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
