// The transformed-domain products of Winograd's forward and input gradient on CPUs without AVX-512 (issue 23,
// session 31): C[m][n] = A[m][k] · B[k][n] for one image and one transform position, A the transformed weights
// [cout][cin] and B the transformed tiles [cin][tiles] (49 or 16 columns on the UNet). OpenBLAS copies both
// operands on every such call (12% of a forward on the AVX2 host); this reads both where they are.
// Register tiles of 4 rows x 16 or 8 columns broadcast A and load B's rows (4 x 24 needs all 16 ymm registers,
// and clang then spills an accumulator in the inner loop: 0.7x OpenBLAS in a scratch harness); the n % 8 tail columns run as
// columns of 32 or 8 rows from A transposed (packed once per conv by the caller), remaining rows scalar.
// Every element is one fused multiply-add chain over k in order, from zero, so its bits do not depend on
// the tile it falls in, on m or on n (WinogradGemmTests checks each path against a scalar fmaf chain).
#include "cconv.h"
#include "ccpu.h"
#include <math.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

int cwino2_gemm_available(void) { return ccpu_has(CCPU_AVX2 | CCPU_FMA); }

#define KG __attribute__((target("avx2,fma")))
#define KGI __attribute__((target("avx2,fma"), always_inline)) static inline
typedef __m256 V;

// Adding +0 turns a -0 sum into +0, as a GEMM that stores alpha * sum + 0 does.
KGI void store8(float *p, V v) { _mm256_storeu_ps(p, _mm256_add_ps(v, _mm256_setzero_ps())); }

// R rows (1 or 4) x 8*NV columns (NV 1 or 2).
#define TILE(R, NV)                                                                                           \
    KGI void tile##R##x##NV(const float *a, long lda, const float *b, long ldb, float *c, long ldc, long k) { \
        V acc[R][NV];                                                                                         \
        for (int r = 0; r < R; r++)                                                                           \
            for (int v = 0; v < NV; v++) acc[r][v] = _mm256_setzero_ps();                                     \
        for (long p = 0; p < k; p++) {                                                                        \
            V bv[NV];                                                                                         \
            for (int v = 0; v < NV; v++) bv[v] = _mm256_loadu_ps(b + p * ldb + 8 * v);                        \
            for (int r = 0; r < R; r++) {                                                                     \
                V av = _mm256_broadcast_ss(a + r * lda + p);                                                  \
                for (int v = 0; v < NV; v++) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);               \
            }                                                                                                 \
        }                                                                                                     \
        for (int r = 0; r < R; r++)                                                                           \
            for (int v = 0; v < NV; v++) store8(c + r * ldc + 8 * v, acc[r][v]);                              \
    }
TILE(4, 2)
TILE(4, 1)
TILE(1, 2)
TILE(1, 1)

// One column of 8*G rows (G = 4 or 1): at is A transposed ([k][lda_t]), b one column (rows ldb apart).
#define COLUMN(G)                                                                                             \
    KGI void column##G(const float *at, long ldat, const float *b, long ldb, float *c, long ldc, long k) {   \
        V acc[G];                                                                                             \
        for (int g = 0; g < G; g++) acc[g] = _mm256_setzero_ps();                                             \
        for (long p = 0; p < k; p++) {                                                                        \
            V bv = _mm256_broadcast_ss(b + p * ldb);                                                          \
            for (int g = 0; g < G; g++) acc[g] = _mm256_fmadd_ps(_mm256_loadu_ps(at + p * ldat + 8 * g), bv, acc[g]); \
        }                                                                                                     \
        for (int g = 0; g < G; g++) {                                                                         \
            float o[8];                                                                                       \
            store8(o, acc[g]);                                                                                \
            for (int l = 0; l < 8; l++) c[(8 * g + l) * ldc] = o[l];                                          \
        }                                                                                                     \
    }
COLUMN(4)
COLUMN(1)

// Rows r0 ..< m of columns j0 ..< n in the 4-row (then 1-row) tiles, NV vectors wide.
#define ROWS(NV)                                                                                              \
    KGI void rows##NV(long m, long n, long k, const float *a, const float *b, float *c, long j) {            \
        long r = 0;                                                                                           \
        for (; r + 4 <= m; r += 4) tile4x##NV(a + r * k, k, b + j, n, c + r * n + j, n, k);                   \
        for (; r < m; r++) tile1x##NV(a + r * k, k, b + j, n, c + r * n + j, n, k);                           \
    }
ROWS(2)
ROWS(1)

KG void cwino2_gemm(long m, long n, long k, const float *a, const float *at, const float *b, float *c) {
    long j = 0;
    for (; j + 16 <= n; j += 16) rows2(m, n, k, a, b, c, j);
    if (j + 8 <= n) { rows1(m, n, k, a, b, c, j); j += 8; }
    for (; j < n; j++) {
        long r = 0;
        for (; r + 32 <= m; r += 32) column4(at + r, m, b + j, n, c + r * n + j, n, k);
        for (; r + 8 <= m; r += 8) column1(at + r, m, b + j, n, c + r * n + j, n, k);
        for (; r < m; r++) {
            float s = 0;
            for (long p = 0; p < k; p++) s = fmaf(a[r * k + p], b[p * n + j], s);
            c[r * n + j] = s + 0.0f;
        }
    }
}

// 8 x 8 block transpose in registers (unpack, shuffle, permute).
KGI void transpose8(const float *s, long ls, float *d, long ld) {
    V r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + ls), r2 = _mm256_loadu_ps(s + 2 * ls), r3 = _mm256_loadu_ps(s + 3 * ls);
    V r4 = _mm256_loadu_ps(s + 4 * ls), r5 = _mm256_loadu_ps(s + 5 * ls), r6 = _mm256_loadu_ps(s + 6 * ls), r7 = _mm256_loadu_ps(s + 7 * ls);
    V t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    V t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5), t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    V u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE), u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    V u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE), u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_storeu_ps(d, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(d + ld, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(d + 2 * ld, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(d + 3 * ld, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(d + 4 * ld, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(d + 5 * ld, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(d + 6 * ld, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(d + 7 * ld, _mm256_permute2f128_ps(u3, u7, 0x31));
}

KG void cwino2_transpose(long rows, long cols, const float *src, float *dst) {
    long r = 0;
    for (; r + 8 <= rows; r += 8) {
        long c = 0;
        for (; c + 8 <= cols; c += 8) transpose8(src + r * cols + c, cols, dst + c * rows + r, rows);
        for (; c < cols; c++)
            for (long i = r; i < r + 8; i++) dst[c * rows + i] = src[i * cols + c];
    }
    for (; r < rows; r++)
        for (long c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c];
}

#else
int cwino2_gemm_available(void) { return 0; }
void cwino2_transpose(long rows, long cols, const float *src, float *dst) {
    for (long r = 0; r < rows; r++)
        for (long c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c];
}
void cwino2_gemm(long m, long n, long k, const float *a, const float *at, const float *b, float *c) {
    (void)m; (void)n; (void)k; (void)a; (void)at; (void)b; (void)c;
}
#endif
