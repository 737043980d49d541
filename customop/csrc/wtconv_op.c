/*
 * wtconv_op.c - ONNX Runtime glue for the fused ai.wtonnx::WTConv operator.
 *
 * The library exports RegisterCustomOps(OrtSessionOptions*, const OrtApiBase*),
 * the entry point that OrtApi::RegisterCustomOpsLibrary looks up. It adds the
 * domain "ai.wtonnx" with one CPU kernel, WTConv (float32, opset 1):
 *
 *   inputs  0 X [N,C,H,W], 1 base_weight [C,1,kb,kb], 2 base_bias [C] (optional),
 *           3 base_scale [C], 4 wavelet_weight [L,4C,1,k,k] (optional if L=0),
 *           5 wavelet_scale [L,4C] (optional if L=0)
 *   output  0 Y [N,C,ceil(H/s),ceil(W/s)]
 *   attrs   levels (int, required), stride (int, default 1),
 *           wavelet (string, default "db1" = Haar; db1..db38, "haar")
 *
 * The base kernel kb and the wavelet-domain kernel k are read from their
 * tensors' shapes and may differ (ConvNeXt: a 7x7 base, 5x5 wavelet convs).
 *
 * Attribute errors surface from CreateKernelV2 (session creation), shape
 * errors from KernelComputeV2 (Run), always as an OrtStatus with
 * ORT_INVALID_ARGUMENT and a message naming the node and the input or
 * attribute. The computation itself is wtconv_kernel.c, spread over the
 * (batch, channel) planes with ONNX Runtime's intra-op thread pool.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "onnxruntime_c_api.h"
#include "wtconv_kernel.h"

#define WTCONV_DOMAIN "ai.wtonnx"
#define WTCONV_OP_NAME "WTConv"
#define WTCONV_NUM_INPUTS 6
/* Oldest ORT API with everything used here (KernelContext_ParallelFor,
 * CreateKernelV2/KernelComputeV2, GetStartVersion/GetEndVersion). */
#define WTCONV_MIN_API 17

#if defined(__GNUC__)
#define WTCONV_EXPORT __attribute__((visibility("default")))
#else
#define WTCONV_EXPORT
#endif

static const char *const input_names[WTCONV_NUM_INPUTS] = {
	"X", "base_weight", "base_bias", "base_scale", "wavelet_weight", "wavelet_scale",
};

/* ------------------------------------------------------------------------ */
/* Library state: set up once, read-only afterwards.                         */

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static const OrtApi *lib_api;   /* NULL when no supported API version was found */
static uint32_t lib_api_version;
static OrtCustomOp lib_op;
static OrtCustomOpDomain *lib_domain;
static char lib_error[256];
static size_t lib_max_chunks; /* work items per Compute: 4 per online CPU */

/* ------------------------------------------------------------------------ */
/* Kernel state.                                                             */

typedef struct wtconv_kernel {
	const OrtApi *api;
	int64_t levels;
	int64_t stride;
	wtconv_bank bank; /* the wavelet's filters */
	char *node;       /* node name, for messages */
} wtconv_kernel;

static OrtStatus *errorf(const OrtApi *api, OrtErrorCode code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static OrtStatus *errorf(const OrtApi *api, OrtErrorCode code, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return api->CreateStatus(code, buf);
}

/* attr_exists_as_other_type reports whether attribute name exists with a type other
 * than the one just asked for (int64 or string). */
static int attr_exists_as_other_type(const OrtApi *api, const OrtKernelInfo *info, const char *name, int asked_int)
{
	OrtStatus *st;
	if (asked_int) {
		size_t size = 0;
		st = api->KernelInfoGetAttribute_string(info, name, NULL, &size);
		if (st == NULL)
			return 1;
		api->ReleaseStatus(st);
	} else {
		int64_t v;
		st = api->KernelInfoGetAttribute_int64(info, name, &v);
		if (st == NULL)
			return 1;
		api->ReleaseStatus(st);
	}
	float f;
	st = api->KernelInfoGetAttribute_float(info, name, &f);
	if (st == NULL)
		return 1;
	api->ReleaseStatus(st);
	size_t n = 0;
	st = api->KernelInfoGetAttributeArray_int64(info, name, NULL, &n);
	if (st == NULL && n > 0)
		return 1;
	if (st != NULL)
		api->ReleaseStatus(st);
	return 0;
}

/* node_name returns a malloc'd copy of the node's name, "(unnamed)" when it
 * has none, NULL when out of memory. */
static char *node_name(const OrtApi *api, const OrtKernelInfo *info)
{
	size_t size = 0;
	OrtStatus *st = api->KernelInfo_GetNodeName(info, NULL, &size);
	char *name = NULL;
	if (st == NULL && size > 1 && (name = malloc(size)) != NULL) {
		st = api->KernelInfo_GetNodeName(info, name, &size);
		if (st == NULL)
			return name;
	}
	if (st != NULL)
		api->ReleaseStatus(st);
	free(name);
	return strdup("(unnamed)");
}

/* get_string_attr reads a string attribute into a malloc'd buffer (*out);
 * *out stays NULL when the attribute is absent. */
static OrtStatus *get_string_attr(const OrtApi *api, const OrtKernelInfo *info, const char *node, const char *name,
				  char **out)
{
	*out = NULL;
	size_t size = 0;
	OrtStatus *st = api->KernelInfoGetAttribute_string(info, name, NULL, &size);
	if (st != NULL) {
		api->ReleaseStatus(st);
		if (attr_exists_as_other_type(api, info, name, 0))
			return errorf(api, ORT_INVALID_ARGUMENT, "WTConv node '%s': attribute '%s' must be a string",
				      node, name);
		return NULL;
	}
	char *buf = malloc(size + 1);
	if (buf == NULL)
		return api->CreateStatus(ORT_FAIL, "WTConv: out of memory reading an attribute");
	st = api->KernelInfoGetAttribute_string(info, name, buf, &size);
	if (st != NULL) {
		free(buf);
		return st;
	}
	buf[size] = '\0'; /* size counts the terminating NUL already; be safe */
	*out = buf;
	return NULL;
}

/* get_int_attr reads an int attribute; *found is 0 when it is absent. */
static OrtStatus *get_int_attr(const OrtApi *api, const OrtKernelInfo *info, const char *node, const char *name,
			       int64_t *out, int *found)
{
	OrtStatus *st = api->KernelInfoGetAttribute_int64(info, name, out);
	if (st == NULL) {
		*found = 1;
		return NULL;
	}
	api->ReleaseStatus(st);
	*found = 0;
	if (attr_exists_as_other_type(api, info, name, 1))
		return errorf(api, ORT_INVALID_ARGUMENT, "WTConv node '%s': attribute '%s' must be an int", node, name);
	return NULL;
}

static OrtStatus *ORT_API_CALL create_kernel(const OrtCustomOp *op, const OrtApi *api, const OrtKernelInfo *info,
					     void **kernel)
{
	(void)op;
	*kernel = NULL;
	wtconv_kernel *k = calloc(1, sizeof *k);
	if (k == NULL)
		return api->CreateStatus(ORT_FAIL, "WTConv: out of memory creating the kernel");
	k->api = api;
	k->node = node_name(api, info);
	if (k->node == NULL) {
		free(k);
		return api->CreateStatus(ORT_FAIL, "WTConv: out of memory creating the kernel");
	}
	OrtStatus *st;

	int found;
	st = get_int_attr(api, info, k->node, "levels", &k->levels, &found);
	if (st != NULL)
		goto fail;
	if (!found) {
		st = errorf(api, ORT_INVALID_ARGUMENT, "WTConv node '%s': attribute 'levels' is required", k->node);
		goto fail;
	}
	if (k->levels < 0 || k->levels > WTCONV_MAX_LEVELS) {
		st = errorf(api, ORT_INVALID_ARGUMENT, "WTConv node '%s': attribute 'levels' is %lld, want 0..%d",
			    k->node, (long long)k->levels, WTCONV_MAX_LEVELS);
		goto fail;
	}

	st = get_int_attr(api, info, k->node, "stride", &k->stride, &found);
	if (st != NULL)
		goto fail;
	if (!found)
		k->stride = 1;
	if (k->stride < 1) {
		st = errorf(api, ORT_INVALID_ARGUMENT, "WTConv node '%s': attribute 'stride' is %lld, want >= 1",
			    k->node, (long long)k->stride);
		goto fail;
	}

	char *wavelet = NULL;
	st = get_string_attr(api, info, k->node, "wavelet", &wavelet);
	if (st != NULL)
		goto fail;
	if (wtconv_bank_init(wavelet != NULL ? wavelet : "db1", &k->bank) != 0) {
		st = errorf(api, ORT_INVALID_ARGUMENT,
			    "WTConv node '%s': attribute 'wavelet' is \"%.100s\", which is not supported "
			    "(supported: db1 = haar through db38, PyWavelets' Daubechies family)",
			    k->node, wavelet);
		free(wavelet);
		goto fail;
	}
	free(wavelet);
	*kernel = k;
	return NULL;
fail:
	free(k->node);
	free(k);
	return st;
}

/* ------------------------------------------------------------------------ */
/* Compute.                                                                  */

/* A fetched input: NULL data when absent. */
typedef struct input_view {
	const float *data;
	size_t rank;
	int64_t dims[8];
	int present;
} input_view;

static void format_shape(const input_view *v, char *buf, size_t len)
{
	size_t n = 0;
	n += (size_t)snprintf(buf + n, len - n, "[");
	for (size_t i = 0; i < v->rank && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, i == 0 ? "%lld" : ",%lld", (long long)v->dims[i]);
	if (n < len)
		snprintf(buf + n, len - n, "]");
}

static OrtStatus *fetch_input(const wtconv_kernel *k, OrtKernelContext *ctx, size_t count, size_t index,
			      input_view *v)
{
	const OrtApi *api = k->api;
	memset(v, 0, sizeof *v);
	if (index >= count)
		return NULL;
	const OrtValue *value = NULL;
	OrtStatus *st = api->KernelContext_GetInput(ctx, index, &value);
	if (st != NULL)
		return st;
	if (value == NULL)
		return NULL;
	int is_tensor = 0;
	st = api->IsTensor(value, &is_tensor);
	if (st != NULL)
		return st;
	if (!is_tensor)
		return errorf(api, ORT_INVALID_ARGUMENT, "WTConv node '%s': input %zu (%s) is not a tensor", k->node,
			      index, input_names[index]);
	OrtTensorTypeAndShapeInfo *info = NULL;
	st = api->GetTensorTypeAndShape(value, &info);
	if (st != NULL)
		return st;
	ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
	size_t rank = 0;
	if ((st = api->GetTensorElementType(info, &type)) == NULL && (st = api->GetDimensionsCount(info, &rank)) == NULL) {
		if (rank > 8) {
			st = errorf(api, ORT_INVALID_ARGUMENT, "WTConv node '%s': input %zu (%s) has rank %zu",
				    k->node, index, input_names[index], rank);
		} else {
			st = api->GetDimensions(info, v->dims, rank);
		}
	}
	api->ReleaseTensorTypeAndShapeInfo(info);
	if (st != NULL)
		return st;
	if (type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT)
		return errorf(api, ORT_INVALID_ARGUMENT, "WTConv node '%s': input %zu (%s) must be float32", k->node,
			      index, input_names[index]);
	void *data = NULL;
	st = api->GetTensorMutableData((OrtValue *)value, &data);
	if (st != NULL)
		return st;
	v->data = data;
	v->rank = rank;
	v->present = 1;
	return NULL;
}

/* check_shape compares an input's shape with the wanted one (want_rank dims). */
static OrtStatus *check_shape(const wtconv_kernel *k, size_t index, const input_view *v, const int64_t *want,
			      size_t want_rank, const char *why, ...) __attribute__((format(printf, 6, 7)));

static OrtStatus *check_shape(const wtconv_kernel *k, size_t index, const input_view *v, const int64_t *want,
			      size_t want_rank, const char *why, ...)
{
	int ok = v->rank == want_rank;
	for (size_t i = 0; ok && i < want_rank; i++)
		ok = v->dims[i] == want[i];
	if (ok)
		return NULL;
	char got[160], exp[160], because[160];
	va_list ap;
	va_start(ap, why);
	vsnprintf(because, sizeof because, why, ap);
	va_end(ap);
	input_view w;
	memset(&w, 0, sizeof w);
	w.rank = want_rank;
	memcpy(w.dims, want, want_rank * sizeof(int64_t));
	format_shape(v, got, sizeof got);
	format_shape(&w, exp, sizeof exp);
	return errorf(k->api, ORT_INVALID_ARGUMENT, "WTConv node '%s': input %zu (%s) has shape %s, want %s (%s)",
		      k->node, index, input_names[index], got, exp, because);
}

typedef struct parallel_job {
	const wtconv_layer *layer;
	const float *x;
	float *y;
	int64_t h, w;
	size_t planes, chunks;
	size_t in_plane, out_plane, scratch_floats;
	volatile int failed; /* set (to 1 only) when scratch allocation fails */
} parallel_job;

static void run_chunk(void *arg, size_t chunk)
{
	parallel_job *job = arg;
	const size_t begin = chunk * job->planes / job->chunks;
	const size_t end = (chunk + 1) * job->planes / job->chunks;
	if (begin >= end)
		return;
	float *scratch = malloc(job->scratch_floats * sizeof(float));
	if (scratch == NULL) {
		__atomic_store_n(&job->failed, 1, __ATOMIC_RELAXED);
		return;
	}
	wtconv_scratch_init(job->layer, job->h, job->w, scratch);
	const size_t C = (size_t)job->layer->channels;
	for (size_t p = begin; p < end; p++)
		wtconv_plane(job->layer, (int64_t)(p % C), job->x + p * job->in_plane, job->h, job->w,
			     job->y + p * job->out_plane, scratch);
	free(scratch);
}

static OrtStatus *ORT_API_CALL compute(void *kernel, OrtKernelContext *ctx)
{
	const wtconv_kernel *k = kernel;
	const OrtApi *api = k->api;
	size_t count = 0;
	OrtStatus *st = api->KernelContext_GetInputCount(ctx, &count);
	if (st != NULL)
		return st;
	input_view in[WTCONV_NUM_INPUTS];
	for (size_t i = 0; i < WTCONV_NUM_INPUTS; i++) {
		st = fetch_input(k, ctx, count, i, &in[i]);
		if (st != NULL)
			return st;
	}
	const char *node = k->node;
	for (size_t i = 0; i < WTCONV_NUM_INPUTS; i++) {
		int required = i == 0 || i == 1 || i == 3 || ((i == 4 || i == 5) && k->levels > 0);
		if (required && !in[i].present)
			return errorf(api, ORT_INVALID_ARGUMENT,
				      "WTConv node '%s': input %zu (%s) is missing%s", node, i, input_names[i],
				      i >= 4 ? " (required when levels > 0)" : "");
	}

	/* X [N,C,H,W] */
	if (in[0].rank != 4) {
		char got[160];
		format_shape(&in[0], got, sizeof got);
		return errorf(api, ORT_INVALID_ARGUMENT, "WTConv node '%s': input 0 (X) must have rank 4 [N,C,H,W], got %s",
			      node, got);
	}
	const int64_t N = in[0].dims[0], C = in[0].dims[1], H = in[0].dims[2], W = in[0].dims[3];

	/* base_weight [C,1,kb,kb] */
	if (in[1].rank != 4 || in[1].dims[2] < 1) {
		char got[160];
		format_shape(&in[1], got, sizeof got);
		return errorf(api, ORT_INVALID_ARGUMENT,
			      "WTConv node '%s': input 1 (base_weight) must have shape [C,1,kb,kb] with kb >= 1, got %s",
			      node, got);
	}
	const int64_t KB = in[1].dims[2];
	{
		const int64_t want[4] = {C, 1, KB, KB};
		st = check_shape(k, 1, &in[1], want, 4, "C=%lld from X, kb=%lld from its dim 2", (long long)C, (long long)KB);
		if (st != NULL)
			return st;
	}
	/* wavelet_weight [L,4C,1,k,k]: k from its dim 3, independent of kb */
	int64_t K = KB;
	if (in[4].present && in[4].rank == 5 && in[4].dims[3] >= 1)
		K = in[4].dims[3];
	if (in[2].present) {
		const int64_t want[1] = {C};
		if ((st = check_shape(k, 2, &in[2], want, 1, "C=%lld from X", (long long)C)) != NULL)
			return st;
	}
	{
		const int64_t want[1] = {C};
		if ((st = check_shape(k, 3, &in[3], want, 1, "C=%lld from X", (long long)C)) != NULL)
			return st;
	}
	if (in[4].present) {
		const int64_t want[5] = {k->levels, 4 * C, 1, K, K};
		if ((st = check_shape(k, 4, &in[4], want, 5, "levels=%lld from the attribute, C=%lld from X, k=%lld from its dim 3",
					(long long)k->levels, (long long)C, (long long)K)) !=
		    NULL)
			return st;
	}
	if (in[5].present) {
		const int64_t want[2] = {k->levels, 4 * C};
		if ((st = check_shape(k, 5, &in[5], want, 2, "levels=%lld from the attribute, C=%lld from X", (long long)k->levels,
					(long long)C)) != NULL)
			return st;
	}
	char msg[256];
	if (wtconv_check_size(k->levels, H, W, msg, sizeof msg) != 0)
		return errorf(api, ORT_INVALID_ARGUMENT, "WTConv node '%s': input 0 (X) of shape [%lld,%lld,%lld,%lld]: %s",
			      node, (long long)N, (long long)C, (long long)H, (long long)W, msg);

	const int64_t Ho = wtconv_out_size(H, k->stride), Wo = wtconv_out_size(W, k->stride);
	const int64_t out_dims[4] = {N, C, Ho, Wo};
	OrtValue *out = NULL;
	st = api->KernelContext_GetOutput(ctx, 0, out_dims, 4, &out);
	if (st != NULL)
		return st;
	if (N == 0 || C == 0 || Ho == 0 || Wo == 0)
		return NULL;
	void *ydata = NULL;
	st = api->GetTensorMutableData(out, &ydata);
	if (st != NULL)
		return st;

	wtconv_layer layer = {
		.channels = C,
		.ksize = K,
		.base_ksize = KB,
		.bank = &k->bank,
		.levels = k->levels,
		.stride = k->stride,
		.base_weight = in[1].data,
		.base_bias = in[2].present ? in[2].data : NULL,
		.base_scale = in[3].data,
		.wavelet_weight = k->levels > 0 ? in[4].data : NULL,
		.wavelet_scale = k->levels > 0 ? in[5].data : NULL,
	};
	parallel_job job = {
		.layer = &layer,
		.x = in[0].data,
		.y = ydata,
		.h = H,
		.w = W,
		.planes = (size_t)N * (size_t)C,
		.in_plane = (size_t)H * (size_t)W,
		.out_plane = (size_t)Ho * (size_t)Wo,
		.scratch_floats = wtconv_scratch_floats(&layer, H, W),
		.failed = 0,
	};
	/* A few chunks per CPU keep the pool balanced while each chunk
	 * allocates and prepares its scratch only once. */
	job.chunks = job.planes < lib_max_chunks ? job.planes : lib_max_chunks;
	st = api->KernelContext_ParallelFor(ctx, run_chunk, job.chunks, 0, &job);
	if (st != NULL)
		return st;
	if (__atomic_load_n(&job.failed, __ATOMIC_RELAXED))
		return errorf(api, ORT_FAIL, "WTConv node '%s': cannot allocate %zu bytes of scratch memory", node,
			      job.scratch_floats * sizeof(float));
	return NULL;
}

static void ORT_API_CALL destroy_kernel(void *kernel)
{
	wtconv_kernel *k = kernel;
	if (k != NULL)
		free(k->node);
	free(k);
}

/* Legacy entry points, never used because CreateKernelV2/KernelComputeV2 are
 * set, but ORT reads the struct as a whole. */
static void *ORT_API_CALL create_kernel_v1(const OrtCustomOp *op, const OrtApi *api, const OrtKernelInfo *info)
{
	void *kernel = NULL;
	OrtStatus *st = create_kernel(op, api, info, &kernel);
	if (st != NULL)
		api->ReleaseStatus(st);
	return kernel;
}

static void ORT_API_CALL compute_v1(void *kernel, OrtKernelContext *ctx)
{
	if (kernel == NULL)
		return;
	OrtStatus *st = compute(kernel, ctx);
	if (st != NULL)
		((const wtconv_kernel *)kernel)->api->ReleaseStatus(st);
}

/* ------------------------------------------------------------------------ */
/* The OrtCustomOp callbacks: every one is set (ORT calls several without
 * checking for NULL). InferOutputShapeFn alone stays NULL on purpose: ORT
 * checks that one, and its shape-inference context dereferences the type of
 * every input, which does not exist for an omitted optional input. */

static const char *ORT_API_CALL op_name(const OrtCustomOp *op)
{
	(void)op;
	return WTCONV_OP_NAME;
}

static const char *ORT_API_CALL op_provider(const OrtCustomOp *op)
{
	(void)op;
	return "CPUExecutionProvider";
}

static ONNXTensorElementDataType ORT_API_CALL op_input_type(const OrtCustomOp *op, size_t index)
{
	(void)op;
	(void)index;
	return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
}

static size_t ORT_API_CALL op_input_count(const OrtCustomOp *op)
{
	(void)op;
	return WTCONV_NUM_INPUTS;
}

static ONNXTensorElementDataType ORT_API_CALL op_output_type(const OrtCustomOp *op, size_t index)
{
	(void)op;
	(void)index;
	return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
}

static size_t ORT_API_CALL op_output_count(const OrtCustomOp *op)
{
	(void)op;
	return 1;
}

static OrtCustomOpInputOutputCharacteristic ORT_API_CALL op_input_char(const OrtCustomOp *op, size_t index)
{
	(void)op;
	return (index == 2 || index == 4 || index == 5) ? INPUT_OUTPUT_OPTIONAL : INPUT_OUTPUT_REQUIRED;
}

static OrtCustomOpInputOutputCharacteristic ORT_API_CALL op_output_char(const OrtCustomOp *op, size_t index)
{
	(void)op;
	(void)index;
	return INPUT_OUTPUT_REQUIRED;
}

static OrtMemType ORT_API_CALL op_input_mem(const OrtCustomOp *op, size_t index)
{
	(void)op;
	(void)index;
	return OrtMemTypeDefault;
}

static int ORT_API_CALL op_variadic_min_arity(const OrtCustomOp *op)
{
	(void)op;
	return 1;
}

static int ORT_API_CALL op_variadic_homogeneity(const OrtCustomOp *op)
{
	(void)op;
	return 1;
}

static int ORT_API_CALL op_start_version(const OrtCustomOp *op)
{
	(void)op;
	return 1;
}

static int ORT_API_CALL op_end_version(const OrtCustomOp *op)
{
	(void)op;
	return 1;
}

static size_t ORT_API_CALL op_no_index_map(int **input_index, int **output_index)
{
	*input_index = NULL;
	*output_index = NULL;
	return 0;
}

static void ORT_API_CALL op_release_index_map(int *input_index, int *output_index)
{
	free(input_index);
	free(output_index);
}

/* ------------------------------------------------------------------------ */
/* Registration.                                                             */

/* The OrtApiBase handed to the first RegisterCustomOps call (pthread_once
 * takes no argument). Every call passes the same library's base. */
static const OrtApiBase *init_base;

static void lib_init_with_base(void)
{
	const OrtApiBase *base = __atomic_load_n(&init_base, __ATOMIC_ACQUIRE);
	for (uint32_t v = ORT_API_VERSION; v >= WTCONV_MIN_API; v--) {
		const OrtApi *api = base->GetApi(v);
		if (api != NULL) {
			lib_api = api;
			lib_api_version = v;
			break;
		}
	}
	if (lib_api == NULL) {
		const char *ver = base->GetVersionString != NULL ? base->GetVersionString() : "unknown";
		snprintf(lib_error, sizeof lib_error,
			 "wtonnx custom-op library: ONNX Runtime %s offers none of the API versions %d..%d this library "
			 "needs (ONNX Runtime >= 1.17)",
			 ver, WTCONV_MIN_API, ORT_API_VERSION);
		return;
	}

	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	lib_max_chunks = 4 * (size_t)(ncpu >= 1 && ncpu <= 4096 ? ncpu : 16);

	OrtCustomOp *op = &lib_op;
	memset(op, 0, sizeof *op);
	op->version = lib_api_version;
	op->CreateKernel = create_kernel_v1;
	op->GetName = op_name;
	op->GetExecutionProviderType = op_provider;
	op->GetInputType = op_input_type;
	op->GetInputTypeCount = op_input_count;
	op->GetOutputType = op_output_type;
	op->GetOutputTypeCount = op_output_count;
	op->KernelCompute = compute_v1;
	op->KernelDestroy = destroy_kernel;
	op->GetInputCharacteristic = op_input_char;
	op->GetOutputCharacteristic = op_output_char;
	op->GetInputMemoryType = op_input_mem;
	op->GetVariadicInputMinArity = op_variadic_min_arity;
	op->GetVariadicInputHomogeneity = op_variadic_homogeneity;
	op->GetVariadicOutputMinArity = op_variadic_min_arity;
	op->GetVariadicOutputHomogeneity = op_variadic_homogeneity;
	op->CreateKernelV2 = create_kernel;
	op->KernelComputeV2 = compute;
	op->InferOutputShapeFn = NULL;
	op->GetStartVersion = op_start_version;
	op->GetEndVersion = op_end_version;
	op->GetMayInplace = op_no_index_map;
	op->ReleaseMayInplace = op_release_index_map;
	op->GetAliasMap = op_no_index_map;
	op->ReleaseAliasMap = op_release_index_map;

	OrtStatus *st = lib_api->CreateCustomOpDomain(WTCONV_DOMAIN, &lib_domain);
	if (st == NULL)
		st = lib_api->CustomOpDomain_Add(lib_domain, op);
	if (st != NULL) {
		snprintf(lib_error, sizeof lib_error, "wtonnx custom-op library: cannot create domain %s: %s",
			 WTCONV_DOMAIN, lib_api->GetErrorMessage(st));
		lib_api->ReleaseStatus(st);
	}
}

WTCONV_EXPORT OrtStatus *ORT_API_CALL RegisterCustomOps(OrtSessionOptions *options, const OrtApiBase *api_base);

OrtStatus *ORT_API_CALL RegisterCustomOps(OrtSessionOptions *options, const OrtApiBase *api_base)
{
	__atomic_store_n(&init_base, api_base, __ATOMIC_RELEASE);
	pthread_once(&lib_once, lib_init_with_base);
	if (lib_api == NULL) {
		fprintf(stderr, "%s\n", lib_error);
		/* Version 1 of the API exists in every release. */
		const OrtApi *v1 = api_base->GetApi(1);
		return v1 != NULL ? v1->CreateStatus(ORT_FAIL, lib_error) : NULL;
	}
	if (lib_error[0] != '\0')
		return lib_api->CreateStatus(ORT_FAIL, lib_error);
	return lib_api->AddCustomOpDomain(options, lib_domain);
}

__attribute__((destructor)) static void lib_fini(void)
{
	if (lib_api != NULL && lib_domain != NULL)
		lib_api->ReleaseCustomOpDomain(lib_domain);
}

/* wtonnx_customop_api_range reports the ONNX Runtime C API versions this
 * build accepts: from the oldest with everything it uses (17, ONNX Runtime
 * 1.17) to the header it was compiled against. `wtonnx doctor` prints it. */
WTCONV_EXPORT void wtonnx_customop_api_range(uint32_t *lo, uint32_t *hi);

void wtonnx_customop_api_range(uint32_t *lo, uint32_t *hi)
{
	*lo = WTCONV_MIN_API;
	*hi = ORT_API_VERSION;
}
