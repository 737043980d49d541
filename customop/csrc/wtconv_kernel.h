/*
 * wtconv_kernel.h - the fused WTConv layer as plain C on float32 buffers.
 *
 * This is the computational core of the ai.wtonnx::WTConv custom operator. It
 * knows nothing about ONNX Runtime (the glue lives in wtconv_op.c), so that a
 * test driver can call it directly, for example under AddressSanitizer.
 *
 * Semantics: /work/shared/spec/wtconv.md (Haar analysis level by level, a
 * depthwise k x k "same" convolution and a per-channel scale at every level,
 * synthesis from the deepest level up with cropping, base depthwise conv plus
 * bias times the base scale, and stride subsampling at the very end).
 *
 * Layouts (all row-major, float32):
 *   x              [N][C][H][W]
 *   base_weight    [C][k][k]          (ONNX shape C x 1 x k x k)
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

/* The largest number of levels accepted. A level needs an input of at least
 * 2 x 2, so more levels than this could never fit a plane anyway. */
#define WTCONV_MAX_LEVELS 32

/* One layer's parameters. The pointers are borrowed, never freed. */
typedef struct wtconv_layer {
	int64_t channels; /* C >= 0 */
	int64_t ksize;    /* k >= 1 (even allowed) */
	int64_t levels;   /* L in [0, WTCONV_MAX_LEVELS] */
	int64_t stride;   /* s >= 1 */
	const float *base_weight;
	const float *base_bias; /* may be NULL: no bias */
	const float *base_scale;
	const float *wavelet_weight; /* may be NULL when levels == 0 */
	const float *wavelet_scale;  /* may be NULL when levels == 0 */
} wtconv_layer;

/* wtconv_out_size returns ceil(n / stride) for n >= 0, stride >= 1. */
int64_t wtconv_out_size(int64_t n, int64_t stride);

/* wtconv_check_size checks the size rule: for levels >= 1 every level's input
 * must be at least 2 x 2, i.e. ceil(h / 2^(levels-1)) >= 2 and likewise for w.
 * It returns 0 when the plane fits, else -1 with a message in msg (always
 * NUL-terminated when msglen > 0). */
int wtconv_check_size(int64_t levels, int64_t h, int64_t w, char *msg, size_t msglen);

/* wtconv_scratch_floats returns the number of floats of scratch memory that
 * wtconv_plane needs for one h x w plane (the same for every channel). The
 * size rule must hold. */
size_t wtconv_scratch_floats(const wtconv_layer *layer, int64_t h, int64_t w);

/* wtconv_scratch_init zeroes the padding borders inside a scratch buffer of
 * wtconv_scratch_floats(layer, h, w) floats (a zero-filled buffer needs no
 * init). */
void wtconv_scratch_init(const wtconv_layer *layer, int64_t h, int64_t w, float *scratch);

/* wtconv_plane computes one (batch, channel) plane: x is the h x w input
 * plane of channel c, y the ceil(h/s) x ceil(w/s) output plane, scratch holds
 * at least wtconv_scratch_floats(layer, h, w) floats. The size rule must hold
 * (see wtconv_check_size).
 *
 * The scratch buffer must be prepared once by wtconv_scratch_init (for the
 * same layer and size): it holds zero-padded planes whose borders
 * wtconv_plane never writes, so one buffer serves any number of planes of
 * that layer and size without clearing again. Planes may be computed
 * concurrently with separate scratch buffers. */
void wtconv_plane(const wtconv_layer *layer, int64_t c, const float *x, int64_t h, int64_t w, float *y,
		  float *scratch);

/* wtconv_forward runs the layer on a whole N x C x h x w tensor, plane after
 * plane on the calling thread. It returns 0 on success, -1 when the size rule
 * fails (message in msg) and -2 when scratch memory cannot be allocated. */
int wtconv_forward(const wtconv_layer *layer, const float *x, int64_t n, int64_t h, int64_t w, float *y, char *msg,
		   size_t msglen);

#ifdef __cplusplus
}
#endif

#endif /* WTONNX_WTCONV_KERNEL_H */
