package tensor

import (
	"os"
	"path/filepath"
	"testing"
)

func TestNPYRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, x := range []*Tensor{
		NewFloat32([]int{2, 3}, []float32{1, -2, 3.5, 4, 5, 6}),
		NewInt64([]int{4}, []int64{1, -2, 1 << 40, 0}),
		NewFloat32([]int{}, []float32{7}),
	} {
		p := filepath.Join(dir, "x.npy")
		if err := WriteNPY(p, x); err != nil {
			t.Fatal(err)
		}
		y, err := ReadNPY(p)
		if err != nil {
			t.Fatal(err)
		}
		if y.DType != x.DType || !SameShape(x.Shape, y.Shape) {
			t.Fatalf("got %v %v, want %v %v", y.DType, y.Shape, x.DType, x.Shape)
		}
		a, b := x.Float64s(), y.Float64s()
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("element %d: got %v want %v", i, b[i], a[i])
			}
		}
	}
}

func TestReadReferenceInput(t *testing.T) {
	x, err := ReadNPY("../../shared/reference/wtconv-official/odd_c4_k3_l2/x.npy")
	if err != nil {
		t.Fatal(err)
	}
	if !SameShape(x.Shape, []int{1, 4, 13, 11}) || x.DType != Float32 {
		t.Fatalf("unexpected %v %v", x.DType, x.Shape)
	}
}

func TestWriteNPYIsWorldReadable(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.npy")
	if err := WriteNPY(p, NewFloat32([]int{1}, []float32{1})); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != 0o644 {
		t.Fatalf("%s has mode %v, want -rw-r--r--", p, got)
	}
}
