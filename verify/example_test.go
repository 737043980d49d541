package verify_test

import (
	"fmt"

	"github.com/wtonnx/wtonnx/verify"
)

// Random inputs are deterministic: the same seed, input name and shape
// always give the same values.
func ExampleInputs() {
	m := twoInputModel()
	in, err := verify.Inputs(m, verify.InputSpec{Seed: 1, Shapes: map[string][]int64{"x": {1, 3}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	again, _ := verify.Inputs(m, verify.InputSpec{Seed: 1, Shapes: map[string][]int64{"x": {1, 3}}})
	fmt.Println(in["x"].Shape, in["ids"].I64, in["x"].F32[2] == again["x"].F32[2])
	// Output: [1 3] [0 0] true
}
