#pragma once
#include <stdint.h>

/// 1 when this CPU and OS can run the AVX512_BF16 kernel (cpuid leaf 7.1 EAX bit 5, AVX-512 F/BW,
/// and the OS saving zmm state), else 0. Cheap after the first call.
int cbf16_available(void);

/// C = alpha * op(A) * op(B) + beta * C, row-major (the cblas_sgemm contract), with every element
/// of op(A) and op(B) rounded to bfloat16 (round to nearest even) and the products accumulated in
/// fp32 by vdpbf16ps. C[i][j] depends only on row i of op(A), column j of op(B), k, alpha, beta and
/// C[i][j]: never on m, n or where the element sits in a block, so splitting rows or columns over
/// threads cannot change a bit. beta == 0 does not read C. Only call when cbf16_available() is 1.
void cbf16_gemm(int transA, int transB, int m, int n, int k, float alpha,
                const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);

/// Rounds `count` floats to bfloat16 in place (kept as floats; the same rounding as the GEMM's
/// operands). For tests and reference computations; plain C, any CPU.
void cbf16_round(float *x, long count);
