package doctor

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/wtonnx/wtonnx/runtime/goexec"
	"github.com/wtonnx/wtonnx/runtime/ort"
)

// Operators reports which operators each engine runs (`wtonnx ops`): the
// pure-Go engine's, with their opset ranges and attributes, read from the
// operator registry (package opset) the engine itself runs from; for ONNX
// Runtime its version, which runs the standard ONNX operator set of that
// version (not repeated here), and whether the custom-op library that adds
// ai.wtonnx WTConv loads into it.
func Operators(opts Options) *OpsReport {
	r := &OpsReport{Go: GoOperators{
		Operators: GoEngineOperators(),
		Types: "float32 (FLOAT); integer and boolean types exactly, held as int64; " +
			"DOUBLE and other types are refused by name, never narrowed",
	}}
	r.ORT = ortOperators(Gather(opts))
	return r
}

// OpsReport is what `wtonnx ops` prints. Its JSON shape only ever gains
// fields.
type OpsReport struct {
	Go  GoOperators  `json:"go"`
	ORT ORTOperators `json:"ort"`
}

// GoOperators describes what the pure-Go engine runs.
type GoOperators struct {
	Operators []Operator `json:"operators"`
	// Types says which element types it computes and how.
	Types string `json:"types"`
}

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

// ORTOperators describes ONNX Runtime as the CPU provider finds it.
type ORTOperators struct {
	Library string `json:"library,omitempty"`
	Version string `json:"version,omitempty"`
	// Error says why no library could be found or probed.
	Error string `json:"error,omitempty"`
	// Operators states what it runs: the standard ONNX operator set of
	// its version.
	Operators string     `json:"operators"`
	CustomOp  CustomOpIn `json:"custom_op"`
}

// CustomOpIn describes wtonnx's fused operator in that ONNX Runtime.
type CustomOpIn struct {
	Domain  string `json:"domain"`
	Name    string `json:"name"`
	Library string `json:"library,omitempty"`
	// Loads is true when the library loads (probed with dlopen, as
	// doctor does) and accepts the ONNX Runtime version's C API; Error says
	// why not otherwise.
	Loads bool   `json:"loads"`
	Error string `json:"error,omitempty"`
}

// GoEngineOperators lists the Go engine's operators, sorted by domain and
// name.
func GoEngineOperators() []Operator {
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

func ortOperators(r Report) ORTOperators {
	o := ORTOperators{
		Operators: "the standard ONNX operator set of its version (see ONNX Runtime's operator documentation)",
		CustomOp:  CustomOpIn{Domain: goexec.WTConvDomain, Name: "WTConv", Library: r.CustomOp.Path, Error: r.CustomOp.Error},
	}
	var set *ORTSet
	for i := range r.ONNXRuntime {
		for _, ep := range r.ONNXRuntime[i].DefaultFor {
			if ep == ort.EPCPU && set == nil {
				set = &r.ONNXRuntime[i]
			}
		}
	}
	switch {
	case set == nil:
		o.Error = "no ONNX Runtime library found: run `make setup`, or set " + ort.EnvLibrary
	case set.Error != "":
		o.Library, o.Error = set.Path, set.Error
	default:
		o.Library, o.Version = set.Path, set.Version
		o.Operators = fmt.Sprintf("the standard ONNX operator set of ONNX Runtime %s (see its operator documentation)", set.Version)
	}
	if o.CustomOp.Error != "" || o.CustomOp.Library == "" {
		if o.CustomOp.Error == "" {
			o.CustomOp.Error = "not found"
		}
		return o
	}
	if o.Version == "" {
		o.CustomOp.Error = "ONNX Runtime is not available"
		return o
	}
	// API n is ONNX Runtime 1.n.
	parts := strings.Split(o.Version, ".")
	api, err := strconv.ParseUint(parts[min(1, len(parts)-1)], 10, 32)
	if err != nil || len(parts) < 2 {
		o.CustomOp.Error = fmt.Sprintf("cannot read the C API version of ONNX Runtime %q", o.Version)
		return o
	}
	// The library asks for the newest API it knows that ONNX Runtime
	// offers; newer releases still offer the older versions.
	if uint32(api) < r.CustomOp.APIMin {
		o.CustomOp.Error = fmt.Sprintf("the library needs ONNX Runtime C API %d or newer (ONNX Runtime 1.%d), ONNX Runtime %s has %d",
			r.CustomOp.APIMin, r.CustomOp.APIMin, o.Version, api)
		return o
	}
	o.CustomOp.Loads = true
	return o
}
