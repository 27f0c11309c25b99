#pragma once

/// Element-wise row helpers of the transformer ops on AVX-512F (TensorCore's `accumulateRow`, `scaleRow`, the
/// gated residual and its pullback): 16 lanes per step and a masked tail where the 8-lane Swift loops checked
/// for a partial chunk every eight values. Each element gets the Swift code's operations in its order (a
/// product, then an add: two roundings), so the bits do not change. Only call when cgemm_available() is 1.

/// o[j] += a[j], or o[j] += a[j] b[j] when b is not NULL, for j < n.
void crow_accumulate(float *o, const float *a, const float *b, long n);

/// p[j] *= f for j < n.
void crow_scale(float *p, long n, float f);

/// o[j] = a[j] b[j] for j < n.
void crow_multiply(const float *a, const float *b, float *o, long n);

/// o[j] = r[j] + a[j] y[j] for j < n (o may be y).
void crow_gated_add(const float *r, const float *a, const float *y, float *o, long n);
