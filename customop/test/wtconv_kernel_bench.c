/*
 * wtconv_kernel_bench.c - the fused kernel alone (no ONNX Runtime) on the
 * four WTConvNeXt-T layer shapes (k = 5, batch 1, one thread): the blocked
 * path in each variant this CPU runs (avx512, avx2, baseline) beside the
 * planar path (its best target_clones variant for this CPU), interleaved run
 * by run, 3 warm-ups, median of 30, in ms.
 * Built and run by `make customop-kernel-bench`. It shows what each CPU
 * class gets: wtconv_use_blocked picks avx512 or avx2 where present, the
 * planar path where only the baseline is.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wtconv_kernel.h"

#define WARMUPS 3
#define RUNS 30

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	const double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static float *filled(size_t n, unsigned seed)
{
	float *v = malloc(n * sizeof(float) + 64);
	for (size_t i = 0; i < n; i++)
		v[i] = (float)((i * 2654435761u + seed) % 1000) / 1000.0f - 0.5f;
	return v;
}

static float *aligned(size_t n)
{
	return aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
}

int main(void)
{
	static const struct { int64_t c, hw, levels; } shapes[] = {{96, 56, 5}, {192, 28, 4}, {384, 14, 3}, {768, 7, 2}};
	static const char *const names[] = {"avx512", "avx2", "baseline", "planar"};
	printf("%-12s %10s %10s %10s %10s   (ms, median of %d)\n", "layer", names[0], names[1], names[2], names[3], RUNS);
	for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
		const int64_t C = shapes[si].c, H = shapes[si].hw, L = shapes[si].levels, K = 5;
		float *x = filled((size_t)(C * H * H), 1), *y = malloc((size_t)(C * H * H) * sizeof(float));
		float *bw = filled((size_t)(C * K * K), 2), *bb = filled((size_t)C, 3), *bs = filled((size_t)C, 4);
		float *ww = filled((size_t)(L * 4 * C * K * K), 5), *wsc = filled((size_t)(L * 4 * C), 6);
		wtconv_layer l = {
			.channels = C, .ksize = K, .levels = L, .stride = 1, .base_weight = bw, .base_bias = bb,
			.base_scale = bs, .wavelet_weight = ww, .wavelet_scale = wsc,
		};
		const int64_t blocks = (C + WTCONV_BLOCK - 1) / WTCONV_BLOCK;
		float *packed = aligned(wtconv_packed_floats(&l));
		float *bscr = aligned(wtconv_block_scratch_floats(&l, H, H));
		float *pscr = aligned(wtconv_scratch_floats(&l, H, H));
		wtconv_pack(&l, 0, blocks, packed);
		wtconv_block_scratch_init(&l, H, H, bscr);
		wtconv_scratch_init(&l, H, H, pscr);
		int ok[4];
		double t[4][RUNS];
		for (int v = 0; v < 3; v++)
			ok[v] = wtconv_block_use(names[v]) == 0;
		ok[3] = 1;
		for (int it = 0; it < WARMUPS + RUNS; it++)
			for (int v = 0; v < 4; v++) {
				if (!ok[v])
					continue;
				if (v < 3)
					wtconv_block_use(names[v]);
				const double t0 = now_ms();
				if (v < 3)
					for (int64_t cb = 0; cb < blocks; cb++)
						wtconv_block(&l, packed, cb, x, H, H, y, bscr);
				else
					for (int64_t c = 0; c < C; c++)
						wtconv_plane(&l, c, x + c * H * H, H, H, y + c * H * H, pscr);
				if (it >= WARMUPS)
					t[v][it - WARMUPS] = now_ms() - t0;
			}
		wtconv_block_use(NULL);
		char label[32];
		snprintf(label, sizeof label, "C%lld@%lld L%lld", (long long)C, (long long)H, (long long)L);
		printf("%-12s", label);
		for (int v = 0; v < 4; v++) {
			if (!ok[v]) {
				printf(" %10s", "-");
				continue;
			}
			qsort(t[v], RUNS, sizeof(double), cmp);
			printf(" %10.3f", (t[v][RUNS / 2 - 1] + t[v][RUNS / 2]) / 2);
		}
		printf("\n");
		free(x), free(y), free(bw), free(bb), free(bs), free(ww), free(wsc), free(packed), free(bscr), free(pscr);
	}
	return 0;
}
