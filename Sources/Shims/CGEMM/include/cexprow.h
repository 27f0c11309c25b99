#pragma once

/// The attention softmax's row pass (TensorCore's `expRow`) on AVX-512F: p[i] <- exp(p[i] - max) in place
/// over one row of n values, with the exps of the 16-lane copy of `exp8` (same bits per lane). Returns the
/// row's max and writes the eight partial sums that `expRow`'s 8-lane accumulator holds, added in the same
/// order (chunk after chunk of eight values, the zero-padded tail last), so that Swift's `sum()` of them
/// gives the 8-lane code's bits. Only call when cgemm_available() is 1.
float cexp_row(float *p, int n, float partials[8]);
