package provenance_test

import (
	"fmt"

	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/provenance"
)

func Example() {
	pytorch, v := "pytorch", "1.13.1"
	m := &onnxpb.ModelProto{ProducerName: &pytorch, ProducerVersion: &v}
	provenance.Stamp(m, provenance.Record{
		Version: "v0.3.0", Command: "convert",
		Options: map[string]string{"init": "random", "seed": "1"},
	})
	r, _ := provenance.Read(m)
	fmt.Println(m.GetProducerName(), r.Options["init"], r.SourceProducer)
	fmt.Println(r.CommandLine())
	// Output:
	// wtonnx random pytorch
	// wtonnx convert --init random --seed 1
}
