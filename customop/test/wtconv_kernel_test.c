/*
 * wtconv_kernel_test.c - test driver for the WTConv kernel core
 * (customop/csrc/wtconv_kernel.c), built with AddressSanitizer and UBSan by
 * `make customop-asan` and run by `make customop-asan-test`.
 *
 * It calls the kernel directly (no ONNX Runtime) on
 *   1. every case of the official reference folder given as argv[1]
 *      (case.json, x.npy, y.npy and weights.safetensors with the official
 *      key names under the prefix "layer."), against the official output;
 *   2. edge cases (tiny maps, levels whose input is below 2 x 2, deep levels,
 *      even and 1x1 kernels, kernels larger than the plane, base and wavelet
 *      kernels of different sizes, n-tap wavelets db2..db4, strides 2 and 3,
 *      odd sizes, batches, no bias, L = 0) with random weights, against a
 *      direct double-precision transcription of the spec written here
 *      (the general n-tap rule of its "Other wavelets", independent of the
 *      kernel's Haar fast path and its n-tap path);
 *   3. the size check and the wavelet names.
 * Every comparison requires max |err| <= 1e-5 * max |y|. The exit status is
 * non-zero on any mismatch or I/O error; the sanitizers abort on their own
 * errors (-fno-sanitize-recover=all).
 */
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wtconv_kernel.h"
#include "wtconv_wavelets.h"

#define TOLERANCE 1e-5

static int failures;

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "FAIL %s: %s\n", what, detail);
	failures++;
}

/* ------------------------------------------------------------------------ */
/* File reading.                                                             */

static unsigned char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0) {
		fclose(f);
		return NULL;
	}
	long n = ftell(f);
	if (n < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return NULL;
	}
	unsigned char *buf = malloc((size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return NULL;
	}
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* read_npy reads a little-endian float32 C-order .npy file; returns the data
 * (malloc'd) and fills shape/rank. */
static float *read_npy(const char *path, int64_t *shape, int *rank)
{
	size_t len = 0;
	unsigned char *buf = read_file(path, &len);
	if (buf == NULL)
		return NULL;
	float *out = NULL;
	if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0)
		goto done;
	size_t hlen, hstart;
	if (buf[6] == 1) {
		hlen = (size_t)buf[8] | ((size_t)buf[9] << 8);
		hstart = 10;
	} else {
		if (len < 12)
			goto done;
		hlen = (size_t)buf[8] | ((size_t)buf[9] << 8) | ((size_t)buf[10] << 16) | ((size_t)buf[11] << 24);
		hstart = 12;
	}
	if (hstart + hlen > len)
		goto done;
	char *hdr = malloc(hlen + 1);
	if (hdr == NULL)
		goto done;
	memcpy(hdr, buf + hstart, hlen);
	hdr[hlen] = '\0';
	if (strstr(hdr, "'<f4'") == NULL || strstr(hdr, "'fortran_order': False") == NULL) {
		free(hdr);
		goto done;
	}
	char *sp = strstr(hdr, "'shape': (");
	if (sp == NULL) {
		free(hdr);
		goto done;
	}
	sp += strlen("'shape': (");
	*rank = 0;
	int64_t count = 1;
	while (*sp != ')' && *rank < 8) {
		char *end;
		long long v = strtoll(sp, &end, 10);
		if (end == sp)
			break;
		shape[(*rank)++] = v;
		count *= v;
		sp = end;
		while (*sp == ',' || *sp == ' ')
			sp++;
	}
	free(hdr);
	if (hstart + hlen + (size_t)count * 4 != len)
		goto done;
	out = malloc((size_t)count * sizeof(float) + 1);
	if (out != NULL)
		memcpy(out, buf + hstart + hlen, (size_t)count * sizeof(float));
done:
	free(buf);
	return out;
}

/* A loaded .safetensors file (header JSON + data). */
typedef struct safetensors {
	unsigned char *buf;
	size_t len;
	char *header;
	size_t data_start;
} safetensors;

static int st_open(const char *path, safetensors *st)
{
	memset(st, 0, sizeof *st);
	st->buf = read_file(path, &st->len);
	if (st->buf == NULL || st->len < 8)
		return -1;
	uint64_t hl = 0;
	for (int i = 7; i >= 0; i--)
		hl = (hl << 8) | st->buf[i];
	if (hl > st->len - 8)
		return -1;
	st->header = malloc(hl + 1);
	if (st->header == NULL)
		return -1;
	memcpy(st->header, st->buf + 8, hl);
	st->header[hl] = '\0';
	st->data_start = 8 + hl;
	return 0;
}

static void st_close(safetensors *st)
{
	free(st->buf);
	free(st->header);
}

/* st_get returns a malloc'd copy of the F32 tensor named key, with its
 * element count in *n; NULL when absent or malformed. */
static float *st_get(const safetensors *st, const char *key, size_t *n)
{
	char quoted[256];
	snprintf(quoted, sizeof quoted, "\"%s\"", key);
	const char *p = strstr(st->header, quoted);
	if (p == NULL)
		return NULL;
	const char *end = strchr(p, '}');
	const char *dt = strstr(p, "\"dtype\"");
	const char *off = strstr(p, "\"data_offsets\"");
	if (end == NULL || dt == NULL || off == NULL || dt > end || off > end)
		return NULL;
	if (strstr(dt, "\"F32\"") == NULL || strstr(dt, "\"F32\"") > end)
		return NULL;
	off = strchr(off, '[');
	if (off == NULL)
		return NULL;
	char *q;
	unsigned long long a = strtoull(off + 1, &q, 10);
	while (*q == ',' || *q == ' ')
		q++;
	unsigned long long b = strtoull(q, NULL, 10);
	if (b < a || (b - a) % 4 != 0 || st->data_start + b > st->len)
		return NULL;
	*n = (size_t)(b - a) / 4;
	float *out = malloc((size_t)(b - a) + 1);
	if (out != NULL)
		memcpy(out, st->buf + st->data_start + a, (size_t)(b - a));
	return out;
}

/* json_int finds "key": <int> in a flat JSON object. */
static int json_int(const char *json, const char *key, long long *v)
{
	char quoted[64];
	snprintf(quoted, sizeof quoted, "\"%s\"", key);
	const char *p = strstr(json, quoted);
	if (p == NULL)
		return -1;
	p = strchr(p + strlen(quoted), ':');
	if (p == NULL)
		return -1;
	p++;
	while (*p == ' ')
		p++;
	if (strncmp(p, "true", 4) == 0) {
		*v = 1;
		return 0;
	}
	if (strncmp(p, "false", 5) == 0) {
		*v = 0;
		return 0;
	}
	char *end;
	*v = strtoll(p, &end, 10);
	return end == p ? -1 : 0;
}

/* ------------------------------------------------------------------------ */
/* Direct transcription of the spec, in double precision.                    */

static double *conv_same(const double *in, int64_t h, int64_t w, const float *kern, int64_t k)
{
	double *out = calloc((size_t)(h * w) + 1, sizeof(double));
	int64_t pad = (k - 1) / 2;
	for (int64_t y = 0; y < h; y++)
		for (int64_t x = 0; x < w; x++) {
			double s = 0;
			for (int64_t ky = 0; ky < k; ky++)
				for (int64_t kx = 0; kx < k; kx++) {
					int64_t iy = y + ky - pad, ix = x + kx - pad;
					if (iy >= 0 && iy < h && ix >= 0 && ix < w)
						s += in[iy * w + ix] * kern[ky * k + kx];
				}
			out[y * w + x] = s;
		}
	return out;
}

/* ref_coeffs returns the double-precision dec_lo and dec_hi of the layer's
 * wavelet (Haar when the layer has no bank). */
static const wtconv_wavelet_coeffs *ref_coeffs(const wtconv_layer *l)
{
	const char *name = l->bank != NULL ? l->bank->name : "db1";
	for (size_t i = 0; i < sizeof wtconv_wavelet_table / sizeof wtconv_wavelet_table[0]; i++)
		if (strcmp(wtconv_wavelet_table[i].name, name) == 0)
			return &wtconv_wavelet_table[i];
	return NULL;
}

/* ref_level returns Z_level: the contribution of levels level..L, cropped
 * to h x w, recursing level by level as the spec writes it. Analysis: pad
 * one zero row/column at the end when odd, then correlate with stride 2 and
 * pads n/2-1 with F_b[i][j] = row_b[i] * col_b[j] (band 0 lo,lo; 1 hi,lo;
 * 2 lo,hi; 3 hi,hi; lo, hi = dec_lo, dec_hi reversed). Synthesis: the
 * transposed conv with rec_lo = dec_lo reversed, rec_hi = dec_hi reversed. */
static double *ref_level(const wtconv_layer *l, int64_t c, const double *xin, int64_t h, int64_t w, int64_t level)
{
	if (level > l->levels)
		return calloc((size_t)(h * w) + 1, sizeof(double));
	const wtconv_wavelet_coeffs *wc_ = ref_coeffs(l);
	const int n = wc_->taps, pad = n / 2 - 1;
	double lo[WTCONV_MAX_TAPS], hi[WTCONV_MAX_TAPS];
	for (int i = 0; i < n; i++) {
		lo[i] = wc_->dec_lo[n - 1 - i];
		hi[i] = wc_->dec_hi[n - 1 - i];
	}
	const double *rows[4] = {lo, hi, lo, hi}, *cols[4] = {lo, lo, hi, hi};
	int64_t hc = (h + 1) / 2, wc = (w + 1) / 2;
	double *t[4];
	for (int b = 0; b < 4; b++) {
		t[b] = calloc((size_t)(hc * wc) + 1, sizeof(double));
		for (int64_t y = 0; y < hc; y++)
			for (int64_t x = 0; x < wc; x++) {
				double acc = 0;
				for (int i = 0; i < n; i++)
					for (int j = 0; j < n; j++) {
						int64_t iy = 2 * y + i - pad, ix = 2 * x + j - pad;
						if (iy >= 0 && iy < h && ix >= 0 && ix < w)
							acc += rows[b][i] * cols[b][j] * xin[iy * w + ix];
					}
				t[b][y * wc + x] = acc;
			}
	}
	const int64_t C = l->channels, k = l->ksize;
	double *yb[4];
	for (int b = 0; b < 4; b++) {
		const float *kern = l->wavelet_weight + ((size_t)(level - 1) * 4 * C + 4 * c + b) * (size_t)(k * k);
		double scale = l->wavelet_scale[(level - 1) * 4 * C + 4 * c + b];
		yb[b] = conv_same(t[b], hc, wc, kern, k);
		for (int64_t i = 0; i < hc * wc; i++)
			yb[b][i] *= scale;
	}
	double *znext = ref_level(l, c, t[0], hc, wc, level + 1);
	for (int64_t i = 0; i < hc * wc; i++)
		yb[0][i] += znext[i];
	free(znext);
	double *z = calloc((size_t)(h * w) + 1, sizeof(double));
	for (int b = 0; b < 4; b++)
		for (int64_t y = 0; y < hc; y++)
			for (int64_t x = 0; x < wc; x++)
				for (int i = 0; i < n; i++)
					for (int j = 0; j < n; j++) {
						int64_t oy = 2 * y + i - pad, ox = 2 * x + j - pad;
						if (oy >= 0 && oy < h && ox >= 0 && ox < w)
							z[oy * w + ox] += rows[b][i] * cols[b][j] * yb[b][y * wc + x];
					}
	for (int b = 0; b < 4; b++) {
		free(t[b]);
		free(yb[b]);
	}
	return z;
}

static double *ref_forward(const wtconv_layer *l, const float *x, int64_t n, int64_t h, int64_t w)
{
	const int64_t C = l->channels, k = l->base_ksize > 0 ? l->base_ksize : l->ksize, s = l->stride;
	const int64_t ho = (h + s - 1) / s, wo = (w + s - 1) / s;
	double *out = calloc((size_t)(n * C * ho * wo) + 1, sizeof(double));
	double *xp = calloc((size_t)(h * w) + 1, sizeof(double));
	for (int64_t b = 0; b < n; b++)
		for (int64_t c = 0; c < C; c++) {
			const float *xs = x + (b * C + c) * h * w;
			for (int64_t i = 0; i < h * w; i++)
				xp[i] = xs[i];
			double *base = conv_same(xp, h, w, l->base_weight + c * k * k, k);
			double *z = ref_level(l, c, xp, h, w, 1);
			double bias = l->base_bias != NULL ? l->base_bias[c] : 0.0;
			for (int64_t oy = 0; oy < ho; oy++)
				for (int64_t ox = 0; ox < wo; ox++) {
					int64_t i = oy * s * w + ox * s;
					out[((b * C + c) * ho + oy) * wo + ox] =
						(double)l->base_scale[c] * (base[i] + bias) + z[i];
				}
			free(base);
			free(z);
		}
	free(xp);
	return out;
}

/* ------------------------------------------------------------------------ */

static int compare(const char *name, const float *got, const double *want, size_t count)
{
	double diff = 0, scale = 0;
	for (size_t i = 0; i < count; i++) {
		if (!isfinite(got[i])) {
			fail(name, "non-finite output");
			return -1;
		}
		diff = fmax(diff, fabs((double)got[i] - want[i]));
		scale = fmax(scale, fabs(want[i]));
	}
	char msg[200];
	snprintf(msg, sizeof msg, "max |err| %.3g, max |y| %.3g, relative %.3g", diff, scale,
		 scale > 0 ? diff / scale : diff);
	if (diff > TOLERANCE * scale) {
		fail(name, msg);
		return -1;
	}
	printf("ok   %-40s %s\n", name, msg);
	return 0;
}

static void run_official_case(const char *dir)
{
	char path[4096];
	const char *name = strrchr(dir, '/') != NULL ? strrchr(dir, '/') + 1 : dir;
	size_t len;
	snprintf(path, sizeof path, "%.4000s/case.json", dir);
	char *json = (char *)read_file(path, &len);
	if (json == NULL) {
		fail(name, "cannot read case.json");
		return;
	}
	long long C, k, L, s, bias, N, H, W;
	if (json_int(json, "C", &C) || json_int(json, "k", &k) || json_int(json, "L", &L) || json_int(json, "s", &s) ||
	    json_int(json, "bias", &bias) || json_int(json, "N", &N) || json_int(json, "H", &H) ||
	    json_int(json, "W", &W)) {
		free(json);
		fail(name, "case.json lacks one of C, k, L, s, bias, N, H, W");
		return;
	}
	free(json);

	int64_t xs[8], ys[8];
	int xr = 0, yr = 0;
	snprintf(path, sizeof path, "%.4000s/x.npy", dir);
	float *x = read_npy(path, xs, &xr);
	snprintf(path, sizeof path, "%.4000s/y.npy", dir);
	float *y = read_npy(path, ys, &yr);
	safetensors st;
	snprintf(path, sizeof path, "%.4000s/weights.safetensors", dir);
	int st_ok = st_open(path, &st) == 0;
	const int64_t ho = (H + s - 1) / s, wo = (W + s - 1) / s;
	float *base = NULL, *bvec = NULL, *bscale = NULL, *ww = NULL, *wsc = NULL, *out = NULL;
	if (x == NULL || y == NULL || !st_ok || xr != 4 || yr != 4 || xs[0] != N || xs[1] != C || xs[2] != H ||
	    xs[3] != W || ys[2] != ho || ys[3] != wo) {
		fail(name, "cannot read x.npy, y.npy or weights.safetensors, or their shapes disagree with case.json");
		goto done;
	}
	size_t n;
	base = st_get(&st, "layer.base_conv.weight", &n);
	if (base == NULL || n != (size_t)(C * k * k)) {
		fail(name, "layer.base_conv.weight missing or of the wrong size");
		goto done;
	}
	if (bias) {
		bvec = st_get(&st, "layer.base_conv.bias", &n);
		if (bvec == NULL || n != (size_t)C) {
			fail(name, "layer.base_conv.bias missing or of the wrong size");
			goto done;
		}
	}
	bscale = st_get(&st, "layer.base_scale.weight", &n);
	if (bscale == NULL || n != (size_t)C) {
		fail(name, "layer.base_scale.weight missing or of the wrong size");
		goto done;
	}
	ww = malloc((size_t)(L * 4 * C * k * k) * sizeof(float) + 1);
	wsc = malloc((size_t)(L * 4 * C) * sizeof(float) + 1);
	for (long long i = 0; i < L; i++) {
		char key[128];
		snprintf(key, sizeof key, "layer.wavelet_convs.%lld.weight", i);
		float *t = st_get(&st, key, &n);
		if (t == NULL || n != (size_t)(4 * C * k * k)) {
			free(t);
			fail(name, "a wavelet_convs weight is missing or of the wrong size");
			goto done;
		}
		memcpy(ww + i * 4 * C * k * k, t, n * sizeof(float));
		free(t);
		snprintf(key, sizeof key, "layer.wavelet_scale.%lld.weight", i);
		t = st_get(&st, key, &n);
		if (t == NULL || n != (size_t)(4 * C)) {
			free(t);
			fail(name, "a wavelet_scale weight is missing or of the wrong size");
			goto done;
		}
		memcpy(wsc + i * 4 * C, t, n * sizeof(float));
		free(t);
	}
	wtconv_layer layer = {
		.channels = C, .ksize = k, .levels = L, .stride = s, .base_weight = base, .base_bias = bvec,
		.base_scale = bscale, .wavelet_weight = ww, .wavelet_scale = wsc,
	};
	out = malloc((size_t)(N * C * ho * wo) * sizeof(float));
	char msg[256];
	if (wtconv_forward(&layer, x, N, H, W, out, msg, sizeof msg) != 0) {
		fail(name, msg);
		goto done;
	}
	size_t count = (size_t)(N * C * ho * wo);
	double *want = malloc(count * sizeof(double));
	for (size_t i = 0; i < count; i++)
		want[i] = y[i];
	char label[300];
	snprintf(label, sizeof label, "official/%.200s vs y.npy", name);
	compare(label, out, want, count);
	free(want);
	/* The spec transcription must agree with the official output too. */
	double *ref = ref_forward(&layer, x, N, H, W);
	float *reff = malloc(count * sizeof(float));
	for (size_t i = 0; i < count; i++)
		reff[i] = (float)ref[i];
	want = malloc(count * sizeof(double));
	for (size_t i = 0; i < count; i++)
		want[i] = y[i];
	snprintf(label, sizeof label, "official/%.200s reference vs y.npy", name);
	compare(label, reff, want, count);
	free(want);
	free(reff);
	free(ref);
done:
	free(x);
	free(y);
	free(base);
	free(bvec);
	free(bscale);
	free(ww);
	free(wsc);
	free(out);
	if (st_ok)
		st_close(&st);
	else
		free(st.buf);
}

/* Deterministic pseudo-random numbers in [-scale, scale). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static float frand(float scale)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return ((float)(rng_state >> 40) / (float)(1 << 24) * 2.0f - 1.0f) * scale;
}

static float *rand_vec(size_t n, float scale)
{
	float *v = malloc(n * sizeof(float) + 1);
	for (size_t i = 0; i < n; i++)
		v[i] = frand(scale);
	return v;
}

/* forward_nan_scratch runs the planes through the plane API like
 * wtconv_forward, but in reverse order and with a scratch buffer filled with
 * NaN before wtconv_scratch_init: any scratch element the kernel reads
 * without having written it (or init having zeroed it) poisons the output. */
static int forward_nan_scratch(const wtconv_layer *l, const float *x, int64_t n, int64_t h, int64_t w, float *y)
{
	const size_t nf = wtconv_scratch_floats(l, h, w);
	float *scratch = malloc(nf * sizeof(float) + 1);
	if (scratch == NULL)
		return -1;
	for (size_t i = 0; i < nf; i++)
		scratch[i] = NAN;
	wtconv_scratch_init(l, h, w, scratch);
	const int64_t C = l->channels;
	const size_t in_plane = (size_t)(h * w);
	const size_t out_plane = (size_t)(wtconv_out_size(h, l->stride) * wtconv_out_size(w, l->stride));
	for (int64_t p = n * C - 1; p >= 0; p--)
		wtconv_plane(l, p % C, x + (size_t)p * in_plane, h, w, y + (size_t)p * out_plane, scratch);
	free(scratch);
	return 0;
}

/* run_edge_case_kw is run_edge_case with a base kernel kb (0: k) and a
 * wavelet (NULL: Haar through a NULL bank). */
static void run_edge_case_kw(const char *name, int64_t C, int64_t k, int64_t L, int64_t s, int bias, int64_t N,
			     int64_t H, int64_t W, int64_t kb, const char *wavelet)
{
	wtconv_bank bank;
	if (wavelet != NULL && wtconv_bank_init(wavelet, &bank) != 0) {
		fail(name, "wtconv_bank_init refused the wavelet");
		return;
	}
	const int64_t kbase = kb > 0 ? kb : k;
	float *base = rand_vec((size_t)(C * kbase * kbase), 0.5f);
	float *bvec = bias ? rand_vec((size_t)C, 0.5f) : NULL;
	float *bscale = rand_vec((size_t)C, 1.5f);
	float *ww = L > 0 ? rand_vec((size_t)(L * 4 * C * k * k), 0.5f) : NULL;
	float *wsc = L > 0 ? rand_vec((size_t)(L * 4 * C), 1.0f) : NULL;
	float *x = rand_vec((size_t)(N * C * H * W), 1.0f);
	wtconv_layer layer = {
		.channels = C, .ksize = k, .base_ksize = kb, .levels = L, .stride = s, .bank = wavelet != NULL ? &bank : NULL,
		.base_weight = base, .base_bias = bvec, .base_scale = bscale, .wavelet_weight = ww, .wavelet_scale = wsc,
	};
	const int64_t ho = wtconv_out_size(H, s), wo = wtconv_out_size(W, s);
	const size_t count = (size_t)(N * C * ho * wo);
	/* Exactly sized, so that ASan sees any write past the end. */
	float *out = malloc(count * sizeof(float) + (count == 0));
	char msg[256];
	if (wtconv_forward(&layer, x, N, H, W, out, msg, sizeof msg) != 0) {
		fail(name, msg);
	} else {
		double *want = ref_forward(&layer, x, N, H, W);
		char label[300];
		snprintf(label, sizeof label, "edge/%.200s", name);
		compare(label, out, want, count);
		if (count > 0 && H > 0 && W > 0) {
			float *out2 = malloc(count * sizeof(float));
			if (forward_nan_scratch(&layer, x, N, H, W, out2) != 0) {
				fail(name, "out of memory");
			} else {
				snprintf(label, sizeof label, "edge/%.200s (NaN scratch)", name);
				compare(label, out2, want, count);
			}
			free(out2);
		}
		free(want);
	}
	free(base);
	free(bvec);
	free(bscale);
	free(ww);
	free(wsc);
	free(x);
	free(out);
}

static void run_edge_case(const char *name, int64_t C, int64_t k, int64_t L, int64_t s, int bias, int64_t N,
			  int64_t H, int64_t W)
{
	run_edge_case_kw(name, C, k, L, s, bias, N, H, W, 0, NULL);
}

static void check_size_rule(void)
{
	char msg[256];
	struct {
		int64_t L, h, w;
		int ok;
		const char *text;
	} cases[] = {
		{0, 1, 1, 1, NULL},
		{0, 0, 5, 1, NULL},
		{1, 2, 2, 1, NULL},
		{1, 1, 8, 1, NULL}, /* below 2 x 2: computed, as the authors' module does */
		{2, 2, 9, 1, NULL},
		{5, 16, 17, 1, NULL},
		{32, 1, 1, 1, NULL},
		{33, 1 << 20, 1 << 20, 0, "outside [0, 32]"},
		{-1, 4, 4, 0, "outside"},
		{1, -1, 4, 0, "negative plane size"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = wtconv_check_size(cases[i].L, cases[i].h, cases[i].w, msg, sizeof msg);
		char label[96];
		snprintf(label, sizeof label, "size check L=%lld %lldx%lld", (long long)cases[i].L, (long long)cases[i].h,
			 (long long)cases[i].w);
		if ((rc == 0) != cases[i].ok) {
			fail(label, rc == 0 ? "accepted" : msg);
		} else if (!cases[i].ok && strstr(msg, cases[i].text) == NULL) {
			fail(label, msg);
		} else {
			printf("ok   %-40s %s\n", label, cases[i].ok ? "fits" : msg);
		}
	}
	/* wtconv_forward refuses, without touching memory, a level count out of
	 * range. */
	float w1 = 1, x[8] = {0}, y[8];
	wtconv_layer layer = {
		.channels = 1, .ksize = 1, .levels = 33, .stride = 1, .base_weight = &w1, .base_scale = &w1,
		.wavelet_weight = &w1, .wavelet_scale = &w1,
	};
	if (wtconv_forward(&layer, x, 1, 2, 4, y, msg, sizeof msg) != -1 || strstr(msg, "levels 33") == NULL)
		fail("forward level check", "33 levels were not refused");
	else
		printf("ok   %-40s %s\n", "forward refuses 33 levels", msg);
	/* Wavelet names: the db family and "haar"; anything else is refused. */
	wtconv_bank bank;
	const char *good[] = {"db1", "haar", "DB2", "db38"}, *bad[] = {"db0", "db39", "sym2", "", "db"};
	const int taps[] = {2, 2, 4, 76};
	for (size_t i = 0; i < 4; i++)
		if (wtconv_bank_init(good[i], &bank) != 0 || bank.taps != taps[i] || bank.haar != (taps[i] == 2))
			fail("wavelet names", good[i]);
	for (size_t i = 0; i < 5; i++)
		if (wtconv_bank_init(bad[i], &bank) == 0)
			fail("wavelet names: accepted", bad[i]);
	printf("ok   %-40s\n", "wavelet names");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s <reference folder with one sub-folder per case>\n", argv[0]);
		return 2;
	}
	DIR *d = opendir(argv[1]);
	if (d == NULL) {
		fprintf(stderr, "FAIL cannot open reference folder %s (shared/ must sit beside the repository)\n",
			argv[1]);
		return 1;
	}
	char *names[256];
	int count = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && count < 256) {
		if (e->d_name[0] == '.')
			continue;
		char path[4096];
		snprintf(path, sizeof path, "%.3000s/%.255s/case.json", argv[1], e->d_name);
		FILE *f = fopen(path, "r");
		if (f == NULL)
			continue;
		fclose(f);
		names[count++] = strdup(e->d_name);
	}
	closedir(d);
	if (count == 0) {
		fprintf(stderr, "FAIL no cases (sub-folders with case.json) in %s\n", argv[1]);
		return 1;
	}
	qsort(names, (size_t)count, sizeof names[0], cmp_str);
	for (int i = 0; i < count; i++) {
		char dir[4096];
		snprintf(dir, sizeof dir, "%.3000s/%.255s", argv[1], names[i]);
		run_official_case(dir);
		free(names[i]);
	}

	/*            name                   C   k  L  s bias N   H   W */
	run_edge_case("L1_2x2_min", 3, 3, 1, 1, 1, 1, 2, 2);
	run_edge_case("L2_3x3_min", 2, 3, 2, 1, 1, 1, 3, 3);
	run_edge_case("L3_5x5_min", 2, 5, 3, 1, 1, 2, 5, 5);
	run_edge_case("L5_17x17_stride2", 2, 3, 5, 2, 1, 1, 17, 17);
	run_edge_case("L4_9x33", 2, 5, 4, 1, 1, 1, 9, 33);
	run_edge_case("k7_on_2x2_level", 2, 7, 2, 1, 1, 1, 4, 4);
	run_edge_case("k9_larger_than_plane", 2, 9, 1, 1, 0, 1, 3, 5);
	run_edge_case("even_k2", 3, 2, 2, 1, 1, 1, 12, 10);
	run_edge_case("even_k4_odd", 3, 4, 3, 1, 1, 2, 13, 11);
	run_edge_case("even_k6_stride3", 2, 6, 2, 3, 1, 1, 14, 19);
	run_edge_case("k1", 3, 1, 2, 1, 1, 1, 7, 9);
	run_edge_case("stride3", 3, 5, 2, 3, 1, 2, 19, 23);
	run_edge_case("stride3_exact", 2, 3, 1, 3, 0, 1, 18, 9);
	run_edge_case("stride_larger_than_plane", 2, 3, 1, 7, 1, 1, 5, 6);
	run_edge_case("odd_sizes", 4, 3, 3, 1, 1, 3, 13, 11);
	run_edge_case("batch3", 5, 5, 2, 1, 1, 3, 20, 20);
	run_edge_case("no_bias", 4, 5, 2, 1, 0, 1, 12, 12);
	run_edge_case("L0", 4, 7, 0, 1, 1, 2, 11, 9);
	run_edge_case("L0_1x1", 2, 3, 0, 1, 1, 1, 1, 1);
	run_edge_case("L0_1xN_stride2", 2, 3, 0, 2, 0, 1, 1, 9);
	run_edge_case("L0_empty_plane", 2, 3, 0, 1, 1, 1, 0, 5);
	run_edge_case("convnext_stage1_like", 4, 5, 5, 1, 1, 1, 56, 56);
	run_edge_case("below_2x2_L2_2x12", 3, 3, 2, 1, 1, 1, 2, 12);
	run_edge_case("below_2x2_L4_8x8", 2, 3, 4, 1, 1, 1, 8, 8);
	run_edge_case("below_2x2_L3_1x1", 2, 3, 3, 1, 1, 2, 1, 1);
	run_edge_case("below_2x2_L2_12x1_stride2", 2, 5, 2, 2, 0, 1, 12, 1);

	/*               name                   C  k  L  s bias N   H   W  kb wavelet */
	run_edge_case_kw("kb7_k5_L3", 3, 5, 3, 1, 1, 1, 28, 28, 7, NULL);
	run_edge_case_kw("kb3_k5_L2_stride2", 2, 5, 2, 2, 0, 2, 13, 11, 3, NULL);
	run_edge_case_kw("kb1_k7_L1", 2, 7, 1, 1, 1, 1, 9, 9, 1, NULL);
	run_edge_case_kw("db1_bank", 3, 3, 3, 1, 1, 1, 13, 11, 0, "db1");
	run_edge_case_kw("db2_L2", 3, 5, 2, 1, 1, 1, 16, 16, 0, "db2");
	run_edge_case_kw("db2_odd_stride2", 2, 3, 3, 2, 1, 2, 13, 11, 0, "db2");
	run_edge_case_kw("db2_kb7_k5_L5", 2, 5, 5, 1, 1, 1, 56, 40, 7, "db2");
	run_edge_case_kw("db2_below_2x2", 2, 3, 4, 1, 0, 1, 3, 2, 0, "db2");
	run_edge_case_kw("db2_1x1", 2, 3, 2, 1, 1, 1, 1, 1, 0, "db2");
	run_edge_case_kw("db3_L2_9x9", 3, 3, 2, 1, 1, 1, 9, 9, 0, "db3");
	run_edge_case_kw("db4_even_k4_stride3", 2, 4, 3, 3, 1, 1, 20, 17, 0, "db4");
	run_edge_case_kw("db10_wide_filter_small_plane", 2, 3, 2, 1, 1, 1, 7, 5, 0, "db10");

	check_size_rule();

	if (failures > 0) {
		fprintf(stderr, "%d failure(s)\n", failures);
		return 1;
	}
	printf("all kernel tests passed\n");
	return 0;
}
