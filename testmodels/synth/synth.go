// Package synth builds large synthetic ONNX models in memory for benchmarks:
// models too big to commit, with the structure of real ones and seeded
// random weights.
//
// ConvNeXtTiny builds a model with ConvNeXt-T's layout (stem 4x4/4 conv,
// stages of depths 3-3-9-3 and widths 96-192-384-768, 7x7 depthwise convs,
// about 28.6M parameters, 110 MB of float32 weights). ConvNeXt builds the
// same layout at any widths and depths, so tests can use a tiny one.
//
// The models use only standard opset-17 operators: Conv, Transpose,
// LayerNormalization, Div, Erf, Add, Mul, GlobalAveragePool, Flatten and
// Gemm. Each block is
//
//	x -> Conv 7x7 depthwise (pad 3) -> Transpose NHWC -> LayerNormalization
//	  -> Transpose NCHW -> Conv 1x1 (C -> 4C) -> GELU -> Conv 1x1 (4C -> C)
//	  -> Mul layer scale -> Add x
//
// with GELU written as x * 0.5 * (1 + Erf(x / sqrt 2)). Weights are stored
// as raw_data initializers generated straight into their byte buffers.
package synth

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"

	"google.golang.org/protobuf/proto"

	"github.com/wtonnx/wtonnx/onnxpb"
)

// Config describes a ConvNeXt-style model.
type Config struct {
	Depths  []int // blocks per stage
	Dims    []int // channels per stage, same length as Depths
	Classes int   // outputs of the classifier
	Image   int   // height and width of the square input (a multiple of 4 * 2^(stages-1))
	Seed    uint64
}

// TinyConfig is ConvNeXt-T's configuration: depths 3-3-9-3, dims
// 96-192-384-768, 1000 classes, 224x224 input.
func TinyConfig(seed uint64) Config {
	return Config{Depths: []int{3, 3, 9, 3}, Dims: []int{96, 192, 384, 768}, Classes: 1000, Image: 224, Seed: seed}
}

// Names of the graph's input and output.
const (
	InputName  = "input"
	OutputName = "logits"
)

// Versions of the generated model.
const (
	IRVersion = 8
	Opset     = 17
)

// ConvNeXtTiny returns a ConvNeXt-T-sized model with random weights drawn
// from seed. The same seed gives the same model.
func ConvNeXtTiny(seed uint64) *onnxpb.ModelProto {
	m, err := ConvNeXt(TinyConfig(seed))
	if err != nil {
		panic(err) // TinyConfig is valid
	}
	return m
}

// Validate reports what is wrong with c, if anything.
func (c Config) Validate() error {
	if len(c.Depths) == 0 || len(c.Depths) != len(c.Dims) {
		return fmt.Errorf("synth: %d depths for %d dims (need the same number, at least one)", len(c.Depths), len(c.Dims))
	}
	for i := range c.Depths {
		if c.Depths[i] < 1 || c.Dims[i] < 1 {
			return fmt.Errorf("synth: stage %d has depth %d and dim %d (both must be positive)", i, c.Depths[i], c.Dims[i])
		}
	}
	if c.Classes < 1 {
		return fmt.Errorf("synth: %d classes", c.Classes)
	}
	div := 4 << (len(c.Depths) - 1)
	if c.Image < div || c.Image%div != 0 {
		return fmt.Errorf("synth: image size %d is not a positive multiple of %d (stem stride 4, then %d 2x downsamplings)", c.Image, div, len(c.Depths)-1)
	}
	return nil
}

// ConvNeXt builds the model c describes.
func ConvNeXt(c Config) (*onnxpb.ModelProto, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	b := &builder{
		g:   &onnxpb.GraphProto{Name: proto.String(fmt.Sprintf("synth_convnext_%s", dimsString(c.Dims)))},
		rng: rand.New(rand.NewPCG(c.Seed, 0x5eed_c0de_0f_7e57)),
	}
	b.g.Input = []*onnxpb.ValueInfoProto{floatValue(InputName, 1, 3, int64(c.Image), int64(c.Image))}
	b.g.Output = []*onnxpb.ValueInfoProto{floatValue(OutputName, 1, int64(c.Classes))}
	b.scalar("gelu.sqrt2", float32(math.Sqrt2))
	b.scalar("gelu.one", 1)
	b.scalar("gelu.half", 0.5)

	x := b.conv("stem/conv", InputName, 3, c.Dims[0], 4, 4, 0, 1)
	x = b.layerNorm2d("stem/norm", x, c.Dims[0])
	for s, depth := range c.Depths {
		dim := c.Dims[s]
		if s > 0 {
			p := fmt.Sprintf("stage%d/downsample", s)
			x = b.layerNorm2d(p+"/norm", x, c.Dims[s-1])
			x = b.conv(p+"/conv", x, c.Dims[s-1], dim, 2, 2, 0, 1)
		}
		for i := 0; i < depth; i++ {
			x = b.block(fmt.Sprintf("stage%d/block%d", s, i), x, dim)
		}
	}
	last := c.Dims[len(c.Dims)-1]
	x = b.node("GlobalAveragePool", "head/pool", []string{x})
	x = b.node("Flatten", "head/flatten", []string{x}, attrInt("axis", 1))
	x = b.node("LayerNormalization", "head/norm", []string{x, b.uniform("head/norm.weight", 0.5, 1.5, last), b.uniform("head/norm.bias", -0.2, 0.2, last)},
		attrInt("axis", -1), attrFloat("epsilon", 1e-6))
	w := b.he("head/fc.weight", last, c.Classes, last)
	bias := b.uniform("head/fc.bias", -0.05, 0.05, c.Classes)
	b.nodeOut("Gemm", "head/fc", []string{x, w, bias}, OutputName, attrInt("transB", 1))

	m := &onnxpb.ModelProto{
		IrVersion:       proto.Int64(IRVersion),
		ProducerName:    proto.String("wtonnx testmodels/synth"),
		ProducerVersion: proto.String("1"),
		DocString: proto.String(fmt.Sprintf("synthetic ConvNeXt: depths %v, dims %v, %d classes, %dx%d input, seed %d, %d parameters",
			c.Depths, c.Dims, c.Classes, c.Image, c.Image, c.Seed, b.params)),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(Opset)}},
		Graph:       b.g,
	}
	return m, nil
}

// ParamCount is the number of elements in m's initializers.
func ParamCount(m *onnxpb.ModelProto) int64 {
	var n int64
	for _, t := range m.GetGraph().GetInitializer() {
		e := int64(1)
		for _, d := range t.GetDims() {
			e *= d
		}
		n += e
	}
	return n
}

type builder struct {
	g      *onnxpb.GraphProto
	rng    *rand.Rand
	params int64
}

// block appends one ConvNeXt block to x (dim channels) and returns its output.
func (b *builder) block(p, x string, dim int) string {
	y := b.conv(p+"/dwconv", x, dim, dim, 7, 1, 3, dim)
	y = b.layerNorm2d(p+"/norm", y, dim)
	y = b.conv(p+"/pwconv1", y, dim, 4*dim, 1, 1, 0, 1)
	y = b.gelu(p+"/gelu", y)
	y = b.conv(p+"/pwconv2", y, 4*dim, dim, 1, 1, 0, 1)
	y = b.node("Mul", p+"/layer_scale", []string{y, b.uniform(p+"/layer_scale.weight", 0.25, 0.75, dim, 1, 1)})
	return b.node("Add", p+"/residual", []string{y, x})
}

// conv adds a Conv with a k x k kernel, given stride, symmetric padding and
// group, He-initialised weight and a small random bias.
func (b *builder) conv(name, x string, in, out, k, stride, pad, group int) string {
	fanIn := in / group * k * k
	w := b.he(name+".weight", fanIn, out, in/group, k, k)
	bias := b.uniform(name+".bias", -0.05, 0.05, out)
	return b.node("Conv", name, []string{x, w, bias},
		attrInts("kernel_shape", k, k), attrInts("strides", stride, stride),
		attrInts("pads", pad, pad, pad, pad), attrInts("dilations", 1, 1), attrInt("group", int64(group)))
}

// layerNorm2d normalises an NCHW tensor over its channels.
func (b *builder) layerNorm2d(p, x string, dim int) string {
	y := b.node("Transpose", p+"/to_nhwc", []string{x}, attrInts("perm", 0, 2, 3, 1))
	y = b.node("LayerNormalization", p+"/ln", []string{y, b.uniform(p+".weight", 0.5, 1.5, dim), b.uniform(p+".bias", -0.2, 0.2, dim)},
		attrInt("axis", -1), attrFloat("epsilon", 1e-6))
	return b.node("Transpose", p+"/to_nchw", []string{y}, attrInts("perm", 0, 3, 1, 2))
}

// gelu adds x * 0.5 * (1 + Erf(x / sqrt 2)).
func (b *builder) gelu(p, x string) string {
	y := b.node("Div", p+"/div", []string{x, "gelu.sqrt2"})
	y = b.node("Erf", p+"/erf", []string{y})
	y = b.node("Add", p+"/add", []string{y, "gelu.one"})
	y = b.node("Mul", p+"/mul", []string{x, y})
	return b.node("Mul", p+"/half", []string{y, "gelu.half"})
}

// node adds a node named name whose single output is name + ":0".
func (b *builder) node(op, name string, inputs []string, attrs ...*onnxpb.AttributeProto) string {
	return b.nodeOut(op, name, inputs, name+":0", attrs...)
}

func (b *builder) nodeOut(op, name string, inputs []string, out string, attrs ...*onnxpb.AttributeProto) string {
	b.g.Node = append(b.g.Node, &onnxpb.NodeProto{
		Name: proto.String(name), OpType: proto.String(op),
		Input: inputs, Output: []string{out}, Attribute: attrs,
	})
	return out
}

// he adds an initializer of the given dims filled uniformly with variance
// 2 / fanIn.
func (b *builder) he(name string, fanIn int, dims ...int) string {
	a := math.Sqrt(3 * 2 / float64(fanIn))
	return b.uniform(name, -a, a, dims...)
}

// uniform adds an initializer of the given dims filled uniformly from
// [lo, hi), written straight into its raw_data.
func (b *builder) uniform(name string, lo, hi float64, dims ...int) string {
	n := 1
	d64 := make([]int64, len(dims))
	for i, d := range dims {
		n *= d
		d64[i] = int64(d)
	}
	raw := make([]byte, 4*n)
	scale := float32((hi - lo) / (1 << 24))
	for i := 0; i < n; i += 2 {
		r := b.rng.Uint64()
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(float32(lo)+float32(r>>40)*scale))
		if i+1 < n {
			binary.LittleEndian.PutUint32(raw[4*i+4:], math.Float32bits(float32(lo)+float32((r>>8)&(1<<24-1))*scale))
		}
	}
	b.addInit(name, d64, raw)
	return name
}

func (b *builder) scalar(name string, v float32) {
	raw := binary.LittleEndian.AppendUint32(nil, math.Float32bits(v))
	b.addInit(name, nil, raw)
}

func (b *builder) addInit(name string, dims []int64, raw []byte) {
	b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{
		Name: proto.String(name), Dims: dims,
		DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), RawData: raw,
	})
	b.params += int64(len(raw) / 4)
}

func floatValue(name string, dims ...int64) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{
			Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	return &onnxpb.ValueInfoProto{
		Name: proto.String(name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Shape: shape}}},
	}
}

func attrInt(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func attrFloat(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

func attrInts(name string, vs ...int) *onnxpb.AttributeProto {
	a := &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum()}
	for _, v := range vs {
		a.Ints = append(a.Ints, int64(v))
	}
	return a
}

func dimsString(dims []int) string {
	s := ""
	for i, d := range dims {
		if i > 0 {
			s += "_"
		}
		s += fmt.Sprint(d)
	}
	return s
}
