package triton

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/convert"
	"github.com/wtonnx/wtonnx/customop"
	"github.com/wtonnx/wtonnx/internal/tritonpb"
	"github.com/wtonnx/wtonnx/onnxmodel"
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/runtime"
	"github.com/wtonnx/wtonnx/testmodels"
)

// convertedModel converts a fixture to the given form and saves it.
func convertedModel(t *testing.T, fixture string, format convert.Format) string {
	t.Helper()
	f, err := testmodels.Load(fixture)
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnxmodel.Load(f.ModelPath())
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := convert.Convert(m, convert.Options{Levels: 1, Format: format, Init: convert.InitRandom, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), fixture+"_"+string(format)+".onnx")
	if err := onnxmodel.Save(out, path, onnxmodel.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	return path
}

// readConfig parses a written config.pbtxt with Triton's own schema;
// prototext rejects unknown fields, wrong types and bad enum names.
func readConfig(t *testing.T, path string) *tritonpb.ModelConfig {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c tritonpb.ModelConfig
	if err := prototext.Unmarshal(data, &c); err != nil {
		t.Fatalf("%s does not parse as Triton's ModelConfig: %v\n%s", path, err, data)
	}
	return &c
}

// listFiles returns every file and folder under dir, relative and sorted.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// checkTensors compares config inputs or outputs with the graph's.
func checkTensors(t *testing.T, what string, got []*tritonpb.ModelInput, gotOut []*tritonpb.ModelOutput, want []runtime.TensorInfo, batch bool) {
	t.Helper()
	type view struct {
		name string
		dt   tritonpb.DataType
		dims []int64
	}
	var views []view
	for _, in := range got {
		views = append(views, view{in.GetName(), in.GetDataType(), in.GetDims()})
	}
	for _, out := range gotOut {
		views = append(views, view{out.GetName(), out.GetDataType(), out.GetDims()})
	}
	if len(views) != len(want) {
		t.Fatalf("%s: %d in the config, %d in the model", what, len(views), len(want))
	}
	for i, w := range want {
		v := views[i]
		dims := w.Dims
		if batch {
			dims = dims[1:]
		}
		wantDims := make([]int64, len(dims))
		for j, d := range dims {
			wantDims[j] = max(d, -1)
		}
		wantType := tritonpb.DataType(tritonpb.DataType_value[dataTypes[onnxpb.TensorProto_DataType(w.DType)]])
		if v.name != w.Name || v.dt != wantType || !slices.Equal(v.dims, wantDims) {
			t.Errorf("%s %d: config %s %v %v, model %s %v %v", what, i, v.name, v.dt, v.dims, w.Name, wantType, wantDims)
		}
	}
}

func graphIO(m *onnxpb.ModelProto) (ins, outs []runtime.TensorInfo) {
	inits := map[string]bool{}
	for _, t := range m.GetGraph().GetInitializer() {
		inits[t.GetName()] = true
	}
	for _, vi := range m.GetGraph().GetInput() {
		if !inits[vi.GetName()] {
			ins = append(ins, runtime.InfoFromValueInfo(vi))
		}
	}
	for _, vi := range m.GetGraph().GetOutput() {
		outs = append(outs, runtime.InfoFromValueInfo(vi))
	}
	return ins, outs
}

// An ops-form and a customop-form model with a dynamic batch axis: the
// config parses with Triton's schema and every field matches the model;
// the layout is Triton's; the custom-op library sits beside the model and
// is named in the config.
func TestExportForms(t *testing.T) {
	lib, err := customop.FindLibrary("")
	if err != nil {
		t.Fatal(err)
	}
	libBytes, err := os.ReadFile(lib)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		format    convert.Format
		opts      Options
		wantFiles []string
	}{
		{convert.FormatOps, Options{Kind: KindGPU, Instances: 2, TensorRT: true, MaxBatch: AutoMaxBatch},
			[]string{"m", "m/1", "m/1/model.onnx", "m/config.pbtxt"}},
		{convert.FormatCustomOp, Options{Kind: KindCPU, MaxBatch: 4, ServerRepo: "/srv/triton"},
			[]string{"m", "m/1", "m/1/model.onnx", "m/config.pbtxt", "m/libwtonnx_customop.so"}},
	} {
		t.Run(string(c.format), func(t *testing.T) {
			model := convertedModel(t, "mobilenet_v2_dynamic", c.format)
			before, _ := os.ReadFile(model)
			repo := t.TempDir()
			opts := c.opts
			opts.Model, opts.Repo, opts.Name = model, repo, "m"
			res, err := Export(opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := listFiles(t, repo); !slices.Equal(got, c.wantFiles) {
				t.Errorf("repository holds %q, want %q", got, c.wantFiles)
			}
			if after, _ := os.ReadFile(model); !bytes.Equal(before, after) {
				t.Error("the input model was modified")
			}
			orig, err := onnxmodel.Load(model)
			if err != nil {
				t.Fatal(err)
			}
			written, err := onnxmodel.Load(filepath.Join(repo, "m", "1", "model.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(orig, written) {
				t.Error("model.onnx differs from the exported model")
			}

			cfg := readConfig(t, filepath.Join(repo, "m", "config.pbtxt"))
			if cfg.GetName() != "m" || cfg.GetPlatform() != Platform {
				t.Errorf("name %q platform %q", cfg.GetName(), cfg.GetPlatform())
			}
			wantBatch := int32(DefaultMaxBatch)
			if c.opts.MaxBatch > 0 {
				wantBatch = int32(c.opts.MaxBatch)
			}
			if cfg.GetMaxBatchSize() != wantBatch || cfg.GetDynamicBatching() == nil || res.MaxBatch != int(wantBatch) {
				t.Errorf("max_batch_size %d (want %d), dynamic_batching %v", cfg.GetMaxBatchSize(), wantBatch, cfg.GetDynamicBatching())
			}
			ins, outs := graphIO(orig)
			checkTensors(t, "inputs", cfg.GetInput(), nil, ins, true)
			checkTensors(t, "outputs", nil, cfg.GetOutput(), outs, true)

			wantKind := tritonpb.ModelInstanceGroup_KIND_GPU
			if c.opts.Kind == KindCPU {
				wantKind = tritonpb.ModelInstanceGroup_KIND_CPU
			}
			ig := cfg.GetInstanceGroup()
			if len(ig) != 1 || ig[0].GetKind() != wantKind || ig[0].GetCount() != int32(max(c.opts.Instances, 1)) {
				t.Errorf("instance_group %v", ig)
			}

			libs := cfg.GetModelOperations().GetOpLibraryFilename()
			if c.format == convert.FormatCustomOp {
				want := "/srv/triton/m/" + customop.LibraryFile
				if len(libs) != 1 || libs[0] != want || res.CustomOpLibrary != want {
					t.Errorf("op_library_filename %q, want [%q]", libs, want)
				}
				copied, err := os.ReadFile(filepath.Join(repo, "m", customop.LibraryFile))
				if err != nil || !bytes.Equal(copied, libBytes) {
					t.Errorf("custom-op library not copied intact: %v", err)
				}
			} else if len(libs) != 0 || cfg.GetModelOperations() != nil {
				t.Errorf("ops form names custom-op libraries %q", libs)
			}

			accels := cfg.GetOptimization().GetExecutionAccelerators().GetGpuExecutionAccelerator()
			if c.opts.TensorRT != (len(accels) == 1 && accels[0].GetName() == "tensorrt") {
				t.Errorf("gpu_execution_accelerator %v (tensorrt asked: %v)", accels, c.opts.TensorRT)
			}
		})
	}
}

// A model with a fixed batch axis gets max_batch_size 0 and its full dims;
// asking it to batch is refused, naming the tensor.
func TestExportFixedBatch(t *testing.T) {
	f, err := testmodels.Load("convnext")
	if err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	if _, err := Export(Options{Model: f.ModelPath(), Repo: repo, Name: "cx", Kind: KindCPU, MaxBatch: AutoMaxBatch}); err != nil {
		t.Fatal(err)
	}
	cfg := readConfig(t, filepath.Join(repo, "cx", "config.pbtxt"))
	m, err := onnxmodel.Load(f.ModelPath())
	if err != nil {
		t.Fatal(err)
	}
	ins, outs := graphIO(m)
	if cfg.GetMaxBatchSize() != 0 || cfg.GetDynamicBatching() != nil {
		t.Errorf("max_batch_size %d, dynamic_batching %v", cfg.GetMaxBatchSize(), cfg.GetDynamicBatching())
	}
	checkTensors(t, "inputs", cfg.GetInput(), nil, ins, false)
	checkTensors(t, "outputs", nil, cfg.GetOutput(), outs, false)

	_, err = Export(Options{Model: f.ModelPath(), Repo: repo, Name: "cx2", MaxBatch: 4})
	if err == nil || !strings.Contains(err.Error(), `"`+ins[0].Name+`"`) || !strings.Contains(err.Error(), "--max-batch") {
		t.Errorf("--max-batch 4 on a fixed batch: %v", err)
	}
}

// Bad requests fail with a clear error and leave nothing behind.
func TestExportErrors(t *testing.T) {
	f, err := testmodels.Load("constweights")
	if err != nil {
		t.Fatal(err)
	}
	customModel := convertedModel(t, "mobilenet_v2_dynamic", convert.FormatCustomOp)
	repo := t.TempDir()
	garbage := filepath.Join(t.TempDir(), "garbage.onnx")
	os.WriteFile(garbage, []byte("not a model"), 0o644)
	for _, c := range []struct {
		name string
		opts Options
		want []string
	}{
		{"tensorrt on cpu", Options{Model: f.ModelPath(), Kind: KindCPU, TensorRT: true}, []string{"--tensorrt", "gpu"}},
		{"bad kind", Options{Model: f.ModelPath(), Kind: "tpu"}, []string{`"tpu"`}},
		{"bad name", Options{Model: f.ModelPath(), Name: "../up"}, []string{`"../up"`}},
		{"negative instances", Options{Model: f.ModelPath(), Instances: -2}, []string{"-2"}},
		{"relative server repo", Options{Model: f.ModelPath(), ServerRepo: "models"}, []string{`"models"`, "absolute"}},
		{"garbage model", Options{Model: garbage}, []string{"garbage.onnx"}},
		{"missing model", Options{Model: filepath.Join(repo, "nope.onnx")}, []string{"nope.onnx"}},
		{"missing custom-op library", Options{Model: customModel, CustomOpLibrary: filepath.Join(repo, "libnope.so")},
			[]string{"ai.wtonnx", "libnope.so"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			opts := c.opts
			opts.Repo = repo
			_, err := Export(opts)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not mention %q", err, w)
				}
			}
			if got := listFiles(t, repo); len(got) != 0 {
				t.Errorf("left behind %q", got)
			}
		})
	}

	// A repository folder created for a failed export is removed again.
	fresh := filepath.Join(t.TempDir(), "new-repo")
	if _, err := Export(Options{Model: customModel, Repo: fresh, CustomOpLibrary: filepath.Join(repo, "libnope.so")}); err == nil {
		t.Fatal("no error")
	}
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Errorf("%s left behind (%v)", fresh, err)
	}

	// An existing model folder is kept unless --force.
	if _, err := Export(Options{Model: f.ModelPath(), Repo: repo, Name: "c"}); err != nil {
		t.Fatal(err)
	}
	if _, err := Export(Options{Model: f.ModelPath(), Repo: repo, Name: "c", Kind: KindCPU}); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("second export without --force: %v", err)
	}
	if _, err := Export(Options{Model: f.ModelPath(), Repo: repo, Name: "c", Kind: KindCPU, Force: true}); err != nil {
		t.Fatal(err)
	}
	if cfg := readConfig(t, filepath.Join(repo, "c", "config.pbtxt")); cfg.GetInstanceGroup()[0].GetKind() != tritonpb.ModelInstanceGroup_KIND_CPU {
		t.Error("--force did not replace the model folder")
	}
	if got := listFiles(t, repo); !slices.Equal(got, []string{"c", "c/1", "c/1/model.onnx", "c/config.pbtxt"}) {
		t.Errorf("after --force the repository holds %q", got)
	}
}

// A model that keeps its weights in an external file is written the same
// way: model.onnx and model.onnx.data, loading to the same model.
func TestExportExternalData(t *testing.T) {
	f, err := testmodels.Load("mobilenet_v2")
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnxmodel.Load(f.ModelPath())
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "ext.onnx")
	if err := onnxmodel.Save(m, src, onnxmodel.SaveOptions{ExternalDataThreshold: 256, ExternalDataName: "weights.bin"}); err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	res, err := Export(Options{Model: src, Repo: repo, Kind: KindCPU})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"ext", "ext/1", "ext/1/model.onnx", "ext/1/model.onnx.data", "ext/config.pbtxt"}; !slices.Equal(listFiles(t, repo), want) {
		t.Errorf("repository holds %q, want %q", listFiles(t, repo), want)
	}
	if !slices.Contains(res.Files, filepath.Join("1", "model.onnx.data")) {
		t.Errorf("result files %q", res.Files)
	}
	written, err := onnxmodel.Load(res.Model)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(m, written) {
		t.Error("the exported model differs")
	}
	readConfig(t, res.Config)
}
