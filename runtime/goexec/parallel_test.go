package goexec

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// TestTeamCoversEveryItemOnce runs sections of many sizes and grains on
// teams of several sizes, from several goroutines at once and nested (a
// section's chunks starting sections on the same team, as a batched MatMul
// does), and checks that every item is visited exactly once and that no
// chunk runs after its parallelFor returned.
func TestTeamCoversEveryItemOnce(t *testing.T) {
	for _, size := range []int{1, 2, 3, 8} {
		t.Run(fmt.Sprintf("threads%d", size), func(t *testing.T) {
			tm := newTeam(size)
			defer tm.close()
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for _, n := range []int{1, 2, 7, 64, 1000} {
						for _, grain := range []int{0, 1, 5, 100} {
							counts := make([]atomic.Int32, n)
							var returned atomic.Bool
							parallelFor(tm, n, grain, func(lo, hi int) {
								if returned.Load() {
									t.Errorf("goroutine %d: chunk [%d, %d) ran after parallelFor returned", g, lo, hi)
								}
								for i := lo; i < hi; i++ {
									// Nested section over a small range.
									var inner atomic.Int32
									parallelFor(tm, 3, 1, func(a, b int) { inner.Add(int32(b - a)) })
									if inner.Load() != 3 {
										t.Errorf("nested section covered %d of 3 items", inner.Load())
									}
									counts[i].Add(1)
								}
							})
							returned.Store(true)
							for i := range counts {
								if c := counts[i].Load(); c != 1 {
									t.Errorf("goroutine %d: n=%d grain=%d: item %d visited %d times", g, n, grain, i, c)
									return
								}
							}
						}
					}
				}()
			}
			wg.Wait()
		})
	}
	// A closed team (and a nil one) still runs sections, on the caller.
	tm := newTeam(4)
	tm.close()
	for _, tt := range []*team{tm, nil} {
		var sum atomic.Int64
		parallelFor(tt, 100, 1, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				sum.Add(int64(i))
			}
		})
		if sum.Load() != 4950 {
			t.Errorf("sum %d, want 4950", sum.Load())
		}
	}
}
