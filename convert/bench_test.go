package convert_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/wtonnx/wtonnx/convert"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/testmodels/synth"
)

// BenchmarkConvertConvNeXtTiny compares, in one run, a plain load + save of
// a ConvNeXt-Tiny-sized model (28.6M parameters, ~110 MB, generated here)
// with load + convert + save of the same model (all 18 depthwise convs,
// auto levels). The aim: the second costs at most 1.5x the first.
//
//	go test -run '^$' -bench ConvertConvNeXtTiny -benchtime 5x ./convert
func BenchmarkConvertConvNeXtTiny(b *testing.B) {
	dir := b.TempDir()
	src := filepath.Join(dir, "convnext_tiny.onnx")
	if err := onnxmodel.Save(synth.ConvNeXtTiny(1), src, onnxmodel.SaveOptions{}); err != nil {
		b.Fatal(err)
	}
	st, _ := os.Stat(src)
	out := filepath.Join(dir, "out.onnx")
	b.Run("load+save", func(b *testing.B) {
		b.SetBytes(st.Size())
		for i := 0; i < b.N; i++ {
			m, err := onnxmodel.Load(src)
			if err != nil {
				b.Fatal(err)
			}
			if err := onnxmodel.Save(m, out, onnxmodel.SaveOptions{Overwrite: true}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("load+convert+save", func(b *testing.B) {
		b.SetBytes(st.Size())
		for i := 0; i < b.N; i++ {
			m, err := onnxmodel.Load(src)
			if err != nil {
				b.Fatal(err)
			}
			c, rep, err := convert.Convert(m, convert.Options{Levels: convert.AutoLevels})
			if err != nil {
				b.Fatal(err)
			}
			if len(rep.Converted) != 18 {
				b.Fatalf("converted %d layers, want 18", len(rep.Converted))
			}
			if err := onnxmodel.Save(c, out, onnxmodel.SaveOptions{Overwrite: true}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
