package convert_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/wtonnx/wtonnx/bench"
	"github.com/wtonnx/wtonnx/convert"
	"github.com/wtonnx/wtonnx/onnxmodel"
	engopts "github.com/wtonnx/wtonnx/runtime/engines"
	"github.com/wtonnx/wtonnx/testmodels/synth"
)

// BenchmarkConvNeXtTinyFusedModel measures the whole ConvNeXt-T-sized model
// (testmodels/synth, 224x224, batch 1) against itself converted with
// --init preserve --format customop (auto levels, k = 5), on ONNX Runtime's
// CPU provider with default session options at 1 and 2 intra-op threads:
// the two models alternate inference by inference (bench.Run with Vs), 3
// warm-ups, then the medians of 30. It reports both medians and their ratio
// (converted/original; issue 12 asks for at most 1.10).
//
//	go test ./convert -run '^$' -bench ConvNeXtTinyFusedModel -benchtime=1x
func BenchmarkConvNeXtTinyFusedModel(b *testing.B) {
	dir := b.TempDir()
	orig := filepath.Join(dir, "convnext_tiny.onnx")
	fused := filepath.Join(dir, "convnext_tiny_fused.onnx")
	m := synth.ConvNeXtTiny(1)
	if err := onnxmodel.Save(m, orig, onnxmodel.SaveOptions{}); err != nil {
		b.Fatal(err)
	}
	c, rep, err := convert.Convert(m, convert.Options{Levels: convert.AutoLevels, Init: convert.InitPreserve,
		Format: convert.FormatCustomOp})
	if err != nil {
		b.Fatal(err)
	}
	if len(rep.Converted) != 18 {
		b.Fatalf("converted %d layers, want 18", len(rep.Converted))
	}
	if err := onnxmodel.Save(c, fused, onnxmodel.SaveOptions{}); err != nil {
		b.Fatal(err)
	}
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads%d", threads), func(b *testing.B) {
			res, err := bench.Run(context.Background(), bench.Options{
				Model: fused, Vs: orig, Engine: engopts.Options{Threads: threads}, Warmup: 3, Iters: 30,
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(res.Models[1].Latency.Median, "original-ms")
			b.ReportMetric(res.Models[0].Latency.Median, "fused-ms")
			b.ReportMetric(res.MedianRatio, "fused/original")
			b.Logf("%d thread(s): original %.2f ms, converted (fused) %.2f ms, ratio %.3f", threads,
				res.Models[1].Latency.Median, res.Models[0].Latency.Median, res.MedianRatio)
		})
	}
}
