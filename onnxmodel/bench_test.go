package onnxmodel_test

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/testmodels/synth"
)

// BenchmarkLoadSaveConvNeXtTiny times Load + Save of a ConvNeXt-T-sized
// model (28.6M float32 parameters, about 110 MB) and reports the peak Go heap
// and the peak resident set, both divided by the file size. The model is
// written once at set-up; between iterations the heap is collected (outside
// the timer), so the peaks are those of one Load + Save.
//
//	go test ./onnxmodel -run '^$' -bench LoadSaveConvNeXtTiny -benchtime 5x
func BenchmarkLoadSaveConvNeXtTiny(b *testing.B) {
	dir := b.TempDir()
	in := filepath.Join(dir, "convnext_tiny.onnx")
	out := filepath.Join(dir, "saved.onnx")
	if err := onnxmodel.Save(synth.ConvNeXtTiny(1), in, onnxmodel.SaveOptions{}); err != nil {
		b.Fatal(err)
	}
	st, err := os.Stat(in)
	if err != nil {
		b.Fatal(err)
	}
	size := float64(st.Size())
	b.SetBytes(st.Size())

	runtime.GC()
	debug.FreeOSMemory()
	rssReset := resetPeakRSS() == nil
	peak := newHeapPeak()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m, err := onnxmodel.Load(in)
		if err != nil {
			b.Fatal(err)
		}
		if err := onnxmodel.Save(m, out, onnxmodel.SaveOptions{Overwrite: true}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		m = nil
		runtime.GC()
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(peak.stop())/size, "peak-heap/file")
	if hwm, err := peakRSS(); err == nil && rssReset {
		b.ReportMetric(float64(hwm)/size, "peak-RSS/file")
	} else {
		b.Logf("peak RSS not available (clear_refs reset ok: %v, VmHWM: %v)", rssReset, err)
	}
	b.ReportMetric(size/1e6, "file-MB")
}

// heapPeak samples the bytes of live and not yet swept heap objects every
// millisecond until stop.
type heapPeak struct {
	done chan struct{}
	wg   sync.WaitGroup
	max  uint64
}

func newHeapPeak() *heapPeak {
	p := &heapPeak{done: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > p.max {
				p.max = v
			}
			select {
			case <-p.done:
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

func (p *heapPeak) stop() uint64 {
	close(p.done)
	p.wg.Wait()
	return p.max
}

// resetPeakRSS sets the process's VmHWM to its current RSS (Linux >= 4.0).
func resetPeakRSS() error {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakRSS reads VmHWM, in bytes.
func peakRSS() (uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, os.ErrNotExist
}
