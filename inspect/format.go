package inspect

import (
	"fmt"
	"math"
)

// FormatCount writes a parameter or FLOP count compactly: 1234567 as 1.23M.
func FormatCount(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fG", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	case n >= 1e4:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

// FormatFLOPs is FormatCount, or "?" for a cost that is unknown (zero,
// because the feature-map size was not static).
func FormatFLOPs(n int64) string {
	if n == 0 {
		return "?"
	}
	return FormatCount(n)
}

// FormatChange writes the relative change from a to b: "+12.5%",
// "unchanged", or "n/a" when a is zero.
func FormatChange(a, b int64) string {
	if a == 0 {
		return "n/a"
	}
	d := 100 * (float64(b)/float64(a) - 1)
	if math.Abs(d) < 0.05 {
		return "unchanged"
	}
	return fmt.Sprintf("%+.1f%%", d)
}
