/*
 * wtconv_block_body.h - the channel-blocked path's body, included twice by
 * wtconv_kernel.c: with BW = 16 (one vector per pixel: AVX-512) and with
 * BW = 8 (half a pixel per vector: AVX2 and the baseline, whose registers
 * hold 8 floats or 4; GCC lowers 16-float vectors there through memory).
 * The includer defines BT (a vector of BW floats), BTI (BW ints), BW, BN(name)
 * (the name with a width suffix), BLOAD and BSTORE. Pixels are VL floats
 * apart in every buffer whatever BW is.
 */
/*
 * convb_row_k: one output row of a depthwise "same" conv on a padded plane
 * of vectors: out[x] = (add + sum_{ky,kx} w[ky][kx] * pad[ky][x + kx]) * mul
 * for x < width, pad pointing at the first tap row (row stride ps floats).
 * Register blocking: P outputs at a time (P <= 8), each weight loaded once
 * for all P outputs; at P = 8 (AVX-512's 32 registers) each input row's
 * P + K - 1 vectors are loaded once too. 4-, 2- and then 1-wide tails
 * follow. Every output sums its taps in the same order, so
 * the blocking never changes a result.
 */
WTCONV_INLINE void BN(convb_run_k)(const float *restrict pad, int64_t ps, const float *restrict wv, const int K,
			       const int P, int ky0, int ky1, const BT *va, const BT *vm,
			       float *restrict out)
{
	BT acc[CONVB_MAXP];
	for (int j = 0; j < P; j++) {
		const BT z = {0};
		acc[j] = z;
	}
	if (P == CONVB_MAXP) {
		/* AVX-512: the row's inputs stay in registers for all taps. */
		for (int ky = ky0; ky < ky1; ky++) {
			const float *restrict r = pad + ky * ps;
			BT in[CONVB_MAXP + 7 - 1];
			for (int j = 0; j < P + K - 1; j++)
				BLOAD(in[j], r + j * VL);
			for (int kx = 0; kx < K; kx++) {
				BT wt;
				BLOAD(wt, wv + (ky * K + kx) * VL);
				for (int j = 0; j < P; j++)
					acc[j] += wt * in[j + kx];
			}
		}
	} else {
		/* Fewer registers (AVX2 holds a 16-float vector in two): each
		 * input is loaded where it is used, as a memory operand of its
		 * FMA, so that only the accumulators and the weight stay live. */
		for (int ky = ky0; ky < ky1; ky++) {
			const float *restrict r = pad + ky * ps;
			for (int kx = 0; kx < K; kx++) {
				BT wt;
				BLOAD(wt, wv + (ky * K + kx) * VL);
				for (int j = 0; j < P; j++) {
					BT in;
					BLOAD(in, r + (j + kx) * VL);
					acc[j] += wt * in;
				}
			}
		}
	}
	for (int j = 0; j < P; j++) {
		const BT o = (acc[j] + *va) * *vm;
		BSTORE(out + j * VL, o);
	}
}

WTCONV_INLINE void BN(convb_row_k)(const float *restrict pad, int64_t ps, int64_t width, const float *restrict wv,
			       const int K, const int P, int ky0, int ky1, const float *add, const float *mul,
			       float *restrict out)
{
	BT va, vm;
	BLOAD(va, add);
	BLOAD(vm, mul);
	int64_t x = 0;
	for (; x + P <= width; x += P)
		BN(convb_run_k)(pad + x * VL, ps, wv, K, P, ky0, ky1, &va, &vm, out + x * VL);
	if (P > 4)
		for (; x + 4 <= width; x += 4)
			BN(convb_run_k)(pad + x * VL, ps, wv, K, 4, ky0, ky1, &va, &vm, out + x * VL);
	if (P > 2)
		for (; x + 2 <= width; x += 2)
			BN(convb_run_k)(pad + x * VL, ps, wv, K, 2, ky0, ky1, &va, &vm, out + x * VL);
	for (; x < width; x++)
		BN(convb_run_k)(pad + x * VL, ps, wv, K, 1, ky0, ky1, &va, &vm, out + x * VL);
}

/* convb_row_any is convb_row_k for any k, one output at a time. */
WTCONV_INLINE void BN(convb_row_any)(const float *restrict pad, int64_t ps, int64_t width, const float *restrict wv,
				 int64_t k, int ky0, int ky1, const float *add, const float *mul, float *restrict out)
{
	BT va, vm;
	BLOAD(va, add);
	BLOAD(vm, mul);
	for (int64_t x = 0; x < width; x++) {
		BT a0 = {0};
		for (int64_t ky = ky0; ky < ky1; ky++) {
			const float *restrict r = pad + ky * ps + x * VL;
			for (int64_t kx = 0; kx < k; kx++) {
				BT wt, i0;
				BLOAD(wt, wv + (ky * k + kx) * VL);
				BLOAD(i0, r + kx * VL);
				a0 += wt * i0;
			}
		}
		a0 = (a0 + va) * vm;
		BSTORE(out + x * VL, a0);
	}
}

/* convb_row computes output row y of an h-row plane (pad points at padded
 * row y, the first tap row). Tap rows that fall wholly in the zero border
 * (ky < pb - y or ky >= pb + h - y) are skipped: they add only zeros, and on
 * the small maps of deep levels they are most of the work (at 2 x 2 with
 * k = 5, three of five rows). */
WTCONV_INLINE void BN(convb_row)(const float *restrict pad, int64_t ps, int64_t width, const float *restrict wv, int64_t k,
			     int64_t y, int64_t h, const int P, const float *add, const float *mul, float *restrict out)
{
	const int64_t pb = (k - 1) / 2;
	const int ky0 = (int)(pb - y > 0 ? pb - y : 0), ky1 = (int)(pb + h - y < k ? pb + h - y : k);
	switch (k) {
	case 3:
		BN(convb_row_k)(pad, ps, width, wv, 3, P, ky0, ky1, add, mul, out);
		break;
	case 5:
		BN(convb_row_k)(pad, ps, width, wv, 5, P, ky0, ky1, add, mul, out);
		break;
	case 7:
		BN(convb_row_k)(pad, ps, width, wv, 7, P, ky0, ky1, add, mul, out);
		break;
	default:
		BN(convb_row_any)(pad, ps, width, wv, k, ky0, ky1, add, mul, out);
		break;
	}
}

/*
 * haarb_analysis is haar_analysis on vectors: the hp x wp plane src (row
 * stride ss vectors) into four hc x wc bands, band b's (y, x) at
 * t + (b * tband + (y + off) * ts + x + off) vectors; an odd last row or
 * column reads as zeros.
 */
WTCONV_INLINE void BN(haarb_analysis)(const float *restrict src, int64_t ss, int64_t hp, int64_t wp, float *restrict t,
				  size_t tband, int64_t ts, int64_t off, int64_t hc, int64_t wc)
{
	const BT half = (BT){0} + 0.5f;
	const BT zero = {0};
	const int64_t wfull = wp / 2;
	for (int64_t yy = 0; yy < hc; yy++) {
		const float *r0 = src + 2 * yy * ss * VL;
		const int has_r1 = 2 * yy + 1 < hp;
		const float *r1 = has_r1 ? r0 + ss * VL : r0;
		float *o = t + ((yy + off) * ts + off) * VL;
		for (int64_t xx = 0; xx < wc; xx++) {
			BT a, b = zero, c = zero, d = zero;
			BLOAD(a, r0 + 2 * xx * VL);
			if (xx < wfull)
				BLOAD(b, r0 + (2 * xx + 1) * VL);
			if (has_r1) {
				BLOAD(c, r1 + 2 * xx * VL);
				if (xx < wfull)
					BLOAD(d, r1 + (2 * xx + 1) * VL);
			}
			const BT s0 = a + b, d0 = a - b, s1 = c + d, d1 = c - d;
			const BT t0 = (s0 + s1) * half, t1 = (s0 - s1) * half, t2 = (d0 + d1) * half,
					t3 = (d0 - d1) * half;
			BSTORE(o + xx * VL, t0);
			BSTORE(o + (tband + xx) * VL, t1);
			BSTORE(o + (2 * tband + xx) * VL, t2);
			BSTORE(o + (3 * tband + xx) * VL, t3);
		}
	}
}

/*
 * synthb_add_row adds row p of the inverse Haar transform of the four bands
 * at yb (row stride yw vectors, band stride bs floats), cropped to wp
 * columns, to dst (wp vectors).
 */
WTCONV_INLINE void BN(synthb_add_row)(const float *restrict yb, int64_t yw, size_t bs, int64_t p, int64_t wp,
				  float *restrict dst)
{
	const BT half = (BT){0} + 0.5f;
	const float *l = yb + (p >> 1) * yw * VL;
	const int odd = (int)(p & 1);
	for (int64_t xx = 0; 2 * xx < wp; xx++) {
		BT L, B1, B2, B3, e, o;
		BLOAD(L, l + xx * VL);
		BLOAD(B1, l + bs + xx * VL);
		BLOAD(B2, l + 2 * bs + xx * VL);
		BLOAD(B3, l + 3 * bs + xx * VL);
		const BT u = odd ? L - B1 : L + B1;
		const BT s = odd ? B2 - B3 : B2 + B3;
		BLOAD(e, dst + 2 * xx * VL);
		e += (u + s) * half;
		BSTORE(dst + 2 * xx * VL, e);
		if (2 * xx + 1 < wp) {
			BLOAD(o, dst + (2 * xx + 1) * VL);
			o += (u - s) * half;
			BSTORE(dst + (2 * xx + 1) * VL, o);
		}
	}
}

/*
 * transpose transposes the BW x BW matrix whose rows are r[0..BW-1] in
 * log2(BW) stages; the stage of granularity g swaps bit g of the row and
 * column index where they differ, using two-source shuffles (one vpermt2ps
 * each under AVX-512). It turns BW channels' runs of BW pixels into BW pixel
 * vectors and back.
 */
typedef int BTI __attribute__((vector_size(BW * sizeof(int))));
#ifndef TSTAGE
#define TSTAGE(r, n, g, lo, hi)                                                                              \
	do {                                                                                                 \
		for (int i_ = 0; i_ < (n); i_++) {                                                           \
			if (i_ & (g))                                                                        \
				continue;                                                                    \
			const __typeof__((r)[0]) a_ = (r)[i_], b_ = (r)[i_ + (g)];                           \
			(r)[i_] = __builtin_shuffle(a_, b_, (lo));                                           \
			(r)[i_ + (g)] = __builtin_shuffle(a_, b_, (hi));                                     \
		}                                                                                            \
	} while (0)
#endif

WTCONV_INLINE void BN(transpose)(BT *r)
{
#if BW == 16
	const BTI lo8 = {0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23};
	const BTI hi8 = {8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31};
	const BTI lo4 = {0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27};
	const BTI hi4 = {4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31};
	const BTI lo2 = {0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29};
	const BTI hi2 = {2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31};
	const BTI lo1 = {0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30};
	const BTI hi1 = {1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31};
	TSTAGE(r, 16, 8, lo8, hi8);
#else
	const BTI lo4 = {0, 1, 2, 3, 8, 9, 10, 11};
	const BTI hi4 = {4, 5, 6, 7, 12, 13, 14, 15};
	const BTI lo2 = {0, 1, 8, 9, 4, 5, 12, 13};
	const BTI hi2 = {2, 3, 10, 11, 6, 7, 14, 15};
	const BTI lo1 = {0, 8, 2, 10, 4, 12, 6, 14};
	const BTI hi1 = {1, 9, 3, 11, 5, 13, 7, 15};
#endif
	TSTAGE(r, BW, 4, lo4, hi4);
	TSTAGE(r, BW, 2, lo2, hi2);
	TSTAGE(r, BW, 1, lo1, hi1);
}

/*
 * gather_block copies channels c0 .. c0+cn-1 (cn <= BW) of the C x h x w
 * input x into BW lanes of the padded plane of pixel vectors dst (row stride
 * ds pixels of VL floats, interior at (pad, pad)); lanes past cn get zeros.
 * The planes are read as flat runs of BW pixels (rows wrap), so a 7 x 7 map
 * wastes no lanes.
 */
WTCONV_INLINE void BN(gather_block)(const float *restrict x, int64_t c0, int64_t cn, int64_t h, int64_t w,
				float *restrict dst, int64_t ds, int64_t pad)
{
	const int64_t hw = h * w;
	int64_t r = 0, col = 0; /* position of pixel q0 */
	for (int64_t q0 = 0; q0 < hw; q0 += BW) {
		const int64_t m = hw - q0 < BW ? hw - q0 : BW;
		BT t[BW];
		for (int64_t lane = 0; lane < BW; lane++) {
			const float *src = x + (size_t)(c0 + lane) * (size_t)hw + (size_t)q0;
			if (lane < cn && m == BW) {
				BLOAD(t[lane], src);
			} else {
				float tmp[BW] = {0};
				if (lane < cn)
					memcpy(tmp, src, (size_t)m * sizeof(float));
				BLOAD(t[lane], tmp);
			}
		}
		BN(transpose)(t);
		for (int64_t j = 0; j < m; j++) {
			BSTORE(dst + ((r + pad) * ds + col + pad) * VL, t[j]);
			if (++col == w) {
				col = 0;
				r++;
			}
		}
	}
}

/*
 * scatter_block writes output vectors [q0, q1) of src (n = ho * wo in
 * all; q0 a multiple of BW, q1 too unless it is n) to lanes 0..cn-1 of
 * planes c0 .. c0+cn-1 of y (plane stride n), BW pixels at a time.
 */
WTCONV_INLINE void BN(scatter_block)(const float *restrict src, int64_t q0, int64_t q1, int64_t n, int64_t c0, int64_t cn,
				 float *restrict y)
{
	for (; q0 < q1; q0 += BW) {
		const int64_t m = q1 - q0 < BW ? q1 - q0 : BW;
		BT t[BW];
		for (int64_t j = 0; j < BW; j++) {
			if (j < m) {
				BLOAD(t[j], src + (q0 + j) * VL);
			} else {
				const BT z = {0};
				t[j] = z;
			}
		}
		BN(transpose)(t);
		for (int64_t lane = 0; lane < cn; lane++) {
			float *d = y + (size_t)(c0 + lane) * (size_t)n + (size_t)q0;
			if (m == BW)
				BSTORE(d, t[lane]);
			else
				memcpy(d, &t[lane], (size_t)m * sizeof(float));
		}
	}
}

/* block_body is wtconv_block on lanes [lo, lo + BW) of channel block cb
 * (BW = VL: the whole block) for a register-blocking width P, compiled once
 * per target below. Lanes are independent, so a BW = 8 target runs a block
 * as two halves over the same buffers. */
WTCONV_INLINE void BN(block_body)(const wtconv_layer *layer, const float *packed, int64_t cb, const float *x, int64_t h,
				  int64_t w, float *y, float *scratch, const int P, int64_t lo)
{
	const int64_t levels = layer->levels, k = layer->ksize, s = layer->stride, C = layer->channels;
	const int64_t kb = base_k(layer), pb = (k - 1) / 2, pbb = (kb - 1) / 2;
	const size_t kk = (size_t)k * (size_t)k, kbb = (size_t)kb * (size_t)kb;
	const int64_t c0 = cb * VL + lo, cn = C - c0 < BW ? C - c0 : BW;
	if (h <= 0 || w <= 0 || cn <= 0)
		return;
	block_layout bl;
	block_carve(layer, h, w, scratch, &bl);
	/* Every buffer and the packed weights, shifted to this lane range. */
	bl.xpad += lo;
	for (int64_t i = 1; i <= levels; i++) {
		bl.tl[i] += lo;
		bl.yl[i] += lo;
	}
	if (bl.row != NULL)
		bl.row += lo;
	bl.out += lo;
	const int64_t *hs = bl.hs, *ws = bl.ws, *ts = bl.ts;
	const float *pk = packed + (size_t)cb * packed_block_vecs(layer) * VL + lo;
	static const float zeros[VL];

	/* Gather the block's channels into the padded input. */
	BN(gather_block)(x, c0, cn, h, w, bl.xpad, bl.xs, pbb);

	/* Analysis, level by level. */
	const float *src = bl.xpad + (pbb * bl.xs + pbb) * VL;
	int64_t ss = bl.xs;
	for (int64_t i = 1; i <= levels; i++) {
		BN(haarb_analysis)(src, ss, hs[i - 1], ws[i - 1], bl.tl[i], bl.tband[i], ts[i], pb, hs[i], ws[i]);
		src = bl.tl[i] + (pb * ts[i] + pb) * VL;
		ss = ts[i];
	}

	/* Level convs from the deepest up; band 0 of Y_i gains the synthesis of
	 * Y_{i+1} row by row. */
	const float *lw = pk + (kbb + 2) * VL; /* level 1's packed taps */
	for (int64_t i = levels; i >= 1; i--) {
		const float *wi = lw + (size_t)(i - 1) * (4 * kk + 4) * VL;
		const size_t band = (size_t)hs[i] * (size_t)ws[i] * VL;
		for (int b = 0; b < 4; b++) {
			const float *tb = bl.tl[i] + (size_t)b * bl.tband[i] * VL;
			float *yb = bl.yl[i] + (size_t)b * band;
			for (int64_t r = 0; r < hs[i]; r++) {
				BN(convb_row)(tb + r * ts[i] * VL, ts[i] * VL, ws[i], wi + (size_t)b * kk * VL, k, r, hs[i], P, zeros,
					  wi + (4 * kk + (size_t)b) * VL, yb + r * ws[i] * VL);
				if (b == 0 && i < levels)
					BN(synthb_add_row)(bl.yl[i + 1], ws[i + 1], (size_t)hs[i + 1] * (size_t)ws[i + 1] * VL, r,
						       ws[i], yb + r * ws[i] * VL);
			}
		}
	}

	/* Output rows: base conv + bias, times the base scale, plus the level-1
	 * synthesis, keeping every s-th row and column; then scattered back to
	 * the planes. */
	const int64_t ho = wtconv_out_size(h, s), wo = wtconv_out_size(w, s);
	const size_t bs1 = levels >= 1 ? (size_t)hs[1] * (size_t)ws[1] * VL : 0;
	int64_t done = 0; /* output vectors scattered */
	for (int64_t oy = 0; oy < ho; oy++) {
		const int64_t r = oy * s;
		float *row = s == 1 ? bl.out + oy * wo * VL : bl.row;
		BN(convb_row)(bl.xpad + r * bl.xs * VL, bl.xs * VL, w, pk, kb, r, h, P, pk + kbb * VL, pk + (kbb + 1) * VL,
			  row);
		if (levels >= 1)
			BN(synthb_add_row)(bl.yl[1], ws[1], bs1, r, w, row);
		if (s > 1)
			for (int64_t ox = 0; ox < wo; ox++)
				memcpy(bl.out + (oy * wo + ox) * VL, row + ox * s * VL, BW * sizeof(float));
		/* Scatter the complete BW-pixel runs so far while they are in L1. */
		const int64_t ready = (oy + 1) * wo / BW * BW;
		BN(scatter_block)(bl.out, done, ready, ho * wo, c0, cn, y);
		done = ready > done ? ready : done;
	}
	BN(scatter_block)(bl.out, done, ho * wo, ho * wo, c0, cn, y);
}

