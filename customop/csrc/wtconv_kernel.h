/*
 * wtconv_kernel.h - the fused WTConv layer as plain C on float32 buffers.
 *
 * This is the computational core of the ai.wtonnx::WTConv custom operator. It
 * knows nothing about ONNX Runtime (the glue lives in wtconv_op.c), so that a
 * test driver can call it directly, for example under AddressSanitizer.
 *
 * Semantics: /work/shared/spec/wtconv.md (wavelet analysis level by level, a
 * depthwise k x k "same" convolution and a per-channel scale at every level,
 * synthesis from the deepest level up with cropping, base depthwise kb x kb
 * conv plus bias times the base scale, and stride subsampling at the very
 * end). The wavelet is Haar (db1, a dedicated 2 x 2 path) or any n-tap
 * Daubechies wavelet db1..db38 (the spec's "Other wavelets": n x n filters,
 * pads n/2 - 1 after the odd-size end pad). Levels whose input is below
 * 2 x 2 are computed as the authors' module computes them.
 *
 * Layouts (all row-major, float32):
 *   x              [N][C][H][W]
 *   base_weight    [C][kb][kb]        (ONNX shape C x 1 x kb x kb)
 *   base_bias      [C] or NULL
 *   base_scale     [C]
 *   wavelet_weight [L][4C][k][k]      (channel 4c + band)
 *   wavelet_scale  [L][4C]
 *   y              [N][C][ceil(H/s)][ceil(W/s)]
 */
#ifndef WTONNX_WTCONV_KERNEL_H
#define WTONNX_WTCONV_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The largest number of levels accepted. Past ceil(log2(max(H, W))) levels
 * every level is 1 x 1, so more would only repeat the same work. */
#define WTCONV_MAX_LEVELS 32

/* The longest wavelet filter (db38 has 76 taps). */
#define WTCONV_MAX_TAPS 76

/* A wavelet's 1-D filters in float32, as the kernel applies them: lo and hi
 * analyse (PyWavelets' dec_lo and dec_hi reversed: the authors' module uses
 * them in a cross-correlation), rlo and rhi synthesise (rec_lo, rec_hi). */
typedef struct wtconv_bank {
	char name[8]; /* canonical name, e.g. "db2" */
	int taps;     /* n: even, 2 for Haar */
	int haar;     /* 1 for db1: the 2 x 2 fast path */
	float lo[WTCONV_MAX_TAPS], hi[WTCONV_MAX_TAPS], rlo[WTCONV_MAX_TAPS], rhi[WTCONV_MAX_TAPS];
} wtconv_bank;

/* wtconv_bank_init fills bank for a wavelet name: "db1" (alias "haar")
 * through "db38", case-insensitive. It returns 0, or -1 for a name it does not
 * support (bank untouched). */
int wtconv_bank_init(const char *name, wtconv_bank *bank);

/* One layer's parameters. The pointers are borrowed, never freed. */
typedef struct wtconv_layer {
	int64_t channels;   /* C >= 0 */
	int64_t ksize;      /* k >= 1 (even allowed): the wavelet-domain kernel */
	int64_t base_ksize; /* kb >= 1: the base kernel; 0 means ksize */
	int64_t levels;     /* L in [0, WTCONV_MAX_LEVELS] */
	int64_t stride;     /* s >= 1 */
	const wtconv_bank *bank; /* the wavelet; NULL means Haar */
	const float *base_weight;
	const float *base_bias; /* may be NULL: no bias */
	const float *base_scale;
	const float *wavelet_weight; /* may be NULL when levels == 0 */
	const float *wavelet_scale;  /* may be NULL when levels == 0 */
} wtconv_layer;

/* wtconv_out_size returns ceil(n / stride) for n >= 0, stride >= 1. */
int64_t wtconv_out_size(int64_t n, int64_t stride);

/* wtconv_check_size checks the level count (0..WTCONV_MAX_LEVELS) and the
 * plane size (not negative). Any level count fits any non-empty plane: a
 * level whose input is below 2 x 2 is padded to even size and transformed,
 * as the authors' module does. It returns 0 when the plane fits, else -1
 * with a message in msg (always NUL-terminated when msglen > 0). */
int wtconv_check_size(int64_t levels, int64_t h, int64_t w, char *msg, size_t msglen);

/* wtconv_scratch_floats returns the number of floats of scratch memory that
 * wtconv_plane needs for one h x w plane (the same for every channel). The
 * size check must pass. */
size_t wtconv_scratch_floats(const wtconv_layer *layer, int64_t h, int64_t w);

/* wtconv_scratch_init zeroes the padding borders inside a scratch buffer of
 * wtconv_scratch_floats(layer, h, w) floats (a zero-filled buffer needs no
 * init). */
void wtconv_scratch_init(const wtconv_layer *layer, int64_t h, int64_t w, float *scratch);

/* wtconv_plane computes one (batch, channel) plane: x is the h x w input
 * plane of channel c, y the ceil(h/s) x ceil(w/s) output plane, scratch holds
 * at least wtconv_scratch_floats(layer, h, w) floats. The size check must
 * pass (see wtconv_check_size).
 *
 * The scratch buffer must be prepared once by wtconv_scratch_init (for the
 * same layer and size): it holds zero-padded planes whose borders
 * wtconv_plane never writes, so one buffer serves any number of planes of
 * that layer and size without clearing again. Planes may be computed
 * concurrently with separate scratch buffers. */
void wtconv_plane(const wtconv_layer *layer, int64_t c, const float *x, int64_t h, int64_t w, float *y,
		  float *scratch);

/* wtconv_forward runs the layer on a whole N x C x h x w tensor, plane after
 * plane on the calling thread. It returns 0 on success, -1 when the size check
 * fails (message in msg) and -2 when scratch memory cannot be allocated. */
int wtconv_forward(const wtconv_layer *layer, const float *x, int64_t n, int64_t h, int64_t w, float *y, char *msg,
		   size_t msglen);

#ifdef __cplusplus
}
#endif

#endif /* WTONNX_WTCONV_KERNEL_H */
