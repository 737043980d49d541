// A minimal ONNX Runtime custom-op library for runtime/ort's tests: op
// "Double" of domain "test.wtonnx" returns 2*x for a float tensor x.
// Every OrtCustomOp callback up to the declared version is filled in, since
// ONNX Runtime calls some of them without checking for NULL.
#include <stddef.h>
#include <stdint.h>

#include "onnxruntime_c_api.h"

static const OrtApi *api;

static void *create_kernel(const OrtCustomOp *op, const OrtApi *a, const OrtKernelInfo *info) {
	(void)op;
	(void)a;
	(void)info;
	static int kernel;
	return &kernel;
}
static const char *get_name(const OrtCustomOp *op) { (void)op; return "Double"; }
static const char *get_ep(const OrtCustomOp *op) { (void)op; return "CPUExecutionProvider"; }
static ONNXTensorElementDataType get_type(const OrtCustomOp *op, size_t i) {
	(void)op;
	(void)i;
	return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
}
static size_t one(const OrtCustomOp *op) { (void)op; return 1; }
static OrtCustomOpInputOutputCharacteristic required(const OrtCustomOp *op, size_t i) {
	(void)op;
	(void)i;
	return INPUT_OUTPUT_REQUIRED;
}
static OrtMemType mem_type(const OrtCustomOp *op, size_t i) {
	(void)op;
	(void)i;
	return OrtMemTypeDefault;
}
static int int_one(const OrtCustomOp *op) { (void)op; return 1; }
static int int_big(const OrtCustomOp *op) { (void)op; return 1 << 30; }
static size_t no_pairs(int **in, int **out) {
	*in = NULL;
	*out = NULL;
	return 0;
}
static void release_pairs(int *in, int *out) {
	(void)in;
	(void)out;
}

static void compute(void *kernel, OrtKernelContext *ctx) {
	(void)kernel;
	const OrtValue *x = NULL;
	OrtTensorTypeAndShapeInfo *info = NULL;
	size_t rank = 0, n = 0;
	int64_t dims[16];
	OrtValue *y = NULL;
	const float *in = NULL;
	float *out = NULL;
	if (api->KernelContext_GetInput(ctx, 0, &x) || api->GetTensorTypeAndShape(x, &info)) return;
	if (api->GetDimensionsCount(info, &rank) || rank > 16 || api->GetDimensions(info, dims, rank) ||
	    api->GetTensorShapeElementCount(info, &n)) {
		api->ReleaseTensorTypeAndShapeInfo(info);
		return;
	}
	api->ReleaseTensorTypeAndShapeInfo(info);
	if (api->KernelContext_GetOutput(ctx, 0, dims, rank, &y)) return;
	if (api->GetTensorData(x, (const void **)&in) || api->GetTensorMutableData(y, (void **)&out)) return;
	for (size_t i = 0; i < n; i++) out[i] = 2 * in[i];
}
static void destroy_kernel(void *kernel) { (void)kernel; }

static OrtCustomOp op;

OrtStatus *RegisterCustomOps(OrtSessionOptions *options, const OrtApiBase *base) {
	OrtCustomOpDomain *domain = NULL;
	OrtStatus *st;
	api = base->GetApi(ORT_API_VERSION);
	if (!api) return NULL;
	op.version = ORT_API_VERSION;
	op.CreateKernel = create_kernel;
	op.GetName = get_name;
	op.GetExecutionProviderType = get_ep;
	op.GetInputType = get_type;
	op.GetInputTypeCount = one;
	op.GetOutputType = get_type;
	op.GetOutputTypeCount = one;
	op.KernelCompute = compute;
	op.KernelDestroy = destroy_kernel;
	op.GetInputCharacteristic = required;
	op.GetOutputCharacteristic = required;
	op.GetInputMemoryType = mem_type;
	op.GetVariadicInputMinArity = int_one;
	op.GetVariadicInputHomogeneity = int_one;
	op.GetVariadicOutputMinArity = int_one;
	op.GetVariadicOutputHomogeneity = int_one;
	op.CreateKernelV2 = NULL;
	op.KernelComputeV2 = NULL;
	op.InferOutputShapeFn = NULL;
	op.GetStartVersion = int_one;
	op.GetEndVersion = int_big;
	op.GetMayInplace = no_pairs;
	op.ReleaseMayInplace = release_pairs;
	op.GetAliasMap = no_pairs;
	op.ReleaseAliasMap = release_pairs;
	if ((st = api->CreateCustomOpDomain("test.wtonnx", &domain))) return st;
	if ((st = api->CustomOpDomain_Add(domain, &op))) return st;
	return api->AddCustomOpDomain(options, domain);
}
