/*
 * wtconv_kernel.c - the fused WTConv layer, one (batch, channel) plane at a
 * time. See wtconv_kernel.h for the interface and layouts.
 *
 * Per plane, everything stays in one small scratch buffer:
 *
 *   Y_i  (i = 1..L)  the four convolved and scaled bands of level i,
 *                    4 * h_i * w_i floats each, h_i = ceil(h_{i-1} / 2);
 *   T_a, T_b         ping-pong buffers for the unconvolved Haar bands of the
 *                    current level (band 0 of level i is the input of level
 *                    i+1, so two buffers alternate);
 *   row              one full-resolution output row.
 *
 * Synthesis runs from the deepest level up and adds each level's cropped
 * inverse transform straight into band 0 (LL) of the level above, which has
 * exactly the cropped size. Level 1 is synthesised row by row into the output
 * row that already holds base_scale * (base conv + bias); stride subsampling
 * then keeps every s-th row and column, and only the kept rows are computed.
 */
#include "wtconv_kernel.h"

#include <stdio.h>
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
	if (levels == 0)
		return 0;
	int64_t hh = h, ww = w;
	for (int64_t i = 1; i < levels; i++) {
		hh = half(hh);
		ww = half(ww);
	}
	if (hh >= 2 && ww >= 2)
		return 0;
	/* ceil(n / 2^(L-1)) >= 2  <=>  n >= 2^(L-1) + 1 */
	long long need = (1LL << (levels - 1)) + 1;
	if (msg != NULL && msglen > 0)
		snprintf(msg, msglen,
			 "levels %lld need at least %lld x %lld pixels (every level's input must be at least 2 x 2), "
			 "got %lld x %lld",
			 (long long)levels, need, need, (long long)h, (long long)w);
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

size_t wtconv_scratch_floats(const wtconv_layer *layer, int64_t h, int64_t w)
{
	int64_t hs[WTCONV_MAX_LEVELS + 1], ws[WTCONV_MAX_LEVELS + 1];
	int64_t levels = layer->levels;
	level_sizes(levels, h, w, hs, ws);
	size_t n = (size_t)w; /* output row */
	for (int64_t i = 1; i <= levels; i++)
		n += 4 * (size_t)hs[i] * (size_t)ws[i]; /* Y_i */
	if (levels >= 1)
		n += 4 * (size_t)hs[1] * (size_t)ws[1]; /* T_a */
	if (levels >= 2)
		n += 4 * (size_t)hs[2] * (size_t)ws[2]; /* T_b */
	return n;
}

/*
 * dwconv_row computes row y of the stride-1 "same" cross-correlation of the
 * h x w plane in with the k x k kernel kern: zero padding (k-1)/2 before and
 * the rest after, on both axes. out receives w floats.
 */
static void dwconv_row(const float *restrict in, int64_t h, int64_t w, const float *restrict kern, int64_t k,
		       int64_t y, float *restrict out)
{
	const int64_t pad = (k - 1) / 2;
	memset(out, 0, (size_t)w * sizeof(float));
	for (int64_t ky = 0; ky < k; ky++) {
		const int64_t iy = y + ky - pad;
		if (iy < 0 || iy >= h)
			continue;
		const float *restrict irow = in + iy * w;
		for (int64_t kx = 0; kx < k; kx++) {
			const float wv = kern[ky * k + kx];
			const int64_t off = kx - pad;
			const int64_t x0 = off < 0 ? -off : 0;
			const int64_t x1 = off > 0 ? w - off : w;
			const float *restrict src = irow + off;
			for (int64_t x = x0; x < x1; x++)
				out[x] += wv * src[x];
		}
	}
}

/* dwconv_plane writes scale * ("same" conv of in with kern) to out (h x w). */
static void dwconv_plane(const float *restrict in, int64_t h, int64_t w, const float *restrict kern, int64_t k,
			 float scale, float *restrict out)
{
	for (int64_t y = 0; y < h; y++) {
		float *restrict orow = out + y * w;
		dwconv_row(in, h, w, kern, k, y, orow);
		for (int64_t x = 0; x < w; x++)
			orow[x] *= scale;
	}
}

/*
 * haar_analysis transforms the hp x wp plane src into four hc x wc bands
 * (hc = ceil(hp/2), wc = ceil(wp/2)) stored one after the other in t, padding
 * an odd last row or column with zeros.
 */
static void haar_analysis(const float *restrict src, int64_t hp, int64_t wp, float *restrict t, int64_t hc,
			  int64_t wc)
{
	const size_t bs = (size_t)hc * (size_t)wc;
	float *restrict t0 = t, *restrict t1 = t + bs, *restrict t2 = t + 2 * bs, *restrict t3 = t + 3 * bs;
	const int64_t wfull = wp / 2;
	for (int64_t yy = 0; yy < hc; yy++) {
		const float *r0 = src + 2 * yy * wp;
		const int has_r1 = 2 * yy + 1 < hp;
		const float *r1 = has_r1 ? r0 + wp : r0;
		const int64_t o = yy * wc;
		for (int64_t xx = 0; xx < wc; xx++) {
			const int64_t x0 = 2 * xx;
			const int has_x1 = xx < wfull;
			const float a = r0[x0];
			const float b = has_x1 ? r0[x0 + 1] : 0.0f;
			const float c = has_r1 ? r1[x0] : 0.0f;
			const float d = (has_r1 && has_x1) ? r1[x0 + 1] : 0.0f;
			t0[o + xx] = (a + b + c + d) * 0.5f;
			t1[o + xx] = (a + b - c - d) * 0.5f;
			t2[o + xx] = (a - b + c - d) * 0.5f;
			t3[o + xx] = (a - b - c + d) * 0.5f;
		}
	}
}

/*
 * synth_row adds row p of the inverse Haar transform of the four hc x wc bands
 * at yb (one after the other), cropped to wp columns, to dst.
 */
static void synth_row(const float *restrict yb, int64_t hc, int64_t wc, int64_t p, int64_t wp, float *restrict dst)
{
	const size_t bs = (size_t)hc * (size_t)wc;
	const int64_t yy = p >> 1;
	const float *restrict l = yb + yy * wc;
	const float *restrict b1 = yb + bs + yy * wc;
	const float *restrict b2 = yb + 2 * bs + yy * wc;
	const float *restrict b3 = yb + 3 * bs + yy * wc;
	const int64_t pairs = wp / 2;
	if ((p & 1) == 0) {
		for (int64_t xx = 0; xx < pairs; xx++) {
			const float u = l[xx] + b1[xx];
			dst[2 * xx] += (u + b2[xx] + b3[xx]) * 0.5f;
			dst[2 * xx + 1] += (u - b2[xx] - b3[xx]) * 0.5f;
		}
		if (wp & 1)
			dst[wp - 1] += (l[pairs] + b1[pairs] + b2[pairs] + b3[pairs]) * 0.5f;
	} else {
		for (int64_t xx = 0; xx < pairs; xx++) {
			const float u = l[xx] - b1[xx];
			dst[2 * xx] += (u + b2[xx] - b3[xx]) * 0.5f;
			dst[2 * xx + 1] += (u - b2[xx] + b3[xx]) * 0.5f;
		}
		if (wp & 1)
			dst[wp - 1] += (l[pairs] - b1[pairs] + b2[pairs] - b3[pairs]) * 0.5f;
	}
}

void wtconv_plane(const wtconv_layer *layer, int64_t c, const float *x, int64_t h, int64_t w, float *y,
		  float *scratch)
{
	const int64_t levels = layer->levels, k = layer->ksize, s = layer->stride, C = layer->channels;
	const size_t kk = (size_t)k * (size_t)k;
	int64_t hs[WTCONV_MAX_LEVELS + 1], ws[WTCONV_MAX_LEVELS + 1];
	float *yl[WTCONV_MAX_LEVELS + 1];
	level_sizes(levels, h, w, hs, ws);

	/* Carve the scratch buffer. */
	float *p = scratch;
	float *row = p;
	p += w;
	for (int64_t i = 1; i <= levels; i++) {
		yl[i] = p;
		p += 4 * (size_t)hs[i] * (size_t)ws[i];
	}
	float *tbuf[2] = {NULL, NULL};
	if (levels >= 1) {
		tbuf[0] = p;
		p += 4 * (size_t)hs[1] * (size_t)ws[1];
	}
	if (levels >= 2)
		tbuf[1] = p;

	/* Analysis: level i transforms X_{i-1} (x itself, then band 0 of the
	 * previous level's unconvolved bands) and convolves each band. */
	const float *src = x;
	for (int64_t i = 1; i <= levels; i++) {
		float *t = tbuf[(i - 1) & 1];
		const int64_t hc = hs[i], wc = ws[i];
		const size_t bs = (size_t)hc * (size_t)wc;
		haar_analysis(src, hs[i - 1], ws[i - 1], t, hc, wc);
		const float *wk = layer->wavelet_weight + ((size_t)(i - 1) * 4 * (size_t)C + 4 * (size_t)c) * kk;
		const float *sc = layer->wavelet_scale + (size_t)(i - 1) * 4 * (size_t)C + 4 * (size_t)c;
		for (int b = 0; b < 4; b++)
			dwconv_plane(t + b * bs, hc, wc, wk + b * kk, k, sc[b], yl[i] + b * bs);
		src = t; /* band 0, unconvolved */
	}

	/* Synthesis of levels L..2 into band 0 of the level above. */
	for (int64_t i = levels; i >= 2; i--) {
		float *dst = yl[i - 1];
		for (int64_t r = 0; r < hs[i - 1]; r++)
			synth_row(yl[i], hs[i], ws[i], r, ws[i - 1], dst + r * ws[i - 1]);
	}

	/* Base branch plus level-1 synthesis, only on the rows that are kept. */
	const float *bk = layer->base_weight + (size_t)c * kk;
	const float bscale = layer->base_scale[c];
	const float bias = layer->base_bias != NULL ? layer->base_bias[c] : 0.0f;
	const int64_t ho = wtconv_out_size(h, s), wo = wtconv_out_size(w, s);
	for (int64_t oy = 0; oy < ho; oy++) {
		const int64_t r = oy * s;
		dwconv_row(x, h, w, bk, k, r, row);
		for (int64_t q = 0; q < w; q++)
			row[q] = bscale * (row[q] + bias);
		if (levels >= 1)
			synth_row(yl[1], hs[1], ws[1], r, w, row);
		float *orow = y + oy * wo;
		if (s == 1) {
			memcpy(orow, row, (size_t)w * sizeof(float));
		} else {
			for (int64_t ox = 0; ox < wo; ox++)
				orow[ox] = row[ox * s];
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
	for (int64_t b = 0; b < n; b++)
		for (int64_t c = 0; c < C; c++) {
			const size_t plane = (size_t)b * (size_t)C + (size_t)c;
			wtconv_plane(layer, c, x + plane * in_plane, h, w, y + plane * out_plane, scratch);
		}
	free(scratch);
	return 0;
}
