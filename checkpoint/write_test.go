package checkpoint

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/wtonnx/wtonnx/tensor"
)

func TestWriteSafetensorsRoundTrip(t *testing.T) {
	in := map[string]*tensor.Tensor{
		"a.base_conv.weight": tensor.NewFloat32([]int{2, 1, 1, 3}, []float32{1, -2, 3.5, 4, 5, 6e-8}),
		"a.index":            tensor.NewInt64([]int{3}, []int64{-1, 0, 1 << 40}),
		"b.scalar":           tensor.NewFloat32([]int{}, []float32{7}),
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "w.safetensors")
	if err := WriteSafetensors(p, in, map[string]string{"format": "pt"}, false); err != nil {
		t.Fatal(err)
	}
	ck, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range in {
		got, err := ck.Tensor(name)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Shape, want.Shape) || !reflect.DeepEqual(got.F32, want.F32) || !reflect.DeepEqual(got.I64, want.I64) {
			t.Errorf("%s: got %+v, want %+v", name, got, want)
		}
	}
	if ck.Metadata()["format"] != "pt" {
		t.Errorf("metadata %v", ck.Metadata())
	}
	a, _ := EncodeSafetensors(in, nil)
	b, _ := EncodeSafetensors(in, nil)
	if !bytes.Equal(a, b) {
		t.Error("encoding twice gives different bytes")
	}
	if err := WriteSafetensors(p, in, nil, false); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("overwriting without permission: %v", err)
	}
	bad := map[string]*tensor.Tensor{"x": {DType: tensor.Float32, Shape: []int{3}, F32: []float32{1}}}
	if err := WriteSafetensors(filepath.Join(dir, "bad.safetensors"), bad, nil, false); err == nil || !strings.Contains(err.Error(), `"x"`) {
		t.Errorf("inconsistent tensor: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "bad.safetensors")); err == nil {
		t.Error("a failed write left a file")
	}
}
