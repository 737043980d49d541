/*
 * ort_session_test.c - runs the AddressSanitizer + UBSan build of the whole
 * custom-op library (ONNX Runtime glue and kernel) in real ONNX Runtime
 * sessions. Built with -fsanitize=address,undefined and run by
 * `make customop-asan-ort-test`.
 *
 *   ort_session_test CUSTOMOP_LIB CASES_DIR [ORT_LIB]
 *
 * ORT_LIB (libonnxruntime.so.1, not instrumented) defaults to
 * $WTONNX_ORT_LIB; it is dlopen'ed by this sanitized program, so the ASan
 * runtime is loaded first and intercepts every allocation, ONNX Runtime's
 * included. CUSTOMOP_LIB is registered with RegisterCustomOpsLibrary_V2 on
 * each session's options (ONNX Runtime loads it, and unloads it when the
 * options are released, which runs its destructor too).
 *
 * CASES_DIR is written by customop/test/gen (see there for manifest.txt's
 * format): valid models whose outputs must match the expected tensors
 * within 1e-5 * max |y|, and malformed ones whose session creation or Run
 * must fail with an OrtStatus containing the expected texts. Any mismatch
 * exits non-zero; the sanitizers abort on their own findings
 * (-fno-sanitize-recover=all).
 *
 * Across ONNX Runtime releases (`make customop-ort-releases-test`): with
 * $WTONNX_DUMP_OUTPUTS=DIR every checked output is also written to DIR as
 * raw float32 (SESSION.runN.OUTPUT.f32); with $WTONNX_REF_OUTPUTS=DIR every
 * output must equal the one dumped there (by another release) within
 * REF_TOLERANCE x max(1, max |y|).
 */
#include <dlfcn.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sanitizer/lsan_interface.h>

#include "onnxruntime_c_api.h"

#define TOLERANCE 1e-5
#define REF_TOLERANCE 1e-6
#define MIN_API 17
#define MAX_TENSORS 8
#define MAX_TEXTS 16
#define MAX_RUNS 8
#define MAX_RANK 8

typedef struct tensor_ref {
	char name[128];
	char file[512];
	size_t rank;
	int64_t dims[MAX_RANK];
} tensor_ref;

typedef struct run_spec {
	tensor_ref inputs[MAX_TENSORS];
	size_t n_inputs;
	tensor_ref wants[MAX_TENSORS];
	size_t n_wants;
	char *errors[MAX_TEXTS];
	size_t n_errors;
} run_spec;

typedef struct session_spec {
	char name[128];
	char model[512];
	int threads;
	char *create_errors[MAX_TEXTS];
	size_t n_create_errors;
	run_spec runs[MAX_RUNS];
	size_t n_runs;
} session_spec;

static const OrtApi *api;
static const char *cases_dir;
static const char *customop_lib;
static const char *dump_dir, *ref_dir;
static int failures, sessions_run, runs_done, ref_compared;
static double ref_max_diff;

static void fail(const char *session, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(const char *session, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "FAIL %s: ", session);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	failures++;
}

/* status_fail reports a failed ORT call and releases its status. */
static int status_fail(const char *session, const char *what, OrtStatus *st)
{
	fail(session, "%s: %s", what, api->GetErrorMessage(st));
	api->ReleaseStatus(st);
	return -1;
}

static void free_session_spec(session_spec *s)
{
	for (size_t i = 0; i < s->n_create_errors; i++)
		free(s->create_errors[i]);
	for (size_t r = 0; r < s->n_runs; r++)
		for (size_t i = 0; i < s->runs[r].n_errors; i++)
			free(s->runs[r].errors[i]);
	memset(s, 0, sizeof *s);
}

static size_t element_count(const tensor_ref *t)
{
	size_t n = 1;
	for (size_t i = 0; i < t->rank; i++)
		n *= (size_t)t->dims[i];
	return n;
}

/* read_tensor reads a raw little-endian float32 file of exactly t's size. */
static float *read_tensor(const char *session, const tensor_ref *t)
{
	char path[1100];
	snprintf(path, sizeof path, "%s/%s", cases_dir, t->file);
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fail(session, "cannot open %s", path);
		return NULL;
	}
	const size_t n = element_count(t);
	float *data = malloc(n * sizeof(float) + 1);
	size_t got = data != NULL ? fread(data, sizeof(float), n, f) : 0;
	int extra = fgetc(f);
	fclose(f);
	if (data == NULL || got != n || extra != EOF) {
		fail(session, "%s: want exactly %zu float32 values", path, n);
		free(data);
		return NULL;
	}
	return data;
}

/* check_texts checks that msg contains every expected text. */
static int check_texts(const char *session, const char *stage, const char *msg, char *const *texts, size_t n)
{
	int ok = 1;
	for (size_t i = 0; i < n; i++) {
		if (strstr(msg, texts[i]) == NULL) {
			fail(session, "%s error \"%s\" does not contain \"%s\"", stage, msg, texts[i]);
			ok = 0;
		}
	}
	return ok;
}

/* cross_release dumps an output for, or compares it with, another ONNX
 * Runtime release's run of the same case (see the file comment). */
static void cross_release(const char *session, size_t run, const tensor_ref *want, const float *got, size_t n,
			  double scale)
{
	char path[1400];
	if (dump_dir != NULL) {
		snprintf(path, sizeof path, "%s/%s.run%zu.%s.f32", dump_dir, session, run, want->name);
		FILE *f = fopen(path, "wb");
		if (f == NULL || fwrite(got, sizeof(float), n, f) != n || fclose(f) != 0)
			fail(session, "cannot write %s", path);
	}
	if (ref_dir == NULL)
		return;
	snprintf(path, sizeof path, "%s/%s.run%zu.%s.f32", ref_dir, session, run, want->name);
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fail(session, "run %zu: no reference output %s", run, path);
		return;
	}
	float *ref = malloc(n * sizeof(float) + 1);
	size_t got_n = ref != NULL ? fread(ref, sizeof(float), n, f) : 0;
	int extra = fgetc(f);
	fclose(f);
	if (ref == NULL || got_n != n || extra != EOF) {
		fail(session, "run %zu: %s does not hold %zu float32 values", run, path, n);
		free(ref);
		return;
	}
	double diff = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)got[i] - (double)ref[i]);
		if (!(d <= diff))
			diff = isnan(d) ? INFINITY : d;
	}
	free(ref);
	ref_compared++;
	ref_max_diff = fmax(ref_max_diff, diff);
	if (!(diff <= REF_TOLERANCE * fmax(1.0, scale)))
		fail(session, "run %zu: output %s differs from the reference release's by %.3g (> %g x max(1, max|y|))",
		     run, want->name, diff, REF_TOLERANCE);
}

static void compare(const char *session, size_t run, const tensor_ref *want, OrtValue *got_value)
{
	OrtTensorTypeAndShapeInfo *info = NULL;
	OrtStatus *st = api->GetTensorTypeAndShape(got_value, &info);
	if (st != NULL) {
		status_fail(session, "GetTensorTypeAndShape", st);
		return;
	}
	ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
	size_t rank = 0;
	int64_t dims[MAX_RANK];
	if ((st = api->GetTensorElementType(info, &type)) == NULL && (st = api->GetDimensionsCount(info, &rank)) == NULL &&
	    rank <= MAX_RANK)
		st = api->GetDimensions(info, dims, rank);
	api->ReleaseTensorTypeAndShapeInfo(info);
	if (st != NULL) {
		status_fail(session, "output shape", st);
		return;
	}
	int same = type == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT && rank == want->rank;
	for (size_t i = 0; same && i < rank; i++)
		same = dims[i] == want->dims[i];
	if (!same) {
		fail(session, "run %zu: output %s has type %d rank %zu (dim 0..: %lld %lld %lld %lld), want float32 rank %zu",
		     run, want->name, (int)type, rank, rank > 0 ? (long long)dims[0] : -1LL,
		     rank > 1 ? (long long)dims[1] : -1LL, rank > 2 ? (long long)dims[2] : -1LL,
		     rank > 3 ? (long long)dims[3] : -1LL, want->rank);
		return;
	}
	float *expect = read_tensor(session, want);
	if (expect == NULL)
		return;
	float *got = NULL;
	st = api->GetTensorMutableData(got_value, (void **)&got);
	if (st != NULL) {
		free(expect);
		status_fail(session, "GetTensorMutableData", st);
		return;
	}
	const size_t n = element_count(want);
	double diff = 0, scale = 0;
	size_t worst = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)got[i] - (double)expect[i]);
		if (!(d <= diff)) { /* also catches NaN */
			diff = isnan(d) ? INFINITY : d;
			worst = i;
		}
		scale = fmax(scale, fabs((double)expect[i]));
	}
	if (!(diff <= TOLERANCE * scale))
		fail(session, "run %zu: output %s: max |err| %.3g at element %zu (got %g, want %g) exceeds %g x max|y| = %.3g",
		     run, want->name, diff, worst, (double)got[worst], (double)expect[worst], TOLERANCE,
		     TOLERANCE * scale);
	else
		printf("  run %zu: %s max |err| %.3g, max |y| %.3g\n", run, want->name, diff, scale);
	free(expect);
	cross_release(session, run, want, got, n, scale);
}

/* do_run runs one Run of a session and checks its outputs or its error. */
static void do_run(const char *session, OrtSession *sess, const OrtMemoryInfo *mem, size_t index, const run_spec *r)
{
	const char *in_names[MAX_TENSORS], *out_names[MAX_TENSORS];
	OrtValue *inputs[MAX_TENSORS] = {0}, *outputs[MAX_TENSORS] = {0};
	float *in_data[MAX_TENSORS] = {0};
	size_t n_in = 0;
	runs_done++;
	for (; n_in < r->n_inputs; n_in++) {
		const tensor_ref *t = &r->inputs[n_in];
		in_names[n_in] = t->name;
		in_data[n_in] = read_tensor(session, t);
		if (in_data[n_in] == NULL)
			goto done;
		OrtStatus *st = api->CreateTensorWithDataAsOrtValue(mem, in_data[n_in], element_count(t) * sizeof(float),
								    t->dims, t->rank, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT,
								    &inputs[n_in]);
		if (st != NULL) {
			n_in++;
			status_fail(session, "CreateTensorWithDataAsOrtValue", st);
			goto done;
		}
	}
	size_t n_out = r->n_wants;
	if (n_out == 0) { /* an error is expected; ask for output "y" all the same */
		out_names[0] = "y";
		n_out = 1;
	} else {
		for (size_t i = 0; i < n_out; i++)
			out_names[i] = r->wants[i].name;
	}
	OrtStatus *st = api->Run(sess, NULL, in_names, (const OrtValue *const *)inputs, n_in, out_names, n_out, outputs);
	if (r->n_errors > 0) {
		if (st == NULL) {
			fail(session, "run %zu: no error, want one containing \"%s\"", index, r->errors[0]);
		} else {
			const char *msg = api->GetErrorMessage(st);
			if (check_texts(session, "Run", msg, r->errors, r->n_errors))
				printf("  run %zu: rejected as expected: %s\n", index, msg);
			api->ReleaseStatus(st);
		}
	} else if (st != NULL) {
		status_fail(session, "Run", st);
	} else {
		for (size_t i = 0; i < n_out; i++)
			compare(session, index, &r->wants[i], outputs[i]);
	}
	for (size_t i = 0; i < n_out; i++)
		if (outputs[i] != NULL)
			api->ReleaseValue(outputs[i]);
done:
	for (size_t i = 0; i < n_in; i++) {
		if (inputs[i] != NULL)
			api->ReleaseValue(inputs[i]);
		free(in_data[i]);
	}
}

static void run_session(OrtEnv *env, const OrtMemoryInfo *mem, const session_spec *s)
{
	sessions_run++;
	printf("session %s (threads %d)\n", s->name, s->threads);
	OrtSessionOptions *opts = NULL;
	OrtSession *sess = NULL;
	OrtStatus *st = api->CreateSessionOptions(&opts);
	if (st != NULL) {
		status_fail(s->name, "CreateSessionOptions", st);
		return;
	}
	if ((st = api->SetIntraOpNumThreads(opts, s->threads)) != NULL ||
	    (st = api->SetInterOpNumThreads(opts, 1)) != NULL) {
		status_fail(s->name, "thread options", st);
		goto done;
	}
	/* No arena and no memory pattern: every tensor ONNX Runtime allocates
	 * (the WTConv output included) is its own heap block with ASan redzones
	 * around it, so an access past its end is caught instead of landing in
	 * the next tensor of a shared arena chunk. */
	if ((st = api->DisableCpuMemArena(opts)) != NULL || (st = api->DisableMemPattern(opts)) != NULL) {
		status_fail(s->name, "memory options", st);
		goto done;
	}
	if ((st = api->RegisterCustomOpsLibrary_V2(opts, customop_lib)) != NULL) {
		status_fail(s->name, "RegisterCustomOpsLibrary_V2", st);
		goto done;
	}
	char path[1100];
	snprintf(path, sizeof path, "%s/%s", cases_dir, s->model);
	st = api->CreateSession(env, path, opts, &sess);
	if (s->n_create_errors > 0) {
		if (st == NULL) {
			fail(s->name, "session creation succeeded, want an error containing \"%s\"", s->create_errors[0]);
		} else {
			const char *msg = api->GetErrorMessage(st);
			if (check_texts(s->name, "session creation", msg, s->create_errors, s->n_create_errors))
				printf("  creation rejected as expected: %s\n", msg);
			api->ReleaseStatus(st);
		}
		goto done;
	}
	if (st != NULL) {
		status_fail(s->name, "CreateSession", st);
		goto done;
	}
	for (size_t r = 0; r < s->n_runs; r++)
		do_run(s->name, sess, mem, r, &s->runs[r]);
done:
	/* The session first: releasing the options unloads the custom-op library. */
	if (sess != NULL)
		api->ReleaseSession(sess);
	api->ReleaseSessionOptions(opts);
}

/* ------------------------------------------------------------------------ */
/* Manifest.                                                                 */

static int parse_tensor(char *rest, tensor_ref *t)
{
	char *save = NULL;
	char *name = strtok_r(rest, " \t\n", &save);
	char *file = strtok_r(NULL, " \t\n", &save);
	char *rank = strtok_r(NULL, " \t\n", &save);
	if (name == NULL || file == NULL || rank == NULL || strlen(name) >= sizeof t->name ||
	    strlen(file) >= sizeof t->file)
		return -1;
	strcpy(t->name, name);
	strcpy(t->file, file);
	char *end;
	long r = strtol(rank, &end, 10);
	if (*end != '\0' || r < 0 || r > MAX_RANK)
		return -1;
	t->rank = (size_t)r;
	for (size_t i = 0; i < t->rank; i++) {
		char *d = strtok_r(NULL, " \t\n", &save);
		if (d == NULL)
			return -1;
		long long v = strtoll(d, &end, 10);
		if (*end != '\0' || v < 0 || v > (1LL << 30))
			return -1;
		t->dims[i] = v;
	}
	return strtok_r(NULL, " \t\n", &save) == NULL ? 0 : -1;
}

static int run_manifest(OrtEnv *env, const OrtMemoryInfo *mem)
{
	char path[1100];
	snprintf(path, sizeof path, "%s/manifest.txt", cases_dir);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "cannot open %s\n", path);
		return -1;
	}
	static session_spec s; /* large; one at a time */
	int open = 0, lineno = 0, bad = 0;
	char line[4096];
	while (!bad && fgets(line, sizeof line, f) != NULL) {
		lineno++;
		size_t len = strlen(line);
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0)
			continue;
		char *rest = strchr(line, ' ');
		if (rest != NULL)
			*rest++ = '\0';
		const char *kw = line;
		run_spec *r = open && s.n_runs > 0 ? &s.runs[s.n_runs - 1] : NULL;
		if (strcmp(kw, "session") == 0 && !open && rest != NULL) {
			memset(&s, 0, sizeof s);
			bad = sscanf(rest, "%127s %511s %d", s.name, s.model, &s.threads) != 3;
			open = 1;
		} else if (strcmp(kw, "create_error") == 0 && open && rest != NULL && s.n_create_errors < MAX_TEXTS) {
			s.create_errors[s.n_create_errors++] = strdup(rest);
		} else if (strcmp(kw, "run") == 0 && open && s.n_runs < MAX_RUNS) {
			s.n_runs++;
		} else if (strcmp(kw, "input") == 0 && r != NULL && rest != NULL && r->n_inputs < MAX_TENSORS) {
			bad = parse_tensor(rest, &r->inputs[r->n_inputs++]) != 0;
		} else if (strcmp(kw, "want") == 0 && r != NULL && rest != NULL && r->n_wants < MAX_TENSORS) {
			bad = parse_tensor(rest, &r->wants[r->n_wants++]) != 0;
		} else if (strcmp(kw, "run_error") == 0 && r != NULL && rest != NULL && r->n_errors < MAX_TEXTS) {
			r->errors[r->n_errors++] = strdup(rest);
		} else if (strcmp(kw, "end") == 0 && open) {
			bad = (s.n_create_errors > 0) == (s.n_runs > 0);
			if (!bad)
				run_session(env, mem, &s);
			free_session_spec(&s);
			open = 0;
		} else {
			bad = 1;
		}
	}
	fclose(f);
	free_session_spec(&s);
	if (bad || open) {
		fprintf(stderr, "%s:%d: malformed manifest line\n", path, lineno);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: %s CUSTOMOP_LIB CASES_DIR [ORT_LIB]   (ORT_LIB defaults to $WTONNX_ORT_LIB)\n",
			argv[0]);
		return 2;
	}
	customop_lib = argv[1];
	dump_dir = getenv("WTONNX_DUMP_OUTPUTS");
	ref_dir = getenv("WTONNX_REF_OUTPUTS");
	if (dump_dir != NULL && *dump_dir == '\0')
		dump_dir = NULL;
	if (ref_dir != NULL && *ref_dir == '\0')
		ref_dir = NULL;
	cases_dir = argv[2];
	const char *ort_lib = argc == 4 ? argv[3] : getenv("WTONNX_ORT_LIB");
	if (ort_lib == NULL || *ort_lib == '\0') {
		fprintf(stderr, "no ONNX Runtime library: pass it as the third argument or set WTONNX_ORT_LIB\n");
		return 2;
	}
	void *lib = dlopen(ort_lib, RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) {
		fprintf(stderr, "cannot load ONNX Runtime: %s\n", dlerror());
		return 1;
	}
	const OrtApiBase *(*get_base)(void) = (const OrtApiBase *(*)(void))dlsym(lib, "OrtGetApiBase");
	if (get_base == NULL) {
		fprintf(stderr, "%s has no OrtGetApiBase\n", ort_lib);
		return 1;
	}
	const OrtApiBase *base = get_base();
	uint32_t version = 0;
	for (uint32_t v = ORT_API_VERSION; v >= MIN_API && api == NULL; v--) {
		api = base->GetApi(v);
		version = v;
	}
	if (api == NULL) {
		fprintf(stderr, "ONNX Runtime %s offers none of the API versions %d..%d\n", base->GetVersionString(),
			MIN_API, ORT_API_VERSION);
		return 1;
	}
	printf("ONNX Runtime %s, API %u; custom-op library %s\n", base->GetVersionString(), version, customop_lib);

	OrtEnv *env = NULL;
	OrtMemoryInfo *mem = NULL;
	/* CreateEnv makes a one-time global allocation (14 bytes, in ONNX
	 * Runtime's own process-wide setup) that ONNX Runtime never frees, not
	 * even in ReleaseEnv. LeakSanitizer ignores what is allocated while it
	 * is disabled; it is disabled around this one call only, before the
	 * custom-op library is loaded, so every allocation made while sessions
	 * are created and run, the library's included, is still checked. (A
	 * suppression file cannot be this narrow: the official build has no
	 * symbols, and "leak:libonnxruntime" would also hide the library's
	 * leaks, whose stacks always pass through ONNX Runtime.) */
	__lsan_disable();
	OrtStatus *st = api->CreateEnv(ORT_LOGGING_LEVEL_FATAL, "wtonnx-asan", &env);
	__lsan_enable();
	if (st == NULL)
		st = api->CreateCpuMemoryInfo(OrtDeviceAllocator, OrtMemTypeDefault, &mem);
	if (st != NULL) {
		fprintf(stderr, "ONNX Runtime setup: %s\n", api->GetErrorMessage(st));
		api->ReleaseStatus(st);
		return 1;
	}
	int rc = run_manifest(env, mem);
	api->ReleaseMemoryInfo(mem);
	api->ReleaseEnv(env);
	/* ONNX Runtime stays loaded: unloading it runs static destructors that
	 * the official build does not expect before exit. */
	if (rc != 0)
		return 1;
	printf("%d sessions, %d runs, %d failures\n", sessions_run, runs_done, failures);
	if (ref_dir != NULL) {
		printf("%d outputs compared with %s: max |diff| %.3g\n", ref_compared, ref_dir, ref_max_diff);
		if (ref_compared == 0) {
			fprintf(stderr, "no output compared with the reference release\n");
			return 1;
		}
	}
	if (sessions_run == 0) {
		fprintf(stderr, "no sessions in the manifest\n");
		return 1;
	}
	return failures == 0 ? 0 : 1;
}
