package bench_test

import (
	"fmt"
	"time"

	"github.com/wtonnx/wtonnx/bench"
)

func ExampleStats() {
	l := bench.Stats([]time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond, 10 * time.Millisecond})
	fmt.Printf("min %.0f median %.1f p90 %.0f mean %.0f ms\n", l.Min, l.Median, l.P90, l.Mean)
	// Output: min 1 median 2.5 p90 10 mean 4 ms
}
