// bfloat16 GEMM on AVX512_BF16 (vdpbf16ps: 32 bf16 multiply-adds into 16 fp32 lanes per instruction,
// twice the fp32 FMA rate). Debian 12's OpenBLAS 0.3.21 exports no sbgemm, so this is the package's own:
// GotoBLAS blocking (B panels of 32 columns, A blocks of 8 rows, k in fixed blocks of 256), operands
// rounded to bf16 while packing, an 8x32 register tile of fp32 accumulators. Only the kernel functions
// carry the AVX-512 target attribute; Swift calls them after cbf16_available() (cpuid) said yes.
#include "cbf16.h"
#include "ccpu.h"
#include <stdlib.h>
#include <string.h>

// Round to nearest even, NaN kept quiet. Integer arithmetic rather than vcvtneps2bf16, so the scalar
// and vector packers agree bit for bit (that instruction flushes denormals).
static inline uint32_t bf16_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (u >> 16) | 0x40u;
    return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
}

void cbf16_round(float *x, long count) {
    for (long i = 0; i < count; i++) {
        uint32_t u = bf16_bits(x[i]) << 16;
        memcpy(&x[i], &u, 4);
    }
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

int cbf16_available(void) { return ccpu_has(CCPU_AVX512F | CCPU_AVX512BW | CCPU_AVX512_BF16); }

#define KERNEL __attribute__((target("avx512f,avx512bw,avx512bf16")))
enum { MR = 8, NR = 32, KC = 256, MC = 128, NC = 512 };

// 16 lanes of floats -> bf16 bits in the low half of each 32-bit lane (same rounding as bf16_bits).
KERNEL static inline __m512i bf16_lanes(__m512 x) {
    __m512i u = _mm512_castps_si512(x);
    __m512i hi = _mm512_srli_epi32(u, 16);
    __m512i r = _mm512_srli_epi32(
        _mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), _mm512_and_si512(hi, _mm512_set1_epi32(1))), 16);
    __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    return _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(hi, _mm512_set1_epi32(0x40)));
}

// Pairs across two rows: dst[j] = (bf16(r1[j]) << 16) | bf16(r0[j]) for j < w (w <= 16), zeros
// beyond; r1 == NULL is a zero row (odd k).
KERNEL static inline void pack_two_rows(const float *r0, const float *r1, int w, uint32_t *dst) {
    __mmask16 m = (__mmask16)((1u << w) - 1u);
    __m512i lo = bf16_lanes(_mm512_maskz_loadu_ps(m, r0));
    __m512i hi = r1 ? bf16_lanes(_mm512_maskz_loadu_ps(m, r1)) : _mm512_setzero_si512();
    _mm512_storeu_si512(dst, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
}

// Pairs along a contiguous run of `kv` floats (kv <= 32; zeros beyond): pair q = (x[2q+1], x[2q])
// written to dst[q * stride] for q < 16.
KERNEL static inline void pack_along_k(const float *x, int kv, uint32_t *dst, int stride) {
    __mmask16 m0 = (__mmask16)(kv >= 16 ? 0xffffu : (1u << kv) - 1u);
    __mmask16 m1 = (__mmask16)(kv <= 16 ? 0u : kv >= 32 ? 0xffffu : (1u << (kv - 16)) - 1u);
    __m256i p0 = _mm512_cvtepi32_epi16(bf16_lanes(_mm512_maskz_loadu_ps(m0, x)));
    __m256i p1 = _mm512_cvtepi32_epi16(bf16_lanes(_mm512_maskz_loadu_ps(m1, x + 16)));
    uint32_t t[16];
    _mm256_storeu_si256((__m256i *)t, p0);
    _mm256_storeu_si256((__m256i *)(t + 8), p1);
    for (int q = 0; q < 16; q++) dst[q * stride] = t[q];
}

// op(B)[k0 ..< k0+kc][j0 ..< j0+nc] into panels of NR columns: panel jp, pair p, column c at
// dst[(jp * kp + p) * NR + c].
KERNEL static void pack_b(int transB, const float *b, int ldb, int k, int k0, int kc, int j0, int nc, uint32_t *dst) {
    int kp = (kc + 1) / 2, panels = (nc + NR - 1) / NR;
    for (int jp = 0; jp < panels; jp++) {
        int jb = j0 + jp * NR, w = nc - jp * NR < NR ? nc - jp * NR : NR;
        uint32_t *pd = dst + (size_t)jp * kp * NR;
        if (!transB) {
            for (int p = 0; p < kp; p++) {
                int kk = k0 + 2 * p;
                const float *r0 = b + (size_t)kk * ldb + jb;
                const float *r1 = kk + 1 < k ? r0 + ldb : NULL;
                pack_two_rows(r0, r1, w < 16 ? w : 16, pd + p * NR);
                if (w > 16) pack_two_rows(r0 + 16, r1 ? r1 + 16 : NULL, w - 16, pd + p * NR + 16);
                else memset(pd + p * NR + 16, 0, 16 * sizeof(uint32_t));
            }
        } else {
            memset(pd, 0, (size_t)kp * NR * sizeof(uint32_t));
            for (int c = 0; c < w; c++) {
                const float *col = b + (size_t)(jb + c) * ldb + k0;
                for (int p = 0; p < kp; p += 16) {
                    int kv = kc - 2 * p < 32 ? kc - 2 * p : 32;
                    if (kp - p >= 16) {
                        pack_along_k(col + 2 * p, kv, pd + p * NR + c, NR);
                    } else {   // the last partial group: only kp - p pairs exist in the block
                        uint32_t t[16];
                        pack_along_k(col + 2 * p, kv, t, 1);
                        for (int q = 0; q < kp - p; q++) pd[(p + q) * NR + c] = t[q];
                    }
                }
            }
        }
    }
}

// op(A)[i0 ..< i0+mc][k0 ..< k0+kc] into blocks of MR rows: block ib, pair p, row r at
// dst[(ib * kp + p) * MR + r]; rows past mc are zero.
KERNEL static void pack_a(int transA, const float *a, int lda, int k, int k0, int kc, int i0, int mc, uint32_t *dst) {
    int kp = (kc + 1) / 2, blocks = (mc + MR - 1) / MR;
    for (int ib = 0; ib < blocks; ib++) {
        int rows = mc - ib * MR < MR ? mc - ib * MR : MR;
        uint32_t *pd = dst + (size_t)ib * kp * MR;
        if (!transA) {
            if (rows < MR) memset(pd, 0, (size_t)kp * MR * sizeof(uint32_t));
            for (int r = 0; r < rows; r++) {
                const float *row = a + (size_t)(i0 + ib * MR + r) * lda + k0;
                for (int p = 0; p < kp; p += 16) {
                    int kv = kc - 2 * p < 32 ? kc - 2 * p : 32;
                    if (kp - p >= 16) {
                        pack_along_k(row + 2 * p, kv, pd + p * MR + r, MR);
                    } else {   // the last partial group: only kp - p pairs exist in the block
                        uint32_t t[16];
                        pack_along_k(row + 2 * p, kv, t, 1);
                        for (int q = 0; q < kp - p; q++) pd[(p + q) * MR + r] = t[q];
                    }
                }
            }
        } else {
            for (int p = 0; p < kp; p++) {
                int kk = k0 + 2 * p;
                const float *r0 = a + (size_t)kk * lda + i0 + ib * MR;
                const float *r1 = kk + 1 < k ? r0 + lda : NULL;
                uint32_t t[16];
                pack_two_rows(r0, r1, rows, t);
                memcpy(pd + p * MR, t, MR * sizeof(uint32_t));
            }
        }
    }
}

// acc[r][h] (rows r < MR, halves h of NR) += A block (kp pairs x MR) . B panel (kp pairs x NR), then
// written to C: first k block c = alpha*acc + beta*c (c unread when beta == 0), later c += alpha*acc.
KERNEL static void tile(int kp, const uint32_t *ap, const uint32_t *bp, float *c, int ldc, int rows, int cols,
                        float alpha, float beta, int first) {
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    __m512 c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    for (int p = 0; p < kp; p++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(bp), b1 = (__m512bh)_mm512_loadu_si512(bp + 16);
#define ROW(r, x0, x1) { __m512bh av = (__m512bh)_mm512_set1_epi32((int)ap[r]); \
        x0 = _mm512_dpbf16_ps(x0, av, b0); x1 = _mm512_dpbf16_ps(x1, av, b1); }
        ROW(0, c00, c01) ROW(1, c10, c11) ROW(2, c20, c21) ROW(3, c30, c31)
        ROW(4, c40, c41) ROW(5, c50, c51) ROW(6, c60, c61) ROW(7, c70, c71)
#undef ROW
        ap += MR;
        bp += NR;
    }
    __m512 acc[16] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71};
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    __mmask16 m0 = (__mmask16)(cols >= 16 ? 0xffffu : (1u << cols) - 1u);
    __mmask16 m1 = (__mmask16)(cols <= 16 ? 0u : cols >= 32 ? 0xffffu : (1u << (cols - 16)) - 1u);
    for (int r = 0; r < rows; r++) {
        float *cr = c + (size_t)r * ldc;
        for (int h = 0; h < 2; h++) {
            __mmask16 m = h ? m1 : m0;
            if (!m) continue;
            __m512 v = acc[2 * r + h], out;
            if (first && beta == 0.0f) out = _mm512_mul_ps(va, v);
            else if (first) out = _mm512_fmadd_ps(va, v, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m, cr + 16 * h)));
            else out = _mm512_fmadd_ps(va, v, _mm512_maskz_loadu_ps(m, cr + 16 * h));
            _mm512_mask_storeu_ps(cr + 16 * h, m, out);
        }
    }
}

// Per-thread packing buffers, grown once (the GEMMs run inside the numeric core's worker threads).
static __thread uint32_t *bufA, *bufB;

KERNEL void cbf16_gemm(int transA, int transB, int m, int n, int k, float alpha,
                       const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) c[(size_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[(size_t)i * ldc + j];
        return;
    }
    if (!bufA) {
        bufA = aligned_alloc(64, (size_t)MC * KC / 2 * sizeof(uint32_t));
        bufB = aligned_alloc(64, (size_t)NC * KC / 2 * sizeof(uint32_t));
        if (!bufA || !bufB) abort();
    }
    for (int jc = 0; jc < n; jc += NC) {
        int nc = n - jc < NC ? n - jc : NC;
        for (int pc = 0; pc < k; pc += KC) {
            int kc = k - pc < KC ? k - pc : KC, kp = (kc + 1) / 2;
            pack_b(transB, b, ldb, k, pc, kc, jc, nc, bufB);
            for (int ic = 0; ic < m; ic += MC) {
                int mc = m - ic < MC ? m - ic : MC;
                pack_a(transA, a, lda, k, pc, kc, ic, mc, bufA);
                for (int jp = 0; jp * NR < nc; jp++) {
                    int cols = nc - jp * NR < NR ? nc - jp * NR : NR;
                    for (int ib = 0; ib * MR < mc; ib++) {
                        int rows = mc - ib * MR < MR ? mc - ib * MR : MR;
                        tile(kp, bufA + (size_t)ib * kp * MR, bufB + (size_t)jp * kp * NR,
                             c + (size_t)(ic + ib * MR) * ldc + jc + jp * NR, ldc, rows, cols, alpha, beta, pc == 0);
                    }
                }
            }
        }
    }
}

#else
int cbf16_available(void) { return 0; }
void cbf16_gemm(int transA, int transB, int m, int n, int k, float alpha,
                const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    (void)transA; (void)transB; (void)m; (void)n; (void)k; (void)alpha;
    (void)a; (void)lda; (void)b; (void)ldb; (void)beta; (void)c; (void)ldc;
    abort();
}
#endif
