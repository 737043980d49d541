// Package support reports which operators each wtonnx engine runs: the
// pure-Go engine's operators with their opset ranges and attributes, read
// from the operator registry (package opset) that the engine itself runs
// from, and for ONNX Runtime the library's version and whether wtonnx's
// custom-op library loads. ONNX Runtime's own operator list is not
// repeated here: it runs the standard ONNX operator set of its version.
package support

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/customop"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/runtime/goexec"
	"github.com/wtonnx/wtonnx/runtime/ort"
)

// Operator is one operator an engine runs.
type Operator struct {
	Domain string `json:"domain"` // "" for ai.onnx
	Name   string `json:"name"`
	// Since and Until bound the supported versions of Domain's operator set.
	Since int64 `json:"since"`
	Until int64 `json:"until"`
	// Attributes lists the attributes accepted (others are refused).
	Attributes []Attribute `json:"attributes"`
}

// Attribute is an accepted attribute and the opset versions it exists at
// (Until 0: still current).
type Attribute struct {
	Name  string `json:"name"`
	Since int64  `json:"since"`
	Until int64  `json:"until,omitempty"`
}

// String is the name, with the versions when it does not exist at all.
func (a Attribute) String() string {
	switch {
	case a.Since <= 1 && a.Until == 0:
		return a.Name
	case a.Until == 0:
		return fmt.Sprintf("%s(%d+)", a.Name, a.Since)
	case a.Since <= 1:
		return fmt.Sprintf("%s(<=%d)", a.Name, a.Until)
	}
	return fmt.Sprintf("%s(%d-%d)", a.Name, a.Since, a.Until)
}

// GoEngine describes the pure-Go engine.
type GoEngine struct {
	Operators []Operator `json:"operators"`
	// Types says which element types it computes and how.
	Types string `json:"types"`
}

// CustomOp describes wtonnx's fused operator in ONNX Runtime.
type CustomOp struct {
	Domain  string `json:"domain"`
	Name    string `json:"name"`
	Library string `json:"library,omitempty"`
	// Loads is true when the library registered with an ONNX Runtime
	// session; Error says why not otherwise.
	Loads bool   `json:"loads"`
	Error string `json:"error,omitempty"`
}

// ORTEngine describes ONNX Runtime as found on this machine.
type ORTEngine struct {
	Library string `json:"library,omitempty"`
	Version string `json:"version,omitempty"`
	// Error says why the library could not be found or loaded.
	Error string `json:"error,omitempty"`
	// Operators states what it runs: the standard ONNX operator set of
	// its version.
	Operators string   `json:"operators"`
	CustomOp  CustomOp `json:"custom_op"`
}

// Report is what `wtonnx ops` prints.
type Report struct {
	Go  GoEngine  `json:"go"`
	ORT ORTEngine `json:"ort"`
}

// Options locates the native libraries ("" means the usual search:
// ort.FindLibrary and customop.FindLibrary).
type Options struct {
	ORTLibrary      string
	CustomOpLibrary string
}

// GoOperators lists the Go engine's operators, sorted by domain and name.
func GoOperators() []Operator {
	var out []Operator
	for _, s := range goexec.Operators() {
		o := Operator{Domain: s.Domain, Name: s.Name, Since: s.Since, Until: s.Until, Attributes: []Attribute{}}
		for _, a := range s.Attrs {
			o.Attributes = append(o.Attributes, Attribute{Name: a.Name, Since: a.Since, Until: a.Until})
		}
		out = append(out, o)
	}
	return out
}

// Engines reports both engines. Problems with the native libraries are
// part of the report (Error fields), not failures.
func Engines(opts Options) *Report {
	r := &Report{Go: GoEngine{
		Operators: GoOperators(),
		Types: "float32 (FLOAT); integer and boolean types exactly, held as int64; " +
			"DOUBLE and other types are refused by name, never narrowed",
	}}
	r.ORT = ortEngine(opts)
	return r
}

func ortEngine(opts Options) ORTEngine {
	e := ORTEngine{
		Operators: "the standard ONNX operator set of its version (see ONNX Runtime's operator documentation)",
		CustomOp:  CustomOp{Domain: goexec.WTConvDomain, Name: "WTConv"},
	}
	lib, err := ort.FindLibrary(opts.ORTLibrary)
	if err != nil {
		e.Error = err.Error()
		e.CustomOp.Error = "ONNX Runtime is not available"
		return e
	}
	e.Library = lib
	if e.Version, err = ort.Initialize(lib); err != nil {
		e.Error = err.Error()
		e.CustomOp.Error = "ONNX Runtime is not available"
		return e
	}
	e.Operators = fmt.Sprintf("the standard ONNX operator set of ONNX Runtime %s (see its operator documentation)", e.Version)
	cl, err := customop.FindLibrary(opts.CustomOpLibrary)
	if err != nil {
		e.CustomOp.Error = err.Error()
		return e
	}
	e.CustomOp.Library = cl
	if err := registers(lib, cl); err != nil {
		e.CustomOp.Error = err.Error()
		return e
	}
	e.CustomOp.Loads = true
	return e
}

// registers opens a session on a one-node Identity model with the
// custom-op library registered: the library loads (and its
// RegisterCustomOps succeeds) when the session is created.
func registers(ortLib, customLib string) error {
	str := func(s string) *string { return &s }
	elem := int32(onnxpb.TensorProto_FLOAT)
	vi := func(name string) *onnxpb.ValueInfoProto {
		return &onnxpb.ValueInfoProto{Name: str(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
			TensorType: &onnxpb.TypeProto_Tensor{ElemType: &elem, Shape: &onnxpb.TensorShapeProto{}}}}}
	}
	ir, v := int64(8), int64(17)
	m := &onnxpb.ModelProto{IrVersion: &ir, OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: str(""), Version: &v}},
		Graph: &onnxpb.GraphProto{Name: str("probe"),
			Node:   []*onnxpb.NodeProto{{OpType: str("Identity"), Input: []string{"x"}, Output: []string{"y"}}},
			Input:  []*onnxpb.ValueInfoProto{vi("x")},
			Output: []*onnxpb.ValueInfoProto{vi("y")}}}
	data, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	e, err := ort.Open(data, ort.Options{LibraryPath: ortLib, CustomOpLibraries: []string{customLib}, IntraOpThreads: 1})
	if err != nil {
		return err
	}
	return e.Close()
}
