package goexec

import (
	"github.com/wtonnx/wtonnx/onnxpb"
	"github.com/wtonnx/wtonnx/opset"
	"github.com/wtonnx/wtonnx/tensor"
)

// kernelFunc runs one node. in holds nil for absent optional inputs. It must
// not modify its inputs and returns fresh (or input-aliasing, never mutated)
// tensors.
type kernelFunc func(rc *runCtx, in []*tensor.Tensor) ([]*tensor.Tensor, error)

// kernel is the Go engine's half of an operator's registry entry (the
// schema half, with versions, attribute checks and shape rule, is in
// package opset): how to build the node's kernel and, for operators that
// take part in fusions, the hooks the fuser uses.
type kernel struct {
	build func(b *buildCtx) (kernelFunc, error)
	// epilogue, when set, builds the kernel with a fused activation (Conv).
	epilogue func(b *buildCtx) (func(*unaryOp) kernelFunc, error)
	// bias, when set and ok, builds the kernel with a fused bias Add of
	// biasLen columns and an optional activation (MatMul by a constant).
	bias func(b *buildCtx) (withBias func(bias []float32, epi *unaryOp) kernelFunc, biasLen int, ok bool)
	// act, when set, describes the node as an activation that can be
	// fused into a preceding Conv, MatMul or bias Add (nil when it cannot).
	act func(b *buildCtx) *unaryOp
}

// buildCtx is what a builder sees of the node being prepared.
type buildCtx struct {
	node   *onnxpb.NodeProto
	opset  int64
	attrs  attrs
	consts map[string]*tensor.Tensor
	// overridable holds initializers a Run may replace (not constants).
	overridable map[string]bool
	// constOut, when a builder sets it, is the node's (single) output value
	// computed at Open; the node is then not executed.
	constOut *tensor.Tensor
}

func (b *buildCtx) numIn() int {
	n := len(b.node.GetInput())
	for n > 0 && b.node.GetInput()[n-1] == "" {
		n--
	}
	return n
}

func (b *buildCtx) numOut() int {
	n := len(b.node.GetOutput())
	for n > 0 && b.node.GetOutput()[n-1] == "" {
		n--
	}
	return n
}

// hasIn reports whether optional input i is given.
func (b *buildCtx) hasIn(i int) bool {
	return i < len(b.node.GetInput()) && b.node.GetInput()[i] != ""
}

// constIn returns input i when it is an initializer or constant.
func (b *buildCtx) constIn(i int) (*tensor.Tensor, bool) {
	if !b.hasIn(i) {
		return nil, false
	}
	t, ok := b.consts[b.node.GetInput()[i]]
	return t, ok
}

// WTConvDomain is the domain of the fused WTConv operator.
const WTConvDomain = opset.WTConvDomain

// MaxOpset is the newest ai.onnx operator-set version this engine knows.
const MaxOpset = opset.MaxVersion

// Operators returns the schemas of the operators this engine runs, sorted
// by domain and name: every schema of package opset (a test keeps every
// schema paired with a kernel here).
func Operators() []*opset.Schema { return opset.All() }

// kernels attaches a kernel to every operator of the opset registry; it is
// built once and only read.
var kernels = map[opset.Key]kernel{
	// Fusion hooks: Conv takes an activation epilogue, MatMul a bias and
	// activation, and the activations say what they fuse as.
	{Name: "Add"}:                   {build: buildBinary("Add")},
	{Name: "Sub"}:                   {build: buildBinary("Sub")},
	{Name: "Mul"}:                   {build: buildBinary("Mul")},
	{Name: "Div"}:                   {build: buildBinary("Div")},
	{Name: "Pow"}:                   {build: buildBinary("Pow")},
	{Name: "PRelu"}:                 {build: buildBinary("PRelu")},
	{Name: "Mod"}:                   {build: buildBinary("Mod")},
	{Name: "Equal"}:                 {build: buildBinary("Equal")},
	{Name: "Less"}:                  {build: buildBinary("Less")},
	{Name: "Greater"}:               {build: buildBinary("Greater")},
	{Name: "Max"}:                   {build: buildVariadic("Max")},
	{Name: "Min"}:                   {build: buildVariadic("Min")},
	{Name: "Sum"}:                   {build: buildVariadic("Sum")},
	{Name: "Relu"}:                  {build: buildUnary("Relu"), act: activationOf},
	{Name: "Sigmoid"}:               {build: buildUnary("Sigmoid"), act: activationOf},
	{Name: "Tanh"}:                  {build: buildUnary("Tanh"), act: activationOf},
	{Name: "Erf"}:                   {build: buildUnary("Erf")},
	{Name: "Sqrt"}:                  {build: buildUnary("Sqrt")},
	{Name: "Exp"}:                   {build: buildUnary("Exp")},
	{Name: "Log"}:                   {build: buildUnary("Log")},
	{Name: "Neg"}:                   {build: buildUnary("Neg")},
	{Name: "Abs"}:                   {build: buildUnary("Abs")},
	{Name: "Reciprocal"}:            {build: buildUnary("Reciprocal")},
	{Name: "Floor"}:                 {build: buildUnary("Floor")},
	{Name: "Ceil"}:                  {build: buildUnary("Ceil")},
	{Name: "HardSigmoid"}:           {build: buildUnary("HardSigmoid"), act: activationOf},
	{Name: "HardSwish"}:             {build: buildUnary("HardSwish"), act: activationOf},
	{Name: "LeakyRelu"}:             {build: buildUnary("LeakyRelu"), act: activationOf},
	{Name: "Gelu"}:                  {build: buildUnary("Gelu")},
	{Name: "Elu"}:                   {build: buildUnary("Elu")},
	{Name: "Selu"}:                  {build: buildUnary("Selu")},
	{Name: "Round"}:                 {build: buildUnary("Round")},
	{Name: "Softplus"}:              {build: buildUnary("Softplus")},
	{Name: "Softsign"}:              {build: buildUnary("Softsign")},
	{Name: "Mish"}:                  {build: buildUnary("Mish")},
	{Name: "Sign"}:                  {build: buildUnary("Sign")},
	{Name: "Not"}:                   {build: buildUnary("Not")},
	{Name: "Clip"}:                  {build: buildClip, act: activationOf},
	{Name: "Identity"}:              {build: buildIdentity},
	{Name: "Dropout"}:               {build: buildDropout},
	{Name: "Constant"}:              {build: buildConstant},
	{Name: "ConstantOfShape"}:       {build: buildConstantOfShape},
	{Name: "Shape"}:                 {build: buildShape},
	{Name: "Reshape"}:               {build: buildReshape},
	{Name: "Flatten"}:               {build: buildFlatten},
	{Name: "Squeeze"}:               {build: buildSqueeze},
	{Name: "Unsqueeze"}:             {build: buildUnsqueeze},
	{Name: "Transpose"}:             {build: buildTranspose},
	{Name: "Concat"}:                {build: buildConcat},
	{Name: "Slice"}:                 {build: buildSlice},
	{Name: "Split"}:                 {build: buildSplit},
	{Name: "Gather"}:                {build: buildGather},
	{Name: "Expand"}:                {build: buildExpand},
	{Name: "Tile"}:                  {build: buildTile},
	{Name: "Cast"}:                  {build: buildCast},
	{Name: "Pad"}:                   {build: buildPad},
	{Name: "Conv"}:                  {build: buildConv, epilogue: convEpilogue},
	{Name: "ConvTranspose"}:         {build: buildConvTranspose},
	{Name: "MaxPool"}:               {build: buildPool("MaxPool")},
	{Name: "AveragePool"}:           {build: buildPool("AveragePool")},
	{Name: "GlobalAveragePool"}:     {build: buildGlobalPool("GlobalAveragePool")},
	{Name: "GlobalMaxPool"}:         {build: buildGlobalPool("GlobalMaxPool")},
	{Name: "BatchNormalization"}:    {build: buildBatchNorm},
	{Name: "LayerNormalization"}:    {build: buildLayerNorm},
	{Name: "InstanceNormalization"}: {build: buildInstanceNorm},
	{Name: "Softmax"}:               {build: buildSoftmax},
	{Name: "LogSoftmax"}:            {build: buildSoftmax},
	{Name: "LRN"}:                   {build: buildLRN},
	{Name: "MatMul"}:                {build: buildMatMul, bias: matmulBias},
	{Name: "Gemm"}:                  {build: buildGemm},
	{Name: "Where"}:                 {build: buildWhere},
	{Name: "ReduceMean"}:            {build: buildReduce("ReduceMean")},
	{Name: "ReduceSum"}:             {build: buildReduce("ReduceSum")},
	{Name: "ReduceMax"}:             {build: buildReduce("ReduceMax")},
	{Name: "ReduceMin"}:             {build: buildReduce("ReduceMin")},
	{Name: "Resize"}:                {build: buildResize},
	{Name: "Mean"}:                  {build: buildVariadic("Mean")},
	{Name: "LessOrEqual"}:           {build: buildBinary("LessOrEqual")},
	{Name: "GreaterOrEqual"}:        {build: buildBinary("GreaterOrEqual")},
	{Name: "And"}:                   {build: buildBinary("And")},
	{Name: "Or"}:                    {build: buildBinary("Or")},
	{Name: "Xor"}:                   {build: buildBinary("Xor")},
	{Name: "Sin"}:                   {build: buildUnary("Sin")},
	{Name: "Cos"}:                   {build: buildUnary("Cos")},
	{Name: "ImageScaler"}:           {build: buildImageScaler},
	{Name: "Size"}:                  {build: buildSize},
	{Name: "Upsample"}:              {build: buildResize},
	{Name: "DepthToSpace"}:          {build: buildDepthToSpace},
	{Name: "SpaceToDepth"}:          {build: buildDepthToSpace},
	{Name: "ArgMax"}:                {build: buildArgExtreme},
	{Name: "ArgMin"}:                {build: buildArgExtreme},
	{Name: "Range"}:                 {build: buildRange},
	{Domain: opset.WTConvDomain, Name: "WTConv"}: {build: buildWTConv},
}
