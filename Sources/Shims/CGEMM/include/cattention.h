#pragma once

/// Attention's backward row pass (TensorCore's `attentionBackward`) on AVX-512F: dS = P (dP - D) row by row,
/// dp[i][j] <- p[i][j] (dp[i][j] - rowDot[i]) over a t x t block (a subtract, then a multiply, per element:
/// the Swift code's bits). Only call when cgemm_available() is 1.
void cattn_softmax_pullback(const float *p, float *dp, int t, const float *rowDot);

/// Asks for `count` segments of `floats` floats, `stride` floats apart from p, in L2 (prefetcht1 per cache
/// line): the next (sample, head)'s rows of q, k, v (and o, dO) while this one computes, a row at a time. The
/// qkv rows arrive from memory (the whole batch's qkv is 29 MB), and the kernels that read them first (the
/// kᵀ packing, q kᵀ) waited for them. Any x86-64 CPU; a no-op elsewhere.
void cattn_prefetch(const float *p, int count, long stride, int floats);
