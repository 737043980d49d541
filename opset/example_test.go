package opset_test

import (
	"fmt"

	"github.com/wtonnx/wtonnx/opset"
)

// Find looks an operator up at the model's opset version; the schema says
// which versions and attributes it supports.
func ExampleFind() {
	s, err := opset.Find("", "MaxPool", 9)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s)
	for _, a := range s.Attrs {
		if a.Name == "ceil_mode" {
			fmt.Println("ceil_mode from opset", a.Since)
		}
	}
	_, err = opset.Find("", "Mod", 9)
	fmt.Println(err)
	// Output:
	// MaxPool (opsets 1-21)
	// ceil_mode from opset 10
	// operator Mod at opset 9 is not supported (supported at opsets 10-21)
}
