/*
 * wtconv_kernel.c - the fused WTConv layer, one (batch, channel) plane at a
 * time. See wtconv_kernel.h for the interface and layouts.
 *
 * Per plane, everything stays in one small scratch buffer (plane_layout):
 *
 *   xpad             the input plane inside a zero border of kb-1 (split
 *                    (kb-1)/2 before, the rest after) for the base conv;
 *   base             base_scale * (base conv + bias), row stride w + kb - 1;
 *   T_i (i = 1..L)   the four unconvolved Haar bands of level i, each inside
 *                    its own zero border (band 0 is the next level's input);
 *   Y_i (i = 1..L)   the four convolved and scaled bands of level i,
 *                    h_i = ceil(h_{i-1} / 2) rows each.
 *
 * The borders are zeroed once per buffer (wtconv_scratch_init) and never
 * written afterwards, so a buffer serves every plane of a layer and size.
 * Haar (db1) has its own 2 x 2 analysis and synthesis; an n-tap wavelet
 * takes the general path (bank_analysis, bank_synth_row), which reads the
 * zero padding by bounds instead.
 * Synthesis runs from the deepest level up and adds each level's cropped
 * inverse transform straight into band 0 (LL) of the level above, which has
 * exactly the cropped size. Level 1 is synthesised row by row onto the base
 * branch while writing the output; stride subsampling keeps every s-th row
 * and column of the full-resolution result.
 */
#include "wtconv_kernel.h"
#include "wtconv_wavelets.h"

#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

int64_t wtconv_out_size(int64_t n, int64_t stride)
{
	if (n <= 0)
		return 0;
	return (n - 1) / stride + 1;
}

/* half returns ceil(n / 2). */
static inline int64_t half(int64_t n)
{
	return n / 2 + (n & 1);
}

int wtconv_check_size(int64_t levels, int64_t h, int64_t w, char *msg, size_t msglen)
{
	if (msg != NULL && msglen > 0)
		msg[0] = '\0';
	if (levels < 0 || levels > WTCONV_MAX_LEVELS) {
		if (msg != NULL && msglen > 0)
			snprintf(msg, msglen, "levels %lld is outside [0, %d]", (long long)levels,
				 WTCONV_MAX_LEVELS);
		return -1;
	}
	if (h < 0 || w < 0) {
		if (msg != NULL && msglen > 0)
			snprintf(msg, msglen, "negative plane size %lld x %lld", (long long)h, (long long)w);
		return -1;
	}
	return 0;
}

int wtconv_bank_init(const char *name, wtconv_bank *bank)
{
	if (name == NULL)
		return -1;
	const char *key = strcasecmp(name, "haar") == 0 ? "db1" : name;
	const size_t count = sizeof wtconv_wavelet_table / sizeof wtconv_wavelet_table[0];
	for (size_t i = 0; i < count; i++) {
		const wtconv_wavelet_coeffs *c = &wtconv_wavelet_table[i];
		if (strcasecmp(c->name, key) != 0 || c->taps > WTCONV_MAX_TAPS)
			continue;
		memset(bank, 0, sizeof *bank);
		snprintf(bank->name, sizeof bank->name, "%s", c->name);
		bank->taps = c->taps;
		bank->haar = strcmp(c->name, "db1") == 0;
		for (int j = 0; j < c->taps; j++) {
			bank->lo[j] = (float)c->dec_lo[c->taps - 1 - j];
			bank->hi[j] = (float)c->dec_hi[c->taps - 1 - j];
			bank->rlo[j] = (float)c->dec_lo[c->taps - 1 - j]; /* rec_lo = dec_lo reversed */
			bank->rhi[j] = (float)c->dec_hi[c->taps - 1 - j]; /* rec_hi = dec_hi reversed */
		}
		return 0;
	}
	return -1;
}

/* level_sizes fills hs[0..L], ws[0..L] with each level's plane size. */
static void level_sizes(int64_t levels, int64_t h, int64_t w, int64_t *hs, int64_t *ws)
{
	hs[0] = h;
	ws[0] = w;
	for (int64_t i = 1; i <= levels; i++) {
		hs[i] = half(hs[i - 1]);
		ws[i] = half(ws[i - 1]);
	}
}

/* padded returns the float count of an h x w plane with a k-1 zero border
 * split (k-1)/2 before and the rest after, on both axes. */
static inline size_t padded(int64_t h, int64_t w, int64_t k)
{
	return (size_t)(h + k - 1) * (size_t)(w + k - 1);
}

/* base_k is the base kernel size kb (base_ksize, or ksize when 0). */
static inline int64_t base_k(const wtconv_layer *layer)
{
	return layer->base_ksize > 0 ? layer->base_ksize : layer->ksize;
}

/* The scratch buffer of one plane, carved into its parts. */
typedef struct plane_layout {
	int64_t hs[WTCONV_MAX_LEVELS + 1], ws[WTCONV_MAX_LEVELS + 1];
	int64_t ys[WTCONV_MAX_LEVELS + 1]; /* row stride of padded planes and conv outputs */
	float *xpad;                       /* the input plane inside a zero border */
	float *base;                       /* base branch, h rows of stride ys[0] */
	float *yl[WTCONV_MAX_LEVELS + 1];  /* Y_i: 4 bands of hs[i] rows of stride ys[i] */
	float *tl[WTCONV_MAX_LEVELS + 1];  /* T_i: 4 padded unconvolved bands */
	size_t floats;                     /* total size */
} plane_layout;

/* carve computes the layout for an h x w plane; with scratch NULL only the
 * sizes (and offsets from NULL, unused) are meaningful. */
static void carve(const wtconv_layer *layer, int64_t h, int64_t w, float *scratch, plane_layout *pl)
{
	const int64_t levels = layer->levels, k = layer->ksize, kb = base_k(layer);
	level_sizes(levels, h, w, pl->hs, pl->ws);
	pl->ys[0] = w + kb - 1;
	for (int64_t i = 1; i <= levels; i++)
		pl->ys[i] = pl->ws[i] + k - 1;
	size_t off = 0;
#define WTCONV_TAKE(ptr, n)                                                                                  \
	do {                                                                                                 \
		(ptr) = scratch != NULL ? scratch + off : NULL;                                              \
		off += (n);                                                                                  \
	} while (0)
	WTCONV_TAKE(pl->xpad, padded(h, w, kb));
	WTCONV_TAKE(pl->base, (size_t)h * (size_t)pl->ys[0]);
	for (int64_t i = 1; i <= levels; i++)
		WTCONV_TAKE(pl->yl[i], 4 * (size_t)pl->hs[i] * (size_t)pl->ys[i]);
	for (int64_t i = 1; i <= levels; i++)
		WTCONV_TAKE(pl->tl[i], 4 * padded(pl->hs[i], pl->ws[i], k));
#undef WTCONV_TAKE
	pl->floats = off;
}

size_t wtconv_scratch_floats(const wtconv_layer *layer, int64_t h, int64_t w)
{
	plane_layout pl;
	carve(layer, h, w, NULL, &pl);
	return pl.floats;
}

/* zero_border clears the k-1 border of a padded h x w plane (row stride
 * w + k - 1), leaving the interior alone. */
static void zero_border(float *p, int64_t h, int64_t w, int64_t k)
{
	const int64_t pb = (k - 1) / 2, pa = k - 1 - pb, ps = w + k - 1;
	memset(p, 0, (size_t)(pb * ps) * sizeof(float));
	memset(p + (pb + h) * ps, 0, (size_t)(pa * ps) * sizeof(float));
	for (int64_t y = pb; y < pb + h; y++) {
		float *row = p + y * ps;
		for (int64_t x = 0; x < pb; x++)
			row[x] = 0.0f;
		for (int64_t x = pb + w; x < ps; x++)
			row[x] = 0.0f;
	}
}

void wtconv_scratch_init(const wtconv_layer *layer, int64_t h, int64_t w, float *scratch)
{
	plane_layout pl;
	carve(layer, h, w, scratch, &pl);
	const int64_t k = layer->ksize;
	zero_border(pl.xpad, h, w, base_k(layer));
	for (int64_t i = 1; i <= layer->levels; i++) {
		const size_t band = padded(pl.hs[i], pl.ws[i], k);
		for (int b = 0; b < 4; b++)
			zero_border(pl.tl[i] + b * band, pl.hs[i], pl.ws[i], k);
	}
}

/*
 * The helpers below are always inlined into wtconv_plane, which is compiled
 * once per target in WTCONV_CLONES, so that each copy gets the wider vector
 * instructions of its target.
 */
#define WTCONV_INLINE static inline __attribute__((always_inline))

/*
 * The convolutions run on zero-padded planes (row stride ps = w + k - 1, the
 * interior at row and column (k-1)/2) and treat a plane as one long row:
 * output i = y * ps + x is sum_{ky,kx} kern[ky][kx] * pad[i + ky*ps + kx],
 * which for x < w is the "same" cross-correlation at (y, x); the k-1 outputs
 * per row with x >= w are computed and ignored. One long loop vectorizes
 * far better than many short rows (a deep level's rows are a few pixels
 * wide). The outputs are i in [0, n) with n = (h-1)*ps + w, which reads no
 * further than the padded plane's last element.
 *
 * conv_lin_k writes (add + sum) * mul to out[i] for a compile-time K: the
 * taps unroll, and blocks of 16 outputs are summed in two 8-float vectors
 * (GCC vector extensions: AVX in the x86-64-v3/v4 clones, pairs of SSE
 * registers in the baseline), which share each weight broadcast. The last
 * block is placed to end at n, overlapping the previous one (recomputing an
 * output gives the same value); planes of fewer than 16 outputs run scalar.
 * Every output sums its taps in the same order, so the split never changes
 * a result.
 */
typedef float wtconv_v8 __attribute__((vector_size(32)));

/* Unaligned 8-float loads and stores (macros: GCC warns about passing AVX
 * vectors by value in the baseline target, even to inlined functions). */
#define LOAD8(v, p) memcpy(&(v), (p), sizeof(wtconv_v8))
#define STORE8(p, v) memcpy((p), &(v), sizeof(wtconv_v8))

WTCONV_INLINE void conv_lin_k(const float *restrict pad, int64_t ps, int64_t n, const float *restrict kern,
			      const int K, float add, float mul, float *restrict out)
{
	float wk[K * K];
	for (int t = 0; t < K * K; t++)
		wk[t] = kern[t];
	if (n < 16) {
		for (int64_t i = 0; i < n; i++) {
			float acc = 0.0f;
			for (int ky = 0; ky < K; ky++)
				for (int kx = 0; kx < K; kx++)
					acc += wk[ky * K + kx] * pad[i + ky * ps + kx];
			out[i] = (acc + add) * mul;
		}
		return;
	}
	const wtconv_v8 vadd = {add, add, add, add, add, add, add, add};
	const wtconv_v8 vmul = {mul, mul, mul, mul, mul, mul, mul, mul};
	for (int64_t i0 = 0; i0 < n; i0 += 16) {
		const int64_t i = i0 + 16 <= n ? i0 : n - 16;
		wtconv_v8 a0 = {0}, a1 = {0};
		for (int ky = 0; ky < K; ky++) {
			const float *restrict r = pad + i + ky * ps;
			for (int kx = 0; kx < K; kx++) {
				const float wv = wk[ky * K + kx];
				wtconv_v8 x0, x1;
				LOAD8(x0, r + kx);
				LOAD8(x1, r + kx + 8);
				a0 += wv * x0;
				a1 += wv * x1;
			}
		}
		a0 = (a0 + vadd) * vmul;
		a1 = (a1 + vadd) * vmul;
		STORE8(out + i, a0);
		STORE8(out + i + 8, a1);
	}
}

/* conv_lin_any is conv_lin_k for any k: tap by tap over the whole plane. */
WTCONV_INLINE void conv_lin_any(const float *restrict pad, int64_t ps, int64_t n, const float *restrict kern,
				int64_t k, float add, float mul, float *restrict out)
{
	for (int64_t i = 0; i < n; i++)
		out[i] = 0.0f;
	for (int64_t ky = 0; ky < k; ky++)
		for (int64_t kx = 0; kx < k; kx++) {
			const float wv = kern[ky * k + kx];
			const float *restrict src = pad + ky * ps + kx;
			for (int64_t i = 0; i < n; i++)
				out[i] += wv * src[i];
		}
	for (int64_t i = 0; i < n; i++)
		out[i] = (out[i] + add) * mul;
}

/* conv_plane: (add + "same" conv of the padded h x w plane) * mul into out,
 * row stride w + k - 1. */
WTCONV_INLINE void conv_plane(const float *restrict pad, int64_t h, int64_t w, const float *restrict kern,
			      int64_t k, float add, float mul, float *restrict out)
{
	if (h <= 0 || w <= 0)
		return;
	const int64_t ps = w + k - 1, n = (h - 1) * ps + w;
	switch (k) {
	case 3:
		conv_lin_k(pad, ps, n, kern, 3, add, mul, out);
		break;
	case 5:
		conv_lin_k(pad, ps, n, kern, 5, add, mul, out);
		break;
	case 7:
		conv_lin_k(pad, ps, n, kern, 7, add, mul, out);
		break;
	default:
		conv_lin_any(pad, ps, n, kern, k, add, mul, out);
		break;
	}
}

/*
 * haar_analysis transforms the hp x wp plane src (row stride sstride) into
 * four hc x wc bands (hc = ceil(hp/2), wc = ceil(wp/2)), padding an odd last
 * row or column with zeros. Band b's element (y, x) goes to
 * t + b * tband + (y + off) * tstride + x + off, i.e. into the interior of
 * four padded planes.
 */
WTCONV_INLINE void haar_analysis(const float *restrict src, int64_t sstride, int64_t hp, int64_t wp,
				 float *restrict t, size_t tband, int64_t tstride, int64_t off, int64_t hc,
				 int64_t wc)
{
	float *restrict t0 = t, *restrict t1 = t + tband, *restrict t2 = t + 2 * tband, *restrict t3 = t + 3 * tband;
	const int64_t wfull = wp / 2;
	for (int64_t yy = 0; yy < hc; yy++) {
		const float *restrict r0 = src + 2 * yy * sstride;
		const int has_r1 = 2 * yy + 1 < hp;
		const float *restrict r1 = has_r1 ? r0 + sstride : r0;
		const int64_t o = (yy + off) * tstride + off;
		if (has_r1) {
			for (int64_t xx = 0; xx < wfull; xx++) {
				const float a = r0[2 * xx], b = r0[2 * xx + 1], c = r1[2 * xx], d = r1[2 * xx + 1];
				t0[o + xx] = (a + b + c + d) * 0.5f;
				t1[o + xx] = (a + b - c - d) * 0.5f;
				t2[o + xx] = (a - b + c - d) * 0.5f;
				t3[o + xx] = (a - b - c + d) * 0.5f;
			}
		} else {
			for (int64_t xx = 0; xx < wfull; xx++) {
				const float a = r0[2 * xx], b = r0[2 * xx + 1];
				t0[o + xx] = (a + b) * 0.5f;
				t1[o + xx] = (a + b) * 0.5f;
				t2[o + xx] = (a - b) * 0.5f;
				t3[o + xx] = (a - b) * 0.5f;
			}
		}
		if (wc > wfull) { /* odd width: b = d = 0 */
			const float a = r0[2 * wfull], c = has_r1 ? r1[2 * wfull] : 0.0f;
			t0[o + wfull] = (a + c) * 0.5f;
			t1[o + wfull] = (a - c) * 0.5f;
			t2[o + wfull] = (a + c) * 0.5f;
			t3[o + wfull] = (a - c) * 0.5f;
		}
	}
}

/*
 * synth_row writes src + row p of the inverse Haar transform of the four
 * hc x wc bands at yb (row stride ys, band stride bs), cropped to wp columns,
 * to dst (dst may be src).
 */
WTCONV_INLINE void synth_row(const float *restrict yb, int64_t ys, size_t bs, int64_t p, int64_t wp,
			     const float *src, float *dst)
{
	const int64_t yy = p >> 1;
	const float *restrict l = yb + yy * ys;
	const float *restrict b1 = yb + bs + yy * ys;
	const float *restrict b2 = yb + 2 * bs + yy * ys;
	const float *restrict b3 = yb + 3 * bs + yy * ys;
	const int64_t pairs = wp / 2;
	if ((p & 1) == 0) {
		for (int64_t xx = 0; xx < pairs; xx++) {
			const float u = l[xx] + b1[xx];
			const float e = src[2 * xx] + (u + b2[xx] + b3[xx]) * 0.5f;
			const float o = src[2 * xx + 1] + (u - b2[xx] - b3[xx]) * 0.5f;
			dst[2 * xx] = e;
			dst[2 * xx + 1] = o;
		}
		if (wp & 1)
			dst[wp - 1] = src[wp - 1] + (l[pairs] + b1[pairs] + b2[pairs] + b3[pairs]) * 0.5f;
	} else {
		for (int64_t xx = 0; xx < pairs; xx++) {
			const float u = l[xx] - b1[xx];
			const float e = src[2 * xx] + (u + b2[xx] - b3[xx]) * 0.5f;
			const float o = src[2 * xx + 1] + (u - b2[xx] + b3[xx]) * 0.5f;
			dst[2 * xx] = e;
			dst[2 * xx + 1] = o;
		}
		if (wp & 1)
			dst[wp - 1] = src[wp - 1] + (l[pairs] - b1[pairs] + b2[pairs] - b3[pairs]) * 0.5f;
	}
}

/*
 * bank_analysis is haar_analysis for an n-tap wavelet: the hp x wp plane src
 * (row stride sstride), zero-padded by one row/column at the end when odd and
 * by pad = n/2 - 1 on every side, correlated with stride 2 by the separable
 * filters band 0 = lo x lo, 1 = hi (rows) x lo (columns), 2 = lo x hi,
 * 3 = hi x hi. The padding is read as bounds, not stored.
 */
static void bank_analysis(const wtconv_bank *bk, const float *restrict src, int64_t sstride, int64_t hp,
			  int64_t wp, float *restrict t, size_t tband, int64_t tstride, int64_t off, int64_t hc,
			  int64_t wc)
{
	const int n = bk->taps, pad = n / 2 - 1;
	for (int64_t yy = 0; yy < hc; yy++)
		for (int64_t xx = 0; xx < wc; xx++) {
			float b0 = 0.0f, b1 = 0.0f, b2 = 0.0f, b3 = 0.0f;
			for (int i = 0; i < n; i++) {
				const int64_t r = 2 * yy + i - pad;
				if (r < 0 || r >= hp)
					continue;
				const float *restrict row = src + r * sstride;
				float sl = 0.0f, sh = 0.0f;
				for (int j = 0; j < n; j++) {
					const int64_t c = 2 * xx + j - pad;
					if (c < 0 || c >= wp)
						continue;
					sl += bk->lo[j] * row[c];
					sh += bk->hi[j] * row[c];
				}
				b0 += bk->lo[i] * sl;
				b1 += bk->hi[i] * sl;
				b2 += bk->lo[i] * sh;
				b3 += bk->hi[i] * sh;
			}
			const int64_t o = (yy + off) * tstride + off + xx;
			t[o] = b0;
			t[tband + o] = b1;
			t[2 * tband + o] = b2;
			t[3 * tband + o] = b3;
		}
}

/*
 * bank_synth_row is synth_row for an n-tap wavelet: dst = src + row p of the
 * transposed convolution (stride 2, pad n/2 - 1 on every side) of the four
 * hc x wc bands at yb (row stride ys, band stride bs) with the synthesis
 * filters, cropped to wp columns. dst may be src.
 */
static void bank_synth_row(const wtconv_bank *bk, const float *yb, int64_t ys, size_t bs, int64_t hc, int64_t wc,
			   int64_t p, int64_t wp, const float *src, float *dst)
{
	const int n = bk->taps, pad = n / 2 - 1;
	if (dst != src)
		memcpy(dst, src, (size_t)wp * sizeof(float));
	for (int64_t yy = 0; yy < hc; yy++) {
		const int64_t i = p + pad - 2 * yy;
		if (i < 0 || i >= n)
			continue;
		const float rl = bk->rlo[i], rh = bk->rhi[i];
		const float *l = yb + yy * ys, *v1 = yb + bs + yy * ys, *v2 = yb + 2 * bs + yy * ys,
			    *v3 = yb + 3 * bs + yy * ys;
		for (int64_t xx = 0; xx < wc; xx++) {
			const float a = rl * l[xx] + rh * v1[xx], b = rl * v2[xx] + rh * v3[xx];
			for (int j = 0; j < n; j++) {
				const int64_t ox = 2 * xx + j - pad;
				if (ox < 0 || ox >= wp)
					continue;
				dst[ox] += bk->rlo[j] * a + bk->rhi[j] * b;
			}
		}
	}
}

/* Function multiversioning: on x86-64 with GCC, wtconv_plane is compiled for
 * the baseline target and for x86-64-v3 (AVX2 + FMA) and v4 (AVX-512), and
 * the dynamic loader picks the best one for the running CPU. Define
 * WTCONV_NO_CLONES to build the baseline only. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(WTCONV_NO_CLONES)
#define WTCONV_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define WTCONV_CLONES
#endif

WTCONV_CLONES
void wtconv_plane(const wtconv_layer *layer, int64_t c, const float *x, int64_t h, int64_t w, float *y,
		  float *scratch)
{
	const int64_t levels = layer->levels, k = layer->ksize, s = layer->stride, C = layer->channels;
	const int64_t kb = base_k(layer), pb = (k - 1) / 2, pbb = (kb - 1) / 2;
	const size_t kk = (size_t)k * (size_t)k, kbb = (size_t)kb * (size_t)kb;
	const wtconv_bank *bk = layer->bank != NULL && !layer->bank->haar ? layer->bank : NULL; /* NULL: Haar */
	plane_layout pl;
	carve(layer, h, w, scratch, &pl);
	const int64_t *hs = pl.hs, *ws = pl.ws, *ys = pl.ys;
	float *const *yl = pl.yl, *const *tl = pl.tl;
	float *xpad = pl.xpad, *base = pl.base;

	/* The input plane, inside its zero border. */
	for (int64_t r = 0; r < h; r++)
		memcpy(xpad + (r + pbb) * ys[0] + pbb, x + r * w, (size_t)w * sizeof(float));

	/* Analysis: level i transforms X_{i-1} (x itself, then band 0 of the
	 * previous level's unconvolved bands) into four zero-padded bands and
	 * convolves and scales each into Y_i. */
	const float *src = x;
	int64_t sstride = w;
	for (int64_t i = 1; i <= levels; i++) {
		float *t = tl[i];
		const int64_t hc = hs[i], wc = ws[i];
		const size_t tband = padded(hc, wc, k), bs = (size_t)hc * (size_t)ys[i];
		if (bk == NULL)
			haar_analysis(src, sstride, hs[i - 1], ws[i - 1], t, tband, ys[i], pb, hc, wc);
		else
			bank_analysis(bk, src, sstride, hs[i - 1], ws[i - 1], t, tband, ys[i], pb, hc, wc);
		const float *wk = layer->wavelet_weight + ((size_t)(i - 1) * 4 * (size_t)C + 4 * (size_t)c) * kk;
		const float *sc = layer->wavelet_scale + (size_t)(i - 1) * 4 * (size_t)C + 4 * (size_t)c;
		for (int b = 0; b < 4; b++)
			conv_plane(t + b * tband, hc, wc, wk + b * kk, k, 0.0f, sc[b], yl[i] + b * bs);
		src = t + pb * ys[i] + pb; /* band 0, unconvolved */
		sstride = ys[i];
	}

	/* Synthesis of levels L..2 into band 0 of the level above. */
	for (int64_t i = levels; i >= 2; i--) {
		const size_t bs = (size_t)hs[i] * (size_t)ys[i];
		for (int64_t r = 0; r < hs[i - 1]; r++) {
			float *row = yl[i - 1] + r * ys[i - 1];
			if (bk == NULL)
				synth_row(yl[i], ys[i], bs, r, ws[i - 1], row, row);
			else
				bank_synth_row(bk, yl[i], ys[i], bs, hs[i], ws[i], r, ws[i - 1], row, row);
		}
	}

	/* Base branch: base_scale * (conv + bias), over the whole plane. */
	conv_plane(xpad, h, w, layer->base_weight + (size_t)c * kbb, kb,
		   layer->base_bias != NULL ? layer->base_bias[c] : 0.0f, layer->base_scale[c], base);

	/* Add the level-1 synthesis on the rows that are kept and subsample. */
	const int64_t ho = wtconv_out_size(h, s), wo = wtconv_out_size(w, s);
	const size_t bs1 = levels >= 1 ? (size_t)hs[1] * (size_t)ys[1] : 0;
	for (int64_t oy = 0; oy < ho; oy++) {
		const int64_t r = oy * s;
		float *brow = base + r * ys[0];
		float *orow = y + oy * wo;
		if (s == 1) {
			if (levels >= 1 && bk == NULL)
				synth_row(yl[1], ys[1], bs1, r, w, brow, orow);
			else if (levels >= 1)
				bank_synth_row(bk, yl[1], ys[1], bs1, hs[1], ws[1], r, w, brow, orow);
			else
				memcpy(orow, brow, (size_t)w * sizeof(float));
		} else {
			if (levels >= 1 && bk == NULL)
				synth_row(yl[1], ys[1], bs1, r, w, brow, brow);
			else if (levels >= 1)
				bank_synth_row(bk, yl[1], ys[1], bs1, hs[1], ws[1], r, w, brow, brow);
			for (int64_t ox = 0; ox < wo; ox++)
				orow[ox] = brow[ox * s];
		}
	}
}

int wtconv_forward(const wtconv_layer *layer, const float *x, int64_t n, int64_t h, int64_t w, float *y, char *msg,
		   size_t msglen)
{
	if (wtconv_check_size(layer->levels, h, w, msg, msglen) != 0)
		return -1;
	const int64_t C = layer->channels;
	const size_t in_plane = (size_t)h * (size_t)w;
	const size_t out_plane = (size_t)wtconv_out_size(h, layer->stride) * (size_t)wtconv_out_size(w, layer->stride);
	if (n <= 0 || C <= 0 || in_plane == 0)
		return 0;
	float *scratch = malloc(wtconv_scratch_floats(layer, h, w) * sizeof(float));
	if (scratch == NULL) {
		if (msg != NULL && msglen > 0)
			snprintf(msg, msglen, "cannot allocate scratch memory for a %lld x %lld plane", (long long)h,
				 (long long)w);
		return -2;
	}
	wtconv_scratch_init(layer, h, w, scratch);
	for (int64_t b = 0; b < n; b++)
		for (int64_t c = 0; c < C; c++) {
			const size_t plane = (size_t)b * (size_t)C + (size_t)c;
			wtconv_plane(layer, c, x + plane * in_plane, h, w, y + plane * out_plane, scratch);
		}
	free(scratch);
	return 0;
}
