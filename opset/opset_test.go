package opset

import "testing"

func TestSliceLen(t *testing.T) {
	for _, c := range []struct{ dim, start, end, step, want int64 }{
		{10, 0, 10, 1, 10}, {10, 0, 10, 2, 5}, {11, 0, 11, 2, 6}, {10, -3, 1 << 62, 1, 3},
		{10, 9, -11, -1, 10}, {10, 0, 0, 1, 0}, {5, 4, 0, -2, 2},
	} {
		if got := SliceLen(c.dim, c.start, c.end, c.step); got != c.want {
			t.Errorf("SliceLen%v = %d", c, got)
		}
	}
}
