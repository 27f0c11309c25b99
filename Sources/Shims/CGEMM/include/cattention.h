#pragma once

/// Attention's backward row pass (TensorCore's `attentionBackward`) on AVX-512F: dS = P (dP - D) row by row,
/// dp[i][j] <- p[i][j] (dp[i][j] - rowDot[i]) over a t x t block (a subtract, then a multiply, per element:
/// the Swift code's bits). Only call when cgemm_available() is 1.
void cattn_softmax_pullback(const float *p, float *dp, int t, const float *rowDot);
