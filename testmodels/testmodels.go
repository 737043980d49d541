// Package testmodels gives tests and benchmarks of other packages access to
// wtonnx's committed test fixtures: small but real ONNX models (torchvision
// architectures exported by PyTorch with seeded random weights), each with an
// input, the output PyTorch computed for it, and a meta.json that lists the
// model's depthwise convolutions by node name.
//
// The fixtures live beside this file, in testmodels/<name>/; see
// testmodels/README.md for what each one is and how to regenerate them (that
// needs PyTorch; reading them does not).
package testmodels

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
)

// Meta is the content of a fixture's meta.json.
type Meta struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Opset       int64  `json:"opset"`
	Seed        int64  `json:"seed"`

	InputName  string `json:"input_name"`
	InputShape []int  `json:"input_shape"` // shape of input.npy
	// ModelInputDims is the input shape the model declares: each element is
	// a float64 (a fixed size, as decoded from JSON) or a string (the name of
	// a dynamic axis). Use InputDynamic to ask which axes are dynamic.
	ModelInputDims []any `json:"model_input_dims"`

	OutputName      string `json:"output_name"`
	OutputShape     []int  `json:"output_shape"` // shape of output.npy
	ModelOutputDims []any  `json:"model_output_dims"`

	// ConvCount is the number of Conv nodes in the model.
	ConvCount int `json:"conv_count"`
	// DepthwiseConvs names, in graph order, every depthwise 2-D Conv node:
	// group == input channels == output channels, weight C x 1 x kh x kw,
	// dilation 1.
	DepthwiseConvs []string `json:"depthwise_convs"`
	// DepthwiseDetails describes the nodes of DepthwiseConvs, in the same
	// order.
	DepthwiseDetails []Depthwise `json:"depthwise_details"`
	// NonCandidateConvs lists the grouped Conv nodes that are not depthwise
	// candidates, with the reason.
	NonCandidateConvs []NonCandidate `json:"non_candidate_convs"`
	// SHA256 maps model.onnx, input.npy and output.npy to the hex SHA-256
	// of their content as generated.
	SHA256 map[string]string `json:"sha256"`
}

// Depthwise describes one depthwise Conv node of a fixture.
type Depthwise struct {
	Node     string `json:"node"`
	Channels int    `json:"channels"`
	Kernel   []int  `json:"kernel"`  // kh, kw
	Strides  []int  `json:"strides"` // sh, sw
	Pads     []int  `json:"pads"`    // top, left, bottom, right
	Bias     bool   `json:"bias"`
	// WeightSource says where the weight comes from: "initializer",
	// "Constant", "ConstantOfShape", or "Identity<-..." for an Identity chain
	// ending in one of those.
	WeightSource string `json:"weight_source"`
}

// Reasons a grouped Conv is not a candidate.
const (
	ReasonGrouped = "grouped but not depthwise"
	ReasonDilated = "dilated"
)

// NonCandidate is a grouped Conv node that is not a depthwise candidate.
type NonCandidate struct {
	Node   string `json:"node"`
	Reason string `json:"reason"` // ReasonGrouped or ReasonDilated
	Detail string `json:"detail"`
}

// InputDynamic reports, per axis of the model's declared input, whether the
// axis is dynamic (named rather than fixed).
func (m Meta) InputDynamic() []bool {
	out := make([]bool, len(m.ModelInputDims))
	for i, d := range m.ModelInputDims {
		_, out[i] = d.(string)
	}
	return out
}

// Fixture is one test model folder.
type Fixture struct {
	Name string // folder name, equal to Meta.Name
	Dir  string // absolute path of the folder
	Meta Meta
}

// ModelPath is the path of the fixture's model.onnx.
func (f Fixture) ModelPath() string { return filepath.Join(f.Dir, "model.onnx") }

// InputPath is the path of the fixture's input.npy, the value of the
// model's single input Meta.InputName.
func (f Fixture) InputPath() string { return filepath.Join(f.Dir, "input.npy") }

// OutputPath is the path of output.npy: PyTorch's output for InputPath.
func (f Fixture) OutputPath() string { return filepath.Join(f.Dir, "output.npy") }

// Verify checks that the fixture's model.onnx, input.npy and output.npy
// are the files the generator wrote (their SHA-256 matches meta.json), so a
// test does not silently run on a fixture that something rewrote in place.
func (f Fixture) Verify() error {
	for _, name := range fixtureFiles {
		path := filepath.Join(f.Dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("testmodels: %w", err)
		}
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); got != f.Meta.SHA256[name] {
			return fmt.Errorf("testmodels: %s has SHA-256 %s, meta.json records %s: the file was changed after generation (restore it with git, or regenerate with testmodels/gen/gen.py)",
				path, got, f.Meta.SHA256[name])
		}
	}
	return nil
}

var fixtureFiles = [...]string{"model.onnx", "input.npy", "output.npy"}

// Dir returns the absolute path of the testmodels folder of the source tree
// this package was compiled from.
func Dir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return ""
	}
	return filepath.Dir(file)
}

// SharedDir returns the absolute path of the shared material folder, which
// lives beside the repository root (../shared from the root). It fails when
// that folder is missing.
func SharedDir() (string, error) {
	dir := Dir()
	if !filepath.IsAbs(dir) {
		return "", fmt.Errorf("testmodels: source path %q is not absolute (built with -trimpath?): cannot locate ../shared", dir)
	}
	shared := filepath.Join(dir, "..", "..", "shared")
	st, err := os.Stat(shared)
	if err != nil {
		return "", fmt.Errorf("testmodels: shared folder missing: %w (it must sit beside the repository root)", err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("testmodels: %s is not a folder", shared)
	}
	return shared, nil
}

// All reads the meta.json of every fixture and returns the fixtures sorted by
// name.
func All() ([]Fixture, error) {
	dir := Dir()
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("testmodels: source path %q is not absolute (built with -trimpath?): cannot locate fixtures", dir)
	}
	metas, err := filepath.Glob(filepath.Join(dir, "*", "meta.json"))
	if err != nil {
		return nil, fmt.Errorf("testmodels: listing fixtures: %w", err)
	}
	if len(metas) == 0 {
		return nil, fmt.Errorf("testmodels: no */meta.json under %s", dir)
	}
	sort.Strings(metas)
	out := make([]Fixture, 0, len(metas))
	for _, p := range metas {
		f, err := load(filepath.Dir(p))
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// Load reads the fixture called name.
func Load(name string) (Fixture, error) {
	if name == "" || filepath.Base(name) != name || name == "." || name == ".." {
		return Fixture{}, fmt.Errorf("testmodels: %q is not a fixture name", name)
	}
	d := filepath.Join(Dir(), name)
	if _, err := os.Stat(filepath.Join(d, "meta.json")); errors.Is(err, os.ErrNotExist) {
		return Fixture{}, fmt.Errorf("testmodels: no fixture %q (no %s)", name, filepath.Join(d, "meta.json"))
	}
	return load(d)
}

func load(dir string) (Fixture, error) {
	path := filepath.Join(dir, "meta.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return Fixture{}, fmt.Errorf("testmodels: %w", err)
	}
	var m Meta
	if err := json.Unmarshal(data, &m); err != nil {
		return Fixture{}, fmt.Errorf("testmodels: %s: %w", path, err)
	}
	if err := m.check(filepath.Base(dir)); err != nil {
		return Fixture{}, fmt.Errorf("testmodels: %s: %w", path, err)
	}
	return Fixture{Name: m.Name, Dir: dir, Meta: m}, nil
}

// check verifies the internal consistency of a meta.json.
func (m Meta) check(folder string) error {
	switch {
	case m.Name != folder:
		return fmt.Errorf("name %q differs from its folder %q", m.Name, folder)
	case m.InputName == "" || m.OutputName == "":
		return fmt.Errorf("input_name or output_name is empty")
	case len(m.InputShape) == 0 || len(m.OutputShape) == 0:
		return fmt.Errorf("input_shape or output_shape is empty")
	case len(m.ModelInputDims) != len(m.InputShape):
		return fmt.Errorf("model_input_dims has %d axes, input_shape %d", len(m.ModelInputDims), len(m.InputShape))
	case len(m.ModelOutputDims) != len(m.OutputShape):
		return fmt.Errorf("model_output_dims has %d axes, output_shape %d", len(m.ModelOutputDims), len(m.OutputShape))
	case len(m.DepthwiseDetails) != len(m.DepthwiseConvs):
		return fmt.Errorf("%d depthwise_details for %d depthwise_convs", len(m.DepthwiseDetails), len(m.DepthwiseConvs))
	}
	for _, name := range fixtureFiles {
		if len(m.SHA256[name]) != 64 {
			return fmt.Errorf("sha256 of %s missing or malformed", name)
		}
	}
	if err := dimsMatch("input", m.ModelInputDims, m.InputShape); err != nil {
		return err
	}
	if err := dimsMatch("output", m.ModelOutputDims, m.OutputShape); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i, n := range m.DepthwiseConvs {
		if n == "" || seen[n] {
			return fmt.Errorf("depthwise_convs[%d] %q is empty or repeated", i, n)
		}
		seen[n] = true
		if m.DepthwiseDetails[i].Node != n {
			return fmt.Errorf("depthwise_details[%d] is for %q, depthwise_convs[%d] is %q", i, m.DepthwiseDetails[i].Node, i, n)
		}
	}
	for i, nc := range m.NonCandidateConvs {
		if nc.Node == "" || seen[nc.Node] {
			return fmt.Errorf("non_candidate_convs[%d] %q is empty or also listed elsewhere", i, nc.Node)
		}
		seen[nc.Node] = true
		if nc.Reason != ReasonGrouped && nc.Reason != ReasonDilated {
			return fmt.Errorf("non_candidate_convs[%d] %q: unknown reason %q", i, nc.Node, nc.Reason)
		}
	}
	if len(seen) > m.ConvCount {
		return fmt.Errorf("%d convs listed but conv_count is %d", len(seen), m.ConvCount)
	}
	return nil
}

// dimsMatch checks that every fixed declared dimension equals the stored
// tensor's.
func dimsMatch(what string, declared []any, shape []int) error {
	for i, d := range declared {
		switch v := d.(type) {
		case string:
			if v == "" {
				return fmt.Errorf("model_%s_dims[%d] is an empty axis name", what, i)
			}
		case float64:
			if int(v) != shape[i] || float64(int(v)) != v {
				return fmt.Errorf("model_%s_dims[%d] is %v but %s_shape[%d] is %d", what, i, v, what, i, shape[i])
			}
		default:
			return fmt.Errorf("model_%s_dims[%d] is %v, neither a size nor an axis name", what, i, d)
		}
	}
	return nil
}
