#pragma once

/// fp32 GEMM kernels on AVX-512F (or AVX2 + FMA) for the row-wise linear layers (DiT): a 12 x 32 register tile of fp32
/// accumulators (6 x 16 on AVX2) that reads A's rows where they are (no packing copy of the activations) and B either
/// packed once into 32-column panels (the weights) or in place (dW's second operand).
///
/// Summation order: every C[i][j] is one chain of fused multiply-adds over p = 0, 1, ..., k - 1, started
/// at 0 (or at C[i][j] with `accumulate`), then + bias[j]. It depends on row i of op(A), column j of
/// op(B) and k only: never on m, n, the tile an element falls in or how rows are split over calls, so a
/// row's bits are the same alone, in any block and at any thread count.

/// 1 when this CPU and OS can run the kernels (AVX-512F with zmm state saved, or AVX2 and FMA with ymm
/// state saved: the same chains, so the same bits), else 0.
int cgemm_available(void);

/// 1 when the AVX-512F kernels run (the other CGEMM row passes need it), else 0.
int cgemm_avx512(void);

/// Floats of a packed op(B) [k, n]: ceil(n / 32) panels of k x 32 (zero columns past n).
long cgemm_packed_floats(int n, int k);

/// Packs op(B) [k, n] into `dst` (cgemm_packed_floats(n, k) floats): B is [k, n] with
/// row stride ldb, or with `transB` [n, k] (a linear layer's W [out, in] for x Wᵀ). Plain C, any CPU.
void cgemm_pack_b(int transB, int n, int k, const float *b, int ldb, float *dst);

/// C[m, n] = alpha A[m, k] op(B) (+ bias[n] when bias is not NULL), A row-major with row stride lda,
/// op(B) packed by cgemm_pack_b, C with row stride ldc (alpha multiplies the finished chain, then the
/// bias is added). Only call when cgemm_available() is 1.
void cgemm_packed(int m, int n, int k, float alpha, const float *a, int lda, const float *packed,
                  const float *bias, float *c, int ldc);

/// C[m, n] = alpha A[m, k] B[k, n] with both read in place (B's rows with stride ldb): cgemm_packed's
/// arithmetic without packing B (attention's P V and dS K, whose B changes with every sample and head).
/// Only call when cgemm_available() is 1.
void cgemm_nn(int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb, float *c, int ldc);

/// C[m, n] (+)= Aᵀ B with A [k, m] (row stride lda) and B [k, n] (row stride ldb), both read in place:
/// a weight gradient gᵀ x summed over k rows in order. `accumulate` starts each chain at C's value
/// (so calls over consecutive row ranges in order give the bits of one call). Only call when
/// cgemm_available() is 1.
void cgemm_tn(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc,
              int accumulate);
