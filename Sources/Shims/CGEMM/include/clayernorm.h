#pragma once

/// DiT's LayerNorm-modulate row passes (TensorCore's `layerNormModulateForward` / `Backward`) on AVX-512F.
/// The element-wise parts take 16 lanes per step; the sums return the partials of the Swift code's 8-lane
/// accumulators, added in the same order, so that Swift's `sum()` of them gives the Swift code's bits.
/// The Swift code's per-chunk bookkeeping (a partial-chunk check per 8 values) was most of these passes'
/// time (1.3% + 0.9% of a training step). Only call when cgemm_available() is 1.

/// `rowSum`'s accumulators: s0 over the 16-value chunks' first halves, s1 over their second halves, the
/// zero-padded chunks of eight after the last 16 into s0; writes s0 + s1.
void cln_sum_partials(const float *x, int d, float partials[8]);

/// `groupStatistics`' variance accumulators with the same split: q += (x - mean)² (one fused multiply-add,
/// padding lanes zero); writes q0 + q1.
void cln_deviation_partials(const float *x, int d, float mean, float partials[8]);

/// y = x a + b (stored when `y` is not NULL), then out = y (1 + scale) + shift, each a separate rounding.
void cln_modulate_row(const float *x, float *y, float *out, int d, float a, float b, const float *scale, const float *shift);

/// The backward's first pass over a row: dshift += g and dscale += g y (each when not NULL; product, then
/// add), and the 8-lane sums of gv = g (1 + scale) and gv y (one accumulator each, chunk after chunk of
/// eight, the zero-padded tail last; `sgy` by fused multiply-adds).
void cln_backward_sums(const float *g, const float *y, const float *scale, int d, float *dshift, float *dscale,
                       float sg[8], float sgy[8]);

/// The backward's second pass: dx = (gv - mg - y mgy) rs with gv = g (1 + scale).
void cln_backward_row(const float *g, const float *y, const float *scale, int d, float mg, float mgy, float rs, float *dx);
