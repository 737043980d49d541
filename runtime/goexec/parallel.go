package goexec

import (
	"context"
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/wtonnx/wtonnx/tensor"
)

// runCtx carries what kernels need during one Run. Nothing in it is shared
// with other runs except the concurrency-safe scratch pool.
type runCtx struct {
	ctx     context.Context
	threads int
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

// parallelFor calls fn on sub-ranges that together cover [0, n), using at
// most threads goroutines (the caller's included). grain is the smallest
// useful range length.
func parallelFor(threads, n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	workers := threads
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
	var next atomic.Int64
	var wg sync.WaitGroup
	work := func() {
		for {
			lo := int(next.Add(int64(chunk))) - chunk
			if lo >= n {
				return
			}
			hi := lo + chunk
			if hi > n {
				hi = n
			}
			fn(lo, hi)
		}
	}
	wg.Add(workers - 1)
	for w := 1; w < workers; w++ {
		go func() {
			defer wg.Done()
			work()
		}()
	}
	work()
	wg.Wait()
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
