package convert_test

import (
	"testing"

	"github.com/wtonnx/wtonnx/customop"
)

func customOpLibrary(t testing.TB) string {
	t.Helper()
	p, err := customop.FindLibrary("")
	if err != nil {
		t.Fatal(err)
	}
	return p
}
