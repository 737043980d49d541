// Package bench measures how fast and how memory-hungry ONNX models run on
// wtonnx's engines: latency statistics over repeated inferences, throughput,
// and the process's peak memory.
//
// A second model (Options.Vs, typically the original of a converted model)
// is measured in the same run, interleaved inference by inference and in
// alternating order, so that machine noise (frequency changes, other
// processes) falls on both alike and the ratio of medians is meaningful.
// On ONNX Runtime with more than one thread, each session's pool threads
// keep spinning for a while after its runs and so share the cores with the
// other session's run; Engine.NoSpin stops that, at the price of
// ONNX Runtime's spinning between the parallel sections of one run.
package bench

import (
	"context"
	"fmt"
	"math"
	"os"
	goruntime "runtime"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wtonnx/wtonnx/runtime"
	"github.com/wtonnx/wtonnx/runtime/engines"
	"github.com/wtonnx/wtonnx/runtime/ort"
	"github.com/wtonnx/wtonnx/tensor"
	"github.com/wtonnx/wtonnx/verify"
)

// Options configures Run.
type Options struct {
	// Model is the model to measure; Vs, when set, a second model measured
	// alongside it with the same inputs.
	Model string
	Vs    string
	// Kind is the engine: "ort" (default) or "go".
	Kind string
	// Engine configures it (execution provider, threads, native
	// libraries); its Logf, when nil, is Logf.
	Engine engines.Options
	// Warmup inferences are run and discarded; Iters are measured.
	Warmup int
	Iters  int
	Inputs verify.InputSpec
	// Progress, when set, is called after each of the n = Warmup+Iters
	// steps (one inference of each model) with i = 1..n.
	Progress func(i, n int)
	// Logf receives one-line notes.
	Logf func(format string, args ...any)
}

// Result is the outcome of Run. JSON:
//
//	{"engine": "ort/cpu", "threads": N, "warmup": N, "iters": N,
//	 "inputs": [verify.InputInfo...],
//	 "models": [{"role": "model"|"vs", "path", "batch", "open_seconds",
//	             "latency_ms": {"min","median","p90","mean","max","stddev"},
//	             "throughput_per_s", "go_alloc_bytes_per_run"}],
//	 "median_ratio": F (omitted without vs),
//	 "memory": {"vm_hwm_before_bytes", "vm_hwm_after_bytes", "vm_rss_after_bytes",
//	            "go_heap_peak_bytes"}}
type Result struct {
	Engine  string             `json:"engine"`
	Threads int                `json:"threads"`
	Warmup  int                `json:"warmup"`
	Iters   int                `json:"iters"`
	Inputs  []verify.InputInfo `json:"inputs"`
	Models  []ModelResult      `json:"models"`
	// MedianRatio is Model's median latency over Vs's: below 1, Model is
	// faster.
	MedianRatio float64 `json:"median_ratio,omitempty"`
	// NoSpin says ONNX Runtime's intra-op threads slept between parallel
	// sections instead of spinning (Engine.NoSpin on ONNX Runtime).
	NoSpin bool   `json:"no_spin,omitempty"`
	Memory Memory `json:"memory"`
}

// ModelResult holds one model's measurements.
type ModelResult struct {
	Role        string  `json:"role"` // "model" or "vs"
	Path        string  `json:"path"`
	Batch       int     `json:"batch"`
	OpenSeconds float64 `json:"open_seconds"`
	Latency     Latency `json:"latency_ms"`
	// Throughput is inferences (batch items) per second at the median
	// latency: Batch / median.
	Throughput float64 `json:"throughput_per_s"`
	// GoAllocBytesPerRun is what one inference allocates on the Go heap
	// (the Go engine's tensors; little for ONNX Runtime).
	GoAllocBytesPerRun float64 `json:"go_alloc_bytes_per_run"`
	// NodeProviders is, for ONNX Runtime, the execution provider each
	// node ran on, from a profiled run in a session of its own after the
	// measurements (so profiling never slows them).
	NodeProviders []ort.NodePlacement `json:"node_providers,omitempty"`
}

// Latency statistics in milliseconds.
type Latency struct {
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
	Mean   float64 `json:"mean"`
	Max    float64 `json:"max"`
	Stddev float64 `json:"stddev"`
}

// Memory is process-wide. VmHWM is the peak resident set size the kernel
// reports in /proc/self/status (0 where there is none): "before" is read
// when Run starts, "after" when it ends, so with Vs it covers both models.
// GoHeapPeakBytes is the largest live Go heap seen while inferences ran
// (sampled every millisecond).
type Memory struct {
	VmHWMBeforeBytes int64  `json:"vm_hwm_before_bytes"`
	VmHWMAfterBytes  int64  `json:"vm_hwm_after_bytes"`
	VmRSSAfterBytes  int64  `json:"vm_rss_after_bytes"`
	GoHeapPeakBytes  uint64 `json:"go_heap_peak_bytes"`
}

// Role names.
const (
	RoleModel = "model"
	RoleVs    = "vs"
)

type subject struct {
	path  string
	role  string
	eng   runtime.Engine
	open  time.Duration
	times []time.Duration
	alloc uint64
}

// Run measures the models.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if opts.Model == "" {
		return nil, fmt.Errorf("no model given")
	}
	if opts.Iters < 1 {
		return nil, fmt.Errorf("iterations %d: want at least 1", opts.Iters)
	}
	if opts.Warmup < 0 {
		return nil, fmt.Errorf("warm-up count %d is negative", opts.Warmup)
	}
	if opts.Engine.Threads < 0 {
		return nil, fmt.Errorf("thread count %d is negative", opts.Engine.Threads)
	}
	kind := opts.Kind
	if kind == "" {
		kind = verify.EngineORT
	}
	mem := Memory{VmHWMBeforeBytes: procStatus("VmHWM")}

	m, err := verify.LoadModel(opts.Model)
	if err != nil {
		return nil, err
	}
	models := []*verify.Model{m}
	if opts.Vs != "" {
		vs, err := verify.LoadModel(opts.Vs)
		if err != nil {
			return nil, err
		}
		if err := verify.CheckSameInputs(m, vs); err != nil {
			return nil, err
		}
		models = append(models, vs)
	}
	inputs, infos, err := verify.InputsWithInfo(m.Proto, opts.Inputs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opts.Model, err)
	}
	eo := opts.Engine
	if eo.Logf == nil {
		eo.Logf = opts.Logf
	}
	subs := make([]*subject, len(models))
	defer func() {
		for _, s := range subs {
			if s != nil && s.eng != nil {
				s.eng.Close()
			}
		}
	}()
	for i, mm := range models {
		role := RoleModel
		if i == 1 {
			role = RoleVs
			eo.Logf = nil // the same note was given for the first model
		}
		start := time.Now()
		e, err := engines.Open(kind, *mm, eo)
		if err != nil {
			return nil, err
		}
		subs[i] = &subject{path: mm.Path, role: role, eng: e, open: time.Since(start), times: make([]time.Duration, 0, opts.Iters)}
	}

	sampler := startHeapSampler(time.Millisecond)
	n := opts.Warmup + opts.Iters
	for step := 0; step < n; step++ {
		measured := step >= opts.Warmup
		for k := range subs {
			// Alternate the order so that neither model always runs
			// right after the other.
			s := subs[k]
			if step%2 == 1 {
				s = subs[len(subs)-1-k]
			}
			if err := ctx.Err(); err != nil {
				sampler.stop()
				return nil, fmt.Errorf("benchmark interrupted: %w", err)
			}
			a0 := heapAllocs()
			t0 := time.Now()
			_, err := s.eng.Run(ctx, inputs, nil)
			d := time.Since(t0)
			a1 := heapAllocs()
			if err != nil {
				sampler.stop()
				return nil, fmt.Errorf("%s on %s: %w", s.path, s.eng.Name(), err)
			}
			if measured {
				s.times = append(s.times, d)
				s.alloc += a1 - a0
			}
		}
		if opts.Progress != nil {
			opts.Progress(step+1, n)
		}
	}
	mem.GoHeapPeakBytes = sampler.stop()
	mem.VmHWMAfterBytes = procStatus("VmHWM")
	mem.VmRSSAfterBytes = procStatus("VmRSS")

	res := &Result{
		Engine: subs[0].eng.Name(), Threads: opts.Engine.Threads, Warmup: opts.Warmup, Iters: opts.Iters,
		Inputs: infos, Memory: mem, NoSpin: kind == verify.EngineORT && eo.NoSpin,
	}
	batch := batchOf(inputs, infos)
	for _, s := range subs {
		lat := Stats(s.times)
		mr := ModelResult{
			Role: s.role, Path: s.path, Batch: batch, OpenSeconds: s.open.Seconds(), Latency: lat,
			GoAllocBytesPerRun: float64(s.alloc) / float64(len(s.times)),
		}
		if lat.Median > 0 {
			mr.Throughput = float64(batch) / (lat.Median / 1000)
		}
		res.Models = append(res.Models, mr)
	}
	if len(res.Models) == 2 && res.Models[1].Latency.Median > 0 {
		res.MedianRatio = res.Models[0].Latency.Median / res.Models[1].Latency.Median
	}
	if kind == verify.EngineORT {
		for i, mm := range models {
			if res.Models[i].NodeProviders, err = engines.NodeProviders(ctx, *mm, inputs, eo); err != nil {
				return nil, err
			}
		}
	}
	return res, nil
}

// batchOf is the first dimension of the first input (1 for a scalar).
func batchOf(inputs map[string]*tensor.Tensor, infos []verify.InputInfo) int {
	if len(infos) == 0 {
		return 1
	}
	t := inputs[infos[0].Name]
	if t == nil || len(t.Shape) == 0 || t.Shape[0] < 1 {
		return 1
	}
	return t.Shape[0]
}

// Stats summarizes durations in milliseconds. The median of an even count
// is the mean of the middle two; p90 is the nearest-rank percentile.
func Stats(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	ms := make([]float64, len(ds))
	var sum float64
	for i, d := range ds {
		ms[i] = float64(d) / float64(time.Millisecond)
		sum += ms[i]
	}
	sort.Float64s(ms)
	n := len(ms)
	l := Latency{Min: ms[0], Max: ms[n-1], Mean: sum / float64(n)}
	if n%2 == 1 {
		l.Median = ms[n/2]
	} else {
		l.Median = (ms[n/2-1] + ms[n/2]) / 2
	}
	rank := int(math.Ceil(0.9*float64(n))) - 1
	l.P90 = ms[max(rank, 0)]
	var ss float64
	for _, v := range ms {
		ss += (v - l.Mean) * (v - l.Mean)
	}
	if n > 1 {
		l.Stddev = math.Sqrt(ss / float64(n-1))
	}
	return l
}

// procStatus reads a "kB" field of /proc/self/status in bytes (0 when
// unavailable).
func procStatus(field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		rest, ok := strings.CutPrefix(line, field+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0
		}
		v, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0
		}
		if len(f) > 1 && f[1] == "kB" {
			v *= 1024
		}
		return v
	}
	return 0
}

const metricLive = "/memory/classes/heap/objects:bytes"

// heapAllocs is the cumulative count of bytes allocated on the Go heap.
// runtime.ReadMemStats is used rather than runtime/metrics because it
// flushes the per-P caches, so small allocations are counted too; it stops
// the world briefly, so it is called outside the timed section.
func heapAllocs() uint64 {
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// heapSampler records the largest Go heap (live and not yet collected
// objects) seen by a goroutine polling runtime/metrics.
type heapSampler struct {
	done chan struct{}
	wg   sync.WaitGroup
	peak uint64
}

func startHeapSampler(every time.Duration) *heapSampler {
	h := &heapSampler{done: make(chan struct{})}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		s := []metrics.Sample{{Name: metricLive}}
		tick := time.NewTicker(every)
		defer tick.Stop()
		read := func() {
			metrics.Read(s)
			if s[0].Value.Kind() == metrics.KindUint64 && s[0].Value.Uint64() > h.peak {
				h.peak = s[0].Value.Uint64()
			}
		}
		read()
		for {
			select {
			case <-h.done:
				read()
				return
			case <-tick.C:
				read()
			}
		}
	}()
	return h
}

// stop ends sampling and returns the peak.
func (h *heapSampler) stop() uint64 {
	select {
	case <-h.done:
	default:
		close(h.done)
	}
	h.wg.Wait()
	return h.peak
}
