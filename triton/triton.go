// Package triton writes a model into a model repository of NVIDIA Triton
// Inference Server for its ONNX Runtime backend:
//
//	REPO/NAME/config.pbtxt               platform "onnxruntime_onnx"
//	REPO/NAME/1/model.onnx               (+ model.onnx.data when the model keeps external data)
//	REPO/NAME/libwtonnx_customop.so      only for models with ai.wtonnx nodes
//
// The configuration is Triton's ModelConfig message in protobuf text format
// (schema: model_config.proto of triton-inference-server/common): inputs and
// outputs with their data types and dims, the batch axis turned into
// max_batch_size with dynamic batching when every input and output has a
// dynamic first axis, instance groups, the custom-op library in
// model_operations, and the TensorRT accelerator on request.
//
// ONNX Runtime runs ai.wtonnx nodes on its CPU execution provider whatever
// the instance kind: on a GPU instance it copies tensors across around them.
// For GPU serving, convert with --format ops (standard operators, all on the
// GPU); the customop form suits CPU instances.
package triton

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/customop"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/runtime"
	"github.com/wtonnx/wtonnx/runtime/engines"
)

// Instance kinds (Triton's instance_group kind).
const (
	KindCPU = "cpu"
	KindGPU = "gpu"
)

// Platform is the Triton platform of ONNX models.
const Platform = "onnxruntime_onnx"

// DefaultMaxBatch is the max_batch_size written for a model whose inputs
// and outputs all have a dynamic batch axis when Options.MaxBatch is
// AutoMaxBatch.
const DefaultMaxBatch = 8

// AutoMaxBatch asks for DefaultMaxBatch when the model can batch, else 0.
const AutoMaxBatch = -1

// ModelFile and VersionDir are the names Triton's ONNX Runtime backend
// looks for: REPO/NAME/1/model.onnx.
const (
	ModelFile  = "model.onnx"
	VersionDir = "1"
)

// Options configures Export.
type Options struct {
	Model string // the ONNX model to export
	Repo  string // the model repository (created if missing)
	// Name is the model's name in the repository; default: the model
	// file's base name without extension.
	Name string
	// MaxBatch is max_batch_size: > 0 makes the first axis of every input
	// and output the batch axis (it must be dynamic in the model), 0
	// disables batching, AutoMaxBatch picks.
	MaxBatch int
	// Instances is the instance count of the instance group (default 1).
	Instances int
	// Kind is KindCPU or KindGPU (default KindGPU).
	Kind string
	// TensorRT adds ONNX Runtime's TensorRT execution provider as the GPU
	// execution accelerator (GPU instances only).
	TensorRT bool
	// CustomOpLibrary is the custom-op library to copy for models with
	// ai.wtonnx nodes; "" means customop.FindLibrary("").
	CustomOpLibrary string
	// ServerRepo is where Triton sees the repository
	// (tritonserver --model-repository); the custom-op library is named by
	// its absolute path there, because ONNX Runtime loads it by that path.
	// Default "/models".
	ServerRepo string
	// Force replaces an existing REPO/NAME.
	Force bool
}

// DefaultServerRepo is Triton's conventional repository mount point.
const DefaultServerRepo = "/models"

// Result describes what Export wrote.
type Result struct {
	Name      string   `json:"name"`
	Dir       string   `json:"dir"`    // REPO/NAME
	Config    string   `json:"config"` // REPO/NAME/config.pbtxt
	Model     string   `json:"model"`  // REPO/NAME/1/model.onnx
	Files     []string `json:"files"`  // every file written, relative to Dir
	MaxBatch  int      `json:"max_batch_size"`
	Kind      string   `json:"kind"`
	Instances int      `json:"instances"`
	TensorRT  bool     `json:"tensorrt"`
	// CustomOpLibrary is the op_library_filename written ("" when the
	// model has no ai.wtonnx nodes).
	CustomOpLibrary string `json:"custom_op_library,omitempty"`
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

// Export writes the model into the repository. Nothing is left behind when
// it fails: the model folder is built under a temporary name in REPO and
// renamed into place at the end. The input model is not modified.
func Export(opts Options) (*Result, error) {
	if opts.Model == "" || opts.Repo == "" {
		return nil, errors.New("export triton: a model and a repository folder are needed")
	}
	kind := strings.ToLower(strings.TrimSpace(opts.Kind))
	switch kind {
	case "":
		kind = KindGPU
	case KindCPU, KindGPU:
	default:
		return nil, fmt.Errorf("export triton: unknown instance kind %q (want cpu or gpu)", opts.Kind)
	}
	if opts.TensorRT && kind != KindGPU {
		return nil, errors.New("export triton: --tensorrt needs --kind gpu (TensorRT is a GPU execution accelerator)")
	}
	instances := opts.Instances
	if instances == 0 {
		instances = 1
	}
	if instances < 0 {
		return nil, fmt.Errorf("export triton: instance count %d is negative", opts.Instances)
	}
	if opts.MaxBatch < AutoMaxBatch {
		return nil, fmt.Errorf("export triton: max batch %d is negative", opts.MaxBatch)
	}
	name := opts.Name
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(opts.Model), filepath.Ext(opts.Model))
	}
	if !nameRE.MatchString(name) {
		return nil, fmt.Errorf("export triton: model name %q: use letters, digits, '_', '.' and '-' (it names a folder of the repository)", name)
	}
	serverRepo := opts.ServerRepo
	if serverRepo == "" {
		serverRepo = DefaultServerRepo
	}
	if !filepath.IsAbs(serverRepo) {
		return nil, fmt.Errorf("export triton: server repository path %q must be absolute", serverRepo)
	}
	if st, err := os.Stat(opts.Repo); err == nil && !st.IsDir() {
		return nil, fmt.Errorf("export triton: %s is a file, not a repository folder", opts.Repo)
	}
	dest := filepath.Join(opts.Repo, name)
	if _, err := os.Lstat(dest); err == nil && !opts.Force {
		return nil, fmt.Errorf("export triton: %s exists (use --force to replace it)", dest)
	}

	m, err := onnxmodel.Load(opts.Model)
	if err != nil {
		return nil, fmt.Errorf("export triton: %w", err)
	}
	cfg, err := configFor(m, name, opts.MaxBatch)
	if err != nil {
		return nil, fmt.Errorf("export triton: %s: %w", opts.Model, err)
	}
	cfg.kind, cfg.instances, cfg.tensorRT = kind, instances, opts.TensorRT
	var customLib string
	if engines.UsesCustomOps(m) {
		if customLib, err = customop.FindLibrary(opts.CustomOpLibrary); err != nil {
			return nil, fmt.Errorf("export triton: %s has %s nodes, which need wtonnx's custom-op library: %w", opts.Model, customop.Domain, err)
		}
		cfg.opLibrary = filepath.ToSlash(filepath.Join(serverRepo, name, customop.LibraryFile))
	}

	_, statErr := os.Stat(opts.Repo)
	createdRepo := errors.Is(statErr, os.ErrNotExist)
	if err := os.MkdirAll(opts.Repo, 0o755); err != nil {
		return nil, fmt.Errorf("export triton: %w", err)
	}
	tmp, err := os.MkdirTemp(opts.Repo, "."+name+".tmp-")
	if err != nil {
		return nil, fmt.Errorf("export triton: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
			if createdRepo {
				os.Remove(opts.Repo) // only if still empty
			}
		}
	}()
	res := &Result{Name: name, Dir: dest, Config: filepath.Join(dest, "config.pbtxt"),
		Model: filepath.Join(dest, VersionDir, ModelFile), MaxBatch: cfg.maxBatch, Kind: kind,
		Instances: instances, TensorRT: opts.TensorRT, CustomOpLibrary: cfg.opLibrary}

	if err := os.Mkdir(filepath.Join(tmp, VersionDir), 0o755); err != nil {
		return nil, fmt.Errorf("export triton: %w", err)
	}
	save := onnxmodel.SaveOptions{}
	if hasExternalData(opts.Model) {
		// Keep the weights outside model.onnx, as the original did.
		save.ExternalDataThreshold, save.ExternalDataName = 1024, ModelFile+".data"
	}
	if err := onnxmodel.Save(m, filepath.Join(tmp, VersionDir, ModelFile), save); err != nil {
		return nil, fmt.Errorf("export triton: %w", err)
	}
	res.Files = append(res.Files, "config.pbtxt", filepath.Join(VersionDir, ModelFile))
	if save.ExternalDataName != "" {
		if _, err := os.Stat(filepath.Join(tmp, VersionDir, save.ExternalDataName)); err == nil {
			res.Files = append(res.Files, filepath.Join(VersionDir, save.ExternalDataName))
		}
	}
	if customLib != "" {
		if err := copyFile(customLib, filepath.Join(tmp, customop.LibraryFile)); err != nil {
			return nil, fmt.Errorf("export triton: copying the custom-op library: %w", err)
		}
		res.Files = append(res.Files, customop.LibraryFile)
	}
	if err := os.WriteFile(filepath.Join(tmp, "config.pbtxt"), []byte(cfg.text()), 0o644); err != nil {
		return nil, fmt.Errorf("export triton: %w", err)
	}

	if opts.Force {
		if _, err := os.Lstat(dest); err == nil {
			old := tmp + ".old"
			if err := os.Rename(dest, old); err != nil {
				return nil, fmt.Errorf("export triton: replacing %s: %w", dest, err)
			}
			defer os.RemoveAll(old)
		}
	}
	if err := os.Rename(tmp, dest); err != nil {
		return nil, fmt.Errorf("export triton: %w", err)
	}
	ok = true
	return res, nil
}

// hasExternalData reports whether the model file keeps tensors in external
// files (it is re-read cheaply: only the flag matters).
func hasExternalData(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(data, &m); err != nil {
		return false
	}
	for _, t := range m.GetGraph().GetInitializer() {
		if t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
			return true
		}
	}
	return false
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// tensorConfig is one input or output of the configuration.
type tensorConfig struct {
	name     string
	dataType string
	dims     []int64
	reshape  bool // dims [1] standing for a scalar (Triton needs one dim)
}

type modelConfig struct {
	name            string
	maxBatch        int
	inputs, outputs []tensorConfig
	kind            string
	instances       int
	tensorRT        bool
	opLibrary       string
}

// configFor derives inputs, outputs and the batch size from the graph.
func configFor(m *onnxpb.ModelProto, name string, maxBatch int) (*modelConfig, error) {
	g := m.GetGraph()
	inits := map[string]bool{}
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = true
	}
	var ins, outs []runtime.TensorInfo
	for _, vi := range g.GetInput() {
		if !inits[vi.GetName()] {
			ins = append(ins, runtime.InfoFromValueInfo(vi))
		}
	}
	for _, vi := range g.GetOutput() {
		outs = append(outs, runtime.InfoFromValueInfo(vi))
	}
	if len(ins) == 0 || len(outs) == 0 {
		return nil, errors.New("the graph needs at least one input and one output")
	}
	all := append(append([]runtime.TensorInfo{}, ins...), outs...)
	// The batch axis: the first axis of every input and output, dynamic.
	var fixed string
	for _, t := range all {
		if t.Dims == nil {
			return nil, fmt.Errorf("%q has no known rank; Triton needs the dims of every input and output", t.Name)
		}
		if fixed == "" && (len(t.Dims) == 0 || t.Dims[0] >= 0) {
			fixed = fmt.Sprintf("%q has shape %s", t.Name, dimsText(t))
		}
	}
	switch {
	case maxBatch == AutoMaxBatch && fixed == "":
		maxBatch = DefaultMaxBatch
	case maxBatch == AutoMaxBatch:
		maxBatch = 0
	case maxBatch > 0 && fixed != "":
		return nil, fmt.Errorf("--max-batch %d needs a dynamic first (batch) axis on every input and output, but %s; "+
			"use --max-batch 0, or export the model with a dynamic batch axis", maxBatch, fixed)
	}
	c := &modelConfig{name: name, maxBatch: maxBatch}
	conv := func(list []runtime.TensorInfo) ([]tensorConfig, error) {
		var out []tensorConfig
		for _, t := range list {
			dt, ok := dataTypes[onnxpb.TensorProto_DataType(t.DType)]
			if !ok {
				return nil, fmt.Errorf("%q has element type %v, which Triton's ONNX Runtime backend does not take",
					t.Name, onnxpb.TensorProto_DataType(t.DType))
			}
			dims := t.Dims
			if maxBatch > 0 {
				dims = dims[1:]
			}
			tc := tensorConfig{name: t.Name, dataType: dt}
			for _, d := range dims {
				if d < 0 {
					d = -1
				}
				tc.dims = append(tc.dims, d)
			}
			if len(tc.dims) == 0 {
				tc.dims, tc.reshape = []int64{1}, true
			}
			out = append(out, tc)
		}
		return out, nil
	}
	var err error
	if c.inputs, err = conv(ins); err != nil {
		return nil, err
	}
	if c.outputs, err = conv(outs); err != nil {
		return nil, err
	}
	return c, nil
}

func dimsText(t runtime.TensorInfo) string {
	parts := make([]string, len(t.Dims))
	for i, d := range t.Dims {
		switch {
		case d >= 0:
			parts[i] = strconv.FormatInt(d, 10)
		case i < len(t.DimNames) && t.DimNames[i] != "":
			parts[i] = t.DimNames[i]
		default:
			parts[i] = "?"
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// dataTypes maps ONNX element types to Triton's DataType names.
var dataTypes = map[onnxpb.TensorProto_DataType]string{
	onnxpb.TensorProto_BOOL: "TYPE_BOOL", onnxpb.TensorProto_UINT8: "TYPE_UINT8", onnxpb.TensorProto_UINT16: "TYPE_UINT16",
	onnxpb.TensorProto_UINT32: "TYPE_UINT32", onnxpb.TensorProto_UINT64: "TYPE_UINT64", onnxpb.TensorProto_INT8: "TYPE_INT8",
	onnxpb.TensorProto_INT16: "TYPE_INT16", onnxpb.TensorProto_INT32: "TYPE_INT32", onnxpb.TensorProto_INT64: "TYPE_INT64",
	onnxpb.TensorProto_FLOAT16: "TYPE_FP16", onnxpb.TensorProto_FLOAT: "TYPE_FP32", onnxpb.TensorProto_DOUBLE: "TYPE_FP64",
	onnxpb.TensorProto_STRING: "TYPE_STRING", onnxpb.TensorProto_BFLOAT16: "TYPE_BF16",
}

// text renders the configuration in protobuf text format.
func (c *modelConfig) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nplatform: %q\nmax_batch_size: %d\n", strconv.Quote(c.name), Platform, c.maxBatch)
	tensors := func(field string, list []tensorConfig) {
		fmt.Fprintf(&b, "%s [\n", field)
		for i, t := range list {
			fmt.Fprintf(&b, "  {\n    name: %s\n    data_type: %s\n    dims: [ %s ]\n", strconv.Quote(t.name), t.dataType, joinInts(t.dims))
			if t.reshape {
				b.WriteString("    reshape: { shape: [ ] }\n")
			}
			b.WriteString("  }")
			if i < len(list)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString("]\n")
	}
	tensors("input", c.inputs)
	tensors("output", c.outputs)
	if c.maxBatch > 0 {
		b.WriteString("dynamic_batching { }\n")
	}
	fmt.Fprintf(&b, "instance_group [\n  {\n    count: %d\n    kind: KIND_%s\n  }\n]\n", c.instances, strings.ToUpper(c.kind))
	if c.opLibrary != "" {
		fmt.Fprintf(&b, "model_operations {\n  op_library_filename: [ %s ]\n}\n", strconv.Quote(c.opLibrary))
	}
	if c.tensorRT {
		b.WriteString("optimization {\n  execution_accelerators {\n    gpu_execution_accelerator: [\n      { name: \"tensorrt\" }\n    ]\n  }\n}\n")
	}
	return b.String()
}

func joinInts(v []int64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatInt(x, 10)
	}
	return strings.Join(s, ", ")
}
