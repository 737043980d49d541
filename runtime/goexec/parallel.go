package goexec

import (
	"context"
	"math/bits"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/wtonnx/wtonnx/tensor"
)

// runCtx carries what kernels need during one Run. Nothing in it is shared
// with other runs except the concurrency-safe scratch pool.
type runCtx struct {
	ctx     context.Context
	threads *team
	scratch *scratchPool
	// pooled counts, for each buffer handed out by alloc during this run,
	// the live values that reference it (nil: no recycling, e.g. at Open).
	mu     sync.Mutex
	pooled map[*float32]int
}

// alloc returns a float32 buffer of length n whose contents are undefined:
// the caller must write every element. Buffers are recycled when the values
// using them die.
func (rc *runCtx) alloc(n int) []float32 {
	if rc.pooled == nil || n < 1024 {
		return make([]float32, n)
	}
	b := rc.scratch.get(n)
	rc.mu.Lock()
	rc.pooled[unsafe.SliceData(b)] = 0
	rc.mu.Unlock()
	return b
}

// newF32 returns a float32 tensor with undefined contents (see alloc).
func (rc *runCtx) newF32(shape []int) *tensor.Tensor {
	return tensor.NewFloat32(shape, rc.alloc(tensor.NumElements(shape)))
}

// retain notes one more live value using t's storage.
func (rc *runCtx) retain(t *tensor.Tensor) {
	if rc.pooled == nil || len(t.F32) == 0 {
		return
	}
	p := unsafe.SliceData(t.F32)
	if c, ok := rc.pooled[p]; ok {
		rc.pooled[p] = c + 1
	}
}

// release notes that a value using t's storage died, recycling the buffer
// when no live value uses it any more.
func (rc *runCtx) release(t *tensor.Tensor) {
	if rc.pooled == nil || len(t.F32) == 0 {
		return
	}
	p := unsafe.SliceData(t.F32)
	c, ok := rc.pooled[p]
	if !ok {
		return
	}
	if c > 1 {
		rc.pooled[p] = c - 1
		return
	}
	delete(rc.pooled, p)
	rc.scratch.put(t.F32[:cap(t.F32)])
}

// team is an Engine's persistent worker goroutines: size-1 workers that
// wait for parallel sections, the goroutine running a section being the
// size-th member. A nil team (or one of size 1) runs every section on the
// calling goroutine. Starting goroutines for every section, as this engine
// once did, cost several microseconds a section, and a model runs hundreds
// of sections; waking a waiting worker costs one channel send.
type team struct {
	size int
	// jobs holds sections offered to the workers; a worker takes one,
	// claims chunks of it until none is left, and waits for the next.
	jobs chan *section
	stop chan struct{}
	once sync.Once
	// runs counts the Runs in progress. Workers poll for the next section
	// only while one is: between Runs they sleep at once, so that an idle
	// engine never takes a core from other work (another engine's run in a
	// benchmark that alternates engines, or the caller's own code).
	runs atomic.Int32
}

// newTeam starts a team of threads members (threads-1 goroutines). A team
// must be stopped with close (an Engine's Close does it, and a cleanup on
// the Engine when it is dropped unclosed).
func newTeam(threads int) *team {
	t := &team{size: max(threads, 1)}
	if t.size == 1 {
		return t
	}
	t.jobs = make(chan *section, 4*t.size)
	t.stop = make(chan struct{})
	for range t.size - 1 {
		go t.work()
	}
	return t
}

// threads is the number of goroutines a section may use.
func (t *team) threads() int {
	if t == nil {
		return 1
	}
	return t.size
}

// close stops the workers; sections started afterwards run on the caller.
func (t *team) close() {
	if t == nil || t.stop == nil {
		return
	}
	t.once.Do(func() { close(t.stop) })
}

// begin notes that a Run started using the team; end, returned, that it
// ended.
func (t *team) begin() (end func()) {
	if t == nil || t.stop == nil {
		return func() {}
	}
	t.runs.Add(1)
	return func() { t.runs.Add(-1) }
}

// teamSpin is how long a worker keeps polling for the next section before
// it sleeps, and how long parallelFor polls for its last chunks before it
// sleeps. A model's sections follow each other within microseconds, while
// waking a sleeping thread took tens to hundreds of microseconds on the
// virtual machines this was measured on (a section of a small layer takes
// about as long): without polling, two threads ran MobileNetV2 no faster
// than one. ONNX Runtime's pool threads poll the same way.
const teamSpin = 200 * time.Microsecond

func (t *team) work() {
	for {
		if s := t.poll(); s != nil {
			s.run()
			continue
		}
		select {
		case s := <-t.jobs:
			s.run()
		case <-t.stop:
			return
		}
	}
}

// poll waits up to teamSpin for a section without sleeping, yielding to
// other goroutines now and then; it returns nil when none came, no Run is
// in progress or the team is stopping.
func (t *team) poll() *section {
	start := time.Now()
	for i := 1; ; i++ {
		if t.runs.Load() == 0 {
			// A worker that finished the last section of a Run
			// sleeps at once: whatever runs next on this machine
			// gets the core.
			return nil
		}
		select {
		case s := <-t.jobs:
			return s
		case <-t.stop:
			return nil
		default:
		}
		if i%64 == 0 {
			if time.Since(start) > teamSpin {
				return nil
			}
			goruntime.Gosched()
		}
	}
}

// section is one parallelFor call: chunks of chunk items of [0, n).
type section struct {
	fn      func(lo, hi int)
	n       int
	chunk   int
	chunks  int64
	next    atomic.Int64 // next item to claim
	done    atomic.Int64 // chunks finished
	finish  chan struct{}
	waiting atomic.Bool
}

// run claims and runs chunks until none is left. A worker may take a
// section after its caller has already finished it: it then finds no chunk
// and returns without touching fn.
func (s *section) run() {
	for {
		lo := int(s.next.Add(int64(s.chunk))) - s.chunk
		if lo >= s.n {
			return
		}
		s.fn(lo, min(lo+s.chunk, s.n))
		if s.done.Add(1) == s.chunks && s.waiting.Load() {
			close(s.finish)
		}
	}
}

// parallelFor calls fn on sub-ranges that together cover [0, n), using at
// most t.threads() goroutines (the caller's included) of team t. grain is
// the smallest useful range length. Sections may nest (fn may call
// parallelFor on the same team): the caller always works on its own
// section, so it completes even when every worker is busy.
func parallelFor(t *team, n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	workers := t.threads()
	if maxW := (n + grain - 1) / grain; workers > maxW {
		workers = maxW
	}
	if workers <= 1 {
		fn(0, n)
		return
	}
	// Chunks of roughly n/(4*workers) items balance uneven work.
	chunk := n / (4 * workers)
	if chunk < grain {
		chunk = grain
	}
	s := &section{fn: fn, n: n, chunk: chunk, chunks: int64((n + chunk - 1) / chunk), finish: make(chan struct{})}
offer:
	for range workers - 1 {
		select {
		case t.jobs <- s:
		case <-t.stop:
			break offer
		default:
			// Every worker has sections queued: they are busy, and the
			// caller does the work.
			break offer
		}
	}
	s.run()
	if s.done.Load() == s.chunks {
		return
	}
	// Workers are finishing chunks they claimed: poll for them for a while,
	// then sleep. Whoever finishes the last chunk closes finish if it sees
	// waiting set; if it finished before the Store, the check after the
	// Store sees it.
	start := time.Now()
	for i := 1; s.done.Load() != s.chunks; i++ {
		if i%64 != 0 {
			continue
		}
		if time.Since(start) > teamSpin {
			s.waiting.Store(true)
			if s.done.Load() == s.chunks {
				return
			}
			<-s.finish
			return
		}
		// With fewer Ps than workers, the worker may need this one.
		goruntime.Gosched()
	}
}

// scratchPool recycles float32 work buffers (im2col columns, packed GEMM
// panels) by power-of-two size class. It is safe for concurrent use.
type scratchPool struct {
	classes [40]sync.Pool
}

func newScratchPool() *scratchPool { return &scratchPool{} }

// get returns a buffer of length n with undefined contents.
func (p *scratchPool) get(n int) []float32 {
	if n <= 0 {
		return nil
	}
	c := bits.Len(uint(n - 1))
	if c >= len(p.classes) {
		return make([]float32, n)
	}
	if v := p.classes[c].Get(); v != nil {
		return (*v.(*[]float32))[:n]
	}
	return make([]float32, n, 1<<c)
}

// put returns a buffer obtained from get.
func (p *scratchPool) put(b []float32) {
	if cap(b) == 0 {
		return
	}
	c := bits.Len(uint(cap(b) - 1))
	if c >= len(p.classes) || 1<<c != cap(b) {
		return
	}
	b = b[:cap(b)]
	p.classes[c].Put(&b)
}
