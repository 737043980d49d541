package opset

import (
	"fmt"
	"sort"
	"strings"

	"github.com/wtonnx/wtonnx/onnxpb"
)

// MaxVersion is the newest ai.onnx operator-set version the registry knows.
const MaxVersion = 21

// WTConvDomain is the domain of wtonnx's fused WTConv operator.
const WTConvDomain = "ai.wtonnx"

// Key names an operator: its domain ("" for ai.onnx) and type.
type Key struct{ Domain, Name string }

// String is "Op" for the default domain and "domain.Op" otherwise.
func (k Key) String() string {
	if k.Domain == "" {
		return k.Name
	}
	return k.Domain + "." + k.Name
}

// Schema describes one operator as wtonnx supports it.
type Schema struct {
	Key
	// Since and Until bound the operator-set versions of Domain the
	// operator is supported at (inclusive).
	Since, Until int64
	// Attrs lists the attributes the operator accepts, each with the
	// versions it exists at; any other is refused by Check.
	Attrs []Attribute
	// MinIn..MaxIn inputs (trailing empty names not counted) and
	// MinOut..MaxOut outputs are accepted.
	MinIn, MaxIn, MinOut, MaxOut int
	// Required lists the attributes that must be present.
	Required []string
	// Infer is the static shape rule; it leaves outputs it cannot
	// determine unknown.
	Infer func(c *InferCtx)
}

// Versions formats the supported version range, e.g. "6-21".
func (s *Schema) Versions() string {
	if s.Since == s.Until {
		return fmt.Sprint(s.Since)
	}
	return fmt.Sprintf("%d-%d", s.Since, s.Until)
}

// Check refuses node n at version when it uses an attribute the operator
// does not accept, has the wrong number of inputs or outputs, or fails the
// operator's own validation.
func (s *Schema) Check(n *onnxpb.NodeProto, version int64) error {
	var unknown []string
	for _, a := range n.GetAttribute() {
		spec, ok := s.attr(a.GetName())
		if !ok {
			unknown = append(unknown, a.GetName())
			continue
		}
		if version < spec.Since || (spec.Until != 0 && version > spec.Until) {
			return fmt.Errorf("attribute %s is not an attribute of %s at opset %d (it exists at opsets %s)", spec.Name, s.Key, version, spec.versions())
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("unsupported attribute(s) %s", strings.Join(unknown, ", "))
	}
	in := n.GetInput()
	k := len(in)
	for k > 0 && in[k-1] == "" {
		k--
	}
	if k < s.MinIn || k > s.MaxIn {
		if s.MinIn == s.MaxIn {
			return fmt.Errorf("takes %d inputs, got %d", s.MinIn, k)
		}
		return fmt.Errorf("takes %d to %d inputs, got %d", s.MinIn, s.MaxIn, k)
	}
	for i := 0; i < s.MinIn; i++ {
		if in[i] == "" {
			return fmt.Errorf("required input %d is empty", i)
		}
	}
	out := n.GetOutput()
	m := len(out)
	for m > 0 && out[m-1] == "" {
		m--
	}
	if m > s.MaxOut {
		return fmt.Errorf("has %d outputs; at most %d are supported for this operator", m, s.MaxOut)
	}
	if m < s.MinOut {
		return fmt.Errorf("has %d outputs, needs at least %d", m, s.MinOut)
	}
	for _, name := range s.Required {
		found := false
		for _, a := range n.GetAttribute() {
			found = found || a.GetName() == name
		}
		if !found {
			return fmt.Errorf("required attribute %s is missing", name)
		}
	}
	return nil
}

// Attribute is an attribute an operator accepts and the versions of its
// domain it exists at (Until 0: still current).
type Attribute struct {
	Name         string
	Since, Until int64
}

func (a Attribute) versions() string {
	if a.Until == 0 {
		return fmt.Sprintf("%d and later", a.Since)
	}
	return fmt.Sprintf("%d-%d", a.Since, a.Until)
}

func (s *Schema) attr(name string) (Attribute, bool) {
	for _, a := range s.Attrs {
		if a.Name == name {
			return a, true
		}
	}
	return Attribute{}, false
}

// attrs parses attribute specs: "name" (every version), "name@10" (from
// version 10), "name@-6" (up to 6) or "name@7-8".
func attrs(specs []string) []Attribute {
	out := make([]Attribute, len(specs))
	for i, sp := range specs {
		a := Attribute{Name: sp, Since: 1}
		if name, rng, ok := strings.Cut(sp, "@"); ok {
			a.Name = name
			lo, hi, _ := strings.Cut(rng, "-")
			if lo != "" {
				a.Since = mustInt(lo, sp)
			}
			if strings.Contains(rng, "-") {
				a.Until = mustInt(hi, sp)
			}
		}
		out[i] = a
	}
	return out
}

func mustInt(s, spec string) int64 {
	var v int64
	if _, err := fmt.Sscan(s, &v); err != nil {
		panic("opset: bad attribute spec " + spec)
	}
	return v
}

// registry is filled once, at package initialisation, and only read after.
var registry = func() map[Key]*Schema {
	m := map[Key]*Schema{}
	for _, s := range schemas() {
		if _, dup := m[s.Key]; dup {
			panic("opset: operator " + s.Key.String() + " registered twice")
		}
		m[s.Key] = s
	}
	return m
}()

// Lookup returns the schema of an operator whatever the version, or nil.
func Lookup(domain, name string) *Schema {
	return registry[Key{NormDomain(domain), name}]
}

// Find returns the schema of operator name of domain at version, or an
// error saying why it is not supported.
func Find(domain, name string, version int64) (*Schema, error) {
	domain = NormDomain(domain)
	s := registry[Key{domain, name}]
	if s == nil {
		if domain == "" {
			return nil, fmt.Errorf("operator %q is not supported by the Go engine", name)
		}
		return nil, fmt.Errorf("operator %q of domain %q is not supported by the Go engine", name, domain)
	}
	if version < s.Since || version > s.Until {
		return nil, fmt.Errorf("operator %s at opset %d is not supported (supported at opsets %s)", s.Key, version, s.Versions())
	}
	return s, nil
}

// All returns every schema, sorted by domain then name.
func All() []*Schema {
	out := make([]*Schema, 0, len(registry))
	for _, s := range registry {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Domain != out[j].Domain {
			return out[i].Domain < out[j].Domain
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// NormDomain maps "ai.onnx" to "", the default domain.
func NormDomain(d string) string {
	if d == "ai.onnx" {
		return ""
	}
	return d
}
