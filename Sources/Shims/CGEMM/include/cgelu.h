#pragma once

/// GELU (tanh approximation) and its pullback over arrays, 16 lanes at a time on AVX-512F: the same
/// per-lane operations, in the same order, as TensorCore's `gelu8` / `geluGrad8` (x sigmoid(2u) with the
/// Cephes-style `exp8`), so the bits are those of the Swift kernels. The DiT's fc1 output and fc2's input
/// gradient pass through them (~3% of a step on 8-lane AVX2 code that spilled registers).
/// Only call when cgemm_available() is 1.

/// out[i] = gelu(x[i]) for i < n (out may be x).
void cgelu_forward(const float *x, float *out, long n);

/// dx[i] = g[i] gelu'(x[i]) for i < n (dx may be g).
void cgelu_backward(const float *x, const float *g, float *dx, long n);
