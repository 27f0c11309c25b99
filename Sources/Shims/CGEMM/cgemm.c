// fp32 GEMM on AVX-512F for the row-wise linear layers (see cgemm.h for the contract). OpenBLAS copies
// both operands into its own panels on every call; for the DiT's token GEMMs that copy of the activations
// was 11-12% of a training step. Here A's rows are read in place (a 12-row block's k-slice, k <= 768,
// stays in L1/L2 while it meets every panel of B), the weights are packed once per call into 32-column
// panels, and the weight gradient reads both operands in place in blocks of rows. Only the kernels carry
// the AVX-512 (or, below, AVX2 + FMA) target attribute; Swift calls them after cgemm_available() (cpuid) said yes.
#include "cgemm.h"
#include "ccpu.h"
#include <string.h>

enum { MR = 12, NR = 32, KC = 128 };

long cgemm_packed_floats(int n, int k) { return (long)((n + NR - 1) / NR) * NR * (long)k; }

static void pack_b_scalar(int transB, int n, int k, const float *b, int ldb, float *dst) {
    int panels = (n + NR - 1) / NR;
    for (int jp = 0; jp < panels; jp++) {
        float *pd = dst + (long)jp * k * NR;
        int j0 = jp * NR, w = n - j0 < NR ? n - j0 : NR;
        if (!transB) {
            for (int p = 0; p < k; p++) {
                memcpy(pd + (long)p * NR, b + (long)p * ldb + j0, (size_t)w * sizeof(float));
                if (w < NR) memset(pd + (long)p * NR + w, 0, (size_t)(NR - w) * sizeof(float));
            }
        } else {
            // Column c of the panel is row j0 + c of B: read each row contiguously.
            for (int c = 0; c < NR; c++) {
                if (c < w) { const float *row = b + (long)(j0 + c) * ldb; for (int p = 0; p < k; p++) pd[(long)p * NR + c] = row[p]; }
                else { for (int p = 0; p < k; p++) pd[(long)p * NR + c] = 0; }
            }
        }
    }
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

int cgemm_avx512(void) { return ccpu_has(CCPU_AVX512F); }
int cgemm_available(void) { return ccpu_has(CCPU_AVX512F) || ccpu_has(CCPU_AVX2 | CCPU_FMA); }

#define KERNEL __attribute__((target("avx512f")))
#define TILE static inline __attribute__((target("avx512f"), always_inline))

// Masks of the two 16-lane halves of a panel holding w <= 32 valid columns.
static inline __mmask16 half_mask(int w, int half) {
    int v = w - 16 * half;
    return (__mmask16)(v >= 16 ? 0xffffu : v <= 0 ? 0u : (1u << v) - 1u);
}

// One mr x 32 tile (nh = 2; nh = 1: the first 16 columns, for a panel's last <= 16 columns) of
// C = alpha A op(B) (+ bias) over the whole k: rows of A in place, a packed panel of B.
// B's rows are `bs` floats apart: NR in a packed panel, or B's own row stride when it is read in place
// (`masked`: a last panel of fewer than 32 columns, whose loads must not run past the row).
TILE void tile_packed(const int mr, const int nh, int k, float alpha, const float *a, long lda, const float *bp,
                      const float *bias, float *c, long ldc, __mmask16 m0, __mmask16 m1, long bs, const int masked) {
    __m512 x0[MR], x1[MR];
    for (int r = 0; r < mr; r++) { x0[r] = _mm512_setzero_ps(); x1[r] = _mm512_setzero_ps(); }
    for (int p = 0; p < k; p++) {
        const float *br = bp + (long)p * bs;
        __m512 b0 = masked ? _mm512_maskz_loadu_ps(m0, br) : _mm512_loadu_ps(br);
        __m512 b1 = nh > 1 ? (masked ? _mm512_maskz_loadu_ps(m1, br + 16) : _mm512_loadu_ps(br + 16)) : b0;
        for (int r = 0; r < mr; r++) {
            __m512 av = _mm512_set1_ps(a[r * lda + p]);
            x0[r] = _mm512_fmadd_ps(av, b0, x0[r]);
            if (nh > 1) x1[r] = _mm512_fmadd_ps(av, b1, x1[r]);
        }
    }
    if (alpha != 1) {
        __m512 s = _mm512_set1_ps(alpha);
        for (int r = 0; r < mr; r++) { x0[r] = _mm512_mul_ps(x0[r], s); x1[r] = _mm512_mul_ps(x1[r], s); }
    }
    if (bias) {
        __m512 c0 = _mm512_maskz_loadu_ps(m0, bias), c1 = _mm512_maskz_loadu_ps(m1, bias + 16);
        for (int r = 0; r < mr; r++) { x0[r] = _mm512_add_ps(x0[r], c0); x1[r] = _mm512_add_ps(x1[r], c1); }
    }
    for (int r = 0; r < mr; r++) {
        _mm512_mask_storeu_ps(c + r * ldc, m0, x0[r]);
        if (nh > 1) _mm512_mask_storeu_ps(c + r * ldc + 16, m1, x1[r]);
    }
}

// One mr x 32 tile of C (+)= Aᵀ B over rows p of [p0, p1): A's columns and B's rows in place.
TILE void tile_tn(const int mr, const int nh, int p0, int p1, const float *a, long lda, const float *b, long ldb,
                  float *c, long ldc, __mmask16 m0, __mmask16 m1, int accumulate) {
    __m512 x0[MR], x1[MR];
    for (int r = 0; r < mr; r++) {
        x0[r] = accumulate ? _mm512_maskz_loadu_ps(m0, c + r * ldc) : _mm512_setzero_ps();
        x1[r] = accumulate && nh > 1 ? _mm512_maskz_loadu_ps(m1, c + r * ldc + 16) : _mm512_setzero_ps();
    }
    for (int p = p0; p < p1; p++) {
        const float *br = b + (long)p * ldb, *ar = a + (long)p * lda;
        __m512 b0 = _mm512_maskz_loadu_ps(m0, br), b1 = nh > 1 ? _mm512_maskz_loadu_ps(m1, br + 16) : b0;
        for (int r = 0; r < mr; r++) {
            __m512 av = _mm512_set1_ps(ar[r]);
            x0[r] = _mm512_fmadd_ps(av, b0, x0[r]);
            if (nh > 1) x1[r] = _mm512_fmadd_ps(av, b1, x1[r]);
        }
    }
    for (int r = 0; r < mr; r++) {
        _mm512_mask_storeu_ps(c + r * ldc, m0, x0[r]);
        if (nh > 1) _mm512_mask_storeu_ps(c + r * ldc + 16, m1, x1[r]);
    }
}

// r[i] <- column i of the 16 x 16 block whose rows were r[0..15] (unpack 32-bit, 64-bit, then 128-bit lanes).
TILE void transpose16(__m512 r[16]) {
    __m512 t[16], u[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        __m512d a0 = _mm512_castps_pd(t[4 * i]), a1 = _mm512_castps_pd(t[4 * i + 1]);
        __m512d a2 = _mm512_castps_pd(t[4 * i + 2]), a3 = _mm512_castps_pd(t[4 * i + 3]);
        u[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a0, a2));
        u[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a0, a2));
        u[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(a1, a3));
        u[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(a1, a3));
    }
    // u[4i + c]: rows 4i..4i+3, within each 128-bit lane L the column 4L + c.
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(u[i], u[4 + i], 0x88);
        t[4 + i] = _mm512_shuffle_f32x4(u[i], u[4 + i], 0xdd);
        t[8 + i] = _mm512_shuffle_f32x4(u[8 + i], u[12 + i], 0x88);
        t[12 + i] = _mm512_shuffle_f32x4(u[8 + i], u[12 + i], 0xdd);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88);
        r[8 + i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0xdd);
        r[4 + i] = _mm512_shuffle_f32x4(t[4 + i], t[12 + i], 0x88);
        r[12 + i] = _mm512_shuffle_f32x4(t[4 + i], t[12 + i], 0xdd);
    }
}
// The transposed pack (W [n, k] -> panels [k][32]) by 16 x 16 blocks in registers: the scalar loop's
// scattered stores were 1.5% of a DiT step (attention packs kᵀ and vᵀ per sample and head).
KERNEL static void pack_b_transposed(int n, int k, const float *b, int ldb, float *dst) {
    int panels = (n + NR - 1) / NR;
    for (int jp = 0; jp < panels; jp++) {
        float *pd = dst + (long)jp * k * NR;
        for (int half = 0; half < 2; half++) {
            int c0 = jp * NR + half * 16, rows = n - c0 < 16 ? n - c0 : 16;
            for (int p0 = 0; p0 < k; p0 += 16) {
                int kv = k - p0 < 16 ? k - p0 : 16;
                __mmask16 km = (__mmask16)(kv >= 16 ? 0xffffu : (1u << kv) - 1u);
                __m512 r[16];
                for (int i = 0; i < 16; i++) r[i] = i < rows ? _mm512_maskz_loadu_ps(km, b + (long)(c0 + i) * ldb + p0) : _mm512_setzero_ps();
                transpose16(r);
                for (int q = 0; q < kv; q++) _mm512_storeu_ps(pd + (long)(p0 + q) * NR + half * 16, r[q]);
            }
        }
    }
}

void cgemm_pack_b(int transB, int n, int k, const float *b, int ldb, float *dst) {
    if (transB && cgemm_avx512()) pack_b_transposed(n, k, b, ldb, dst);
    else pack_b_scalar(transB, n, k, b, ldb, dst);
}

// The tile with a compile-time row count (each case unrolls into registers).
#define ROWS_SWITCH(mr, NH, CALL) switch (mr) { \
    case 12: CALL(12, NH); break; case 11: CALL(11, NH); break; case 10: CALL(10, NH); break; \
    case 9: CALL(9, NH); break; case 8: CALL(8, NH); break; case 7: CALL(7, NH); break; \
    case 6: CALL(6, NH); break; case 5: CALL(5, NH); break; case 4: CALL(4, NH); break; \
    case 3: CALL(3, NH); break; case 2: CALL(2, NH); break; default: CALL(1, NH); break; }
// ... and a compile-time column-half count (a last panel of <= 16 columns does half the multiplies).
#define TILE_SWITCH(mr, w, CALL) if ((w) > 16) { ROWS_SWITCH(mr, 2, CALL) } else { ROWS_SWITCH(mr, 1, CALL) }

KERNEL static void packed_avx512(int m, int n, int k, float alpha, const float *a, int lda, const float *packed,
                         const float *bias, float *c, int ldc) {
    int panels = (n + NR - 1) / NR;
    for (int i0 = 0; i0 < m; i0 += MR) {
        int mr = m - i0 < MR ? m - i0 : MR;
        const float *ai = a + (long)i0 * lda;
        // The next row block's lines, a share before each panel: its rows come from memory, and 12 short
        // row streams at once are more than the hardware prefetcher follows in time (+4-6% at k = 192).
        // Not past k = 256: the block would no longer fit in L1 beside the current one (-7% at k = 768).
        const float *an = ai + (long)MR * lda;
        int nextRows = m - i0 - MR < MR ? m - i0 - MR : MR, lines = (k + 15) / 16;
        int total = nextRows > 0 && k <= 256 ? nextRows * lines : 0, share = (total + panels - 1) / panels;
        for (int jp = 0; jp < panels; jp++) {
            int j0 = jp * NR, w = n - j0 < NR ? n - j0 : NR;
            for (int q = jp * share; q < total && q < (jp + 1) * share; q++)
                _mm_prefetch((const char *)(an + (long)(q / lines) * lda + (q % lines) * 16), _MM_HINT_T0);
            __mmask16 m0 = half_mask(w, 0), m1 = half_mask(w, 1);
            const float *bp = packed + (long)jp * k * NR, *bj = bias ? bias + j0 : NULL;
            float *cj = c + (long)i0 * ldc + j0;
#define PACKED(R, NH) tile_packed(R, NH, k, alpha, ai, lda, bp, bj, cj, ldc, m0, m1, NR, 0)
            TILE_SWITCH(mr, w, PACKED)
#undef PACKED
        }
    }
}

KERNEL static void nn_avx512(int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb, float *c, int ldc) {
    int panels = (n + NR - 1) / NR;
    for (int i0 = 0; i0 < m; i0 += MR) {
        int mr = m - i0 < MR ? m - i0 : MR;
        const float *ai = a + (long)i0 * lda;
        for (int jp = 0; jp < panels; jp++) {
            int j0 = jp * NR, w = n - j0 < NR ? n - j0 : NR;
            __mmask16 m0 = half_mask(w, 0), m1 = half_mask(w, 1);
            const float *bp = b + j0;
            float *cj = c + (long)i0 * ldc + j0;
            if (w < NR) {
#define INPLACE(R, NH) tile_packed(R, NH, k, alpha, ai, lda, bp, NULL, cj, ldc, m0, m1, ldb, 1)
                TILE_SWITCH(mr, w, INPLACE)
#undef INPLACE
            } else {
#define INPLACE(R, NH) tile_packed(R, NH, k, alpha, ai, lda, bp, NULL, cj, ldc, m0, m1, ldb, 0)
                ROWS_SWITCH(mr, 2, INPLACE)
#undef INPLACE
            }
        }
    }
}

KERNEL static void tn_avx512(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc,
                     int accumulate) {
    // Blocks of KC rows: both operands' block stays in L2 while every tile of C passes over it; each
    // tile's chain continues from C between blocks (an exact fp32 store and load), so the order is p = 0..k-1.
    for (int p0 = 0; p0 < k; p0 += KC) {
        int p1 = k - p0 < KC ? k : p0 + KC, acc = accumulate || p0 > 0;
        for (int i0 = 0; i0 < m; i0 += MR) {
            int mr = m - i0 < MR ? m - i0 : MR;
            for (int j0 = 0; j0 < n; j0 += NR) {
                int w = n - j0 < NR ? n - j0 : NR;
                __mmask16 m0 = half_mask(w, 0), m1 = half_mask(w, 1);
#define TN(R, NH) tile_tn(R, NH, p0, p1, a + i0, lda, b + j0, ldb, c + (long)i0 * ldc + j0, ldc, m0, m1, acc)
                TILE_SWITCH(mr, w, TN)
#undef TN
            }
        }
    }
}

#pragma STDC FP_CONTRACT OFF
// The same products on AVX2 + FMA (CPUs without AVX-512F): a 6 x 16 tile of fp32 accumulators, two 8-lane
// vectors a row. Every C[i][j] is the same chain as above (fused multiply-adds over p in order from 0 or from C,
// then alpha, then bias), so the bits equal the AVX-512 kernels' on any CPU. The 12 accumulators are named
// variables so that they stay in registers; with B's 16 columns (2) and one broadcast of A, 15 of the 16 ymm
// registers. Six rows share each load of B: a 3 x 32 tile moved twice B's bytes per multiply-add from L2.
#define FMA_KERNEL static __attribute__((target("avx2,fma")))
#define FMA_TILE static inline __attribute__((target("avx2,fma"), always_inline))
enum { FR = 6, FW = 16 };

// B's row p as 16 floats: in place, or (`w` < 16 columns read in place) a zero-padded copy.
FMA_TILE const float *fma_brow(const float *br, int w, float *tmp) {
    for (int j = 0; j < FW; j++) tmp[j] = j < w ? br[j] : 0.0f;
    return tmp;
}

#define FMA2(r) x##r##0 = _mm256_fmadd_ps(av, b0, x##r##0); x##r##1 = _mm256_fmadd_ps(av, b1, x##r##1)
#define FMA_STEP(br, ap) do { \
        __m256 b0 = _mm256_loadu_ps(br), b1 = _mm256_loadu_ps((br) + 8), av = _mm256_broadcast_ss(ap); FMA2(0); \
        if (mr > 1) { av = _mm256_broadcast_ss((ap) + ars); FMA2(1); } \
        if (mr > 2) { av = _mm256_broadcast_ss((ap) + 2 * ars); FMA2(2); } \
        if (mr > 3) { av = _mm256_broadcast_ss((ap) + 3 * ars); FMA2(3); } \
        if (mr > 4) { av = _mm256_broadcast_ss((ap) + 4 * ars); FMA2(4); } \
        if (mr > 5) { av = _mm256_broadcast_ss((ap) + 5 * ars); FMA2(5); } \
    } while (0)
// One mr x 16 tile (mr <= 6, a compile-time constant in each copy): C[r][j] = alpha * (start + sum over p of
// A(r, p) B[p][j]) + bias[j] for j < w, A(r, p) = a[r * ars + p * aps] (ars = lda, aps = 1 for A as stored;
// ars = 1, aps = lda for A transposed), B's row p at b + p * bs, start = C's value (accumulate) or 0.
FMA_TILE void fma_tile_r(const int mr, int k, float alpha, const float *a, long ars, long aps, const float *b, long bs,
                         int w, int inplace, int accumulate, const float *bias, float *c, long ldc) {
    // The start: C's rows (accumulate) or zeros; a tile of fewer than 16 columns goes through a zero-padded copy.
    float buf[FR][FW] __attribute__((aligned(32)));
    int full = w == FW;
    if (accumulate && !full)
        for (int r = 0; r < mr; r++) for (int j = 0; j < FW; j++) buf[r][j] = j < w ? c[r * ldc + j] : 0.0f;
#define START(r, q) (r < mr && accumulate ? (full ? _mm256_loadu_ps(c + r * ldc + 8 * q) : _mm256_load_ps(buf[r] + 8 * q)) : _mm256_setzero_ps())
    __m256 x00 = START(0, 0), x01 = START(0, 1), x10 = START(1, 0), x11 = START(1, 1), x20 = START(2, 0), x21 = START(2, 1);
    __m256 x30 = START(3, 0), x31 = START(3, 1), x40 = START(4, 0), x41 = START(4, 1), x50 = START(5, 0), x51 = START(5, 1);
#undef START
    if (inplace && w < FW) {
        float tmp[FW] __attribute__((aligned(32)));
        for (int p = 0; p < k; p++) { const float *br = fma_brow(b + (long)p * bs, w, tmp); FMA_STEP(br, a + (long)p * aps); }
    } else {
        for (int p = 0; p < k; p++) FMA_STEP(b + (long)p * bs, a + (long)p * aps);
    }
    // The end: times alpha, plus the bias, into C's rows (a narrow tile's first w columns only).
    __m256 xs[FR][2] = {{x00, x01}, {x10, x11}, {x20, x21}, {x30, x31}, {x40, x41}, {x50, x51}};
    for (int r = 0; r < mr; r++) {
        for (int q = 0; q < 2; q++) {
            __m256 v = xs[r][q];
            if (alpha != 1) v = _mm256_mul_ps(v, _mm256_set1_ps(alpha));
            if (full && !bias) _mm256_storeu_ps(c + r * ldc + 8 * q, v);
            else if (full) _mm256_storeu_ps(c + r * ldc + 8 * q, _mm256_add_ps(v, _mm256_loadu_ps(bias + 8 * q)));
            else _mm256_store_ps(buf[r] + 8 * q, v);
        }
        if (!full) for (int j = 0; j < w; j++) { float v = buf[r][j]; if (bias) v = v + bias[j]; c[r * ldc + j] = v; }
    }
}
#undef FMA_STEP
#undef FMA2

FMA_KERNEL void fma_tile(int mr, int k, float alpha, const float *a, long ars, long aps, const float *b, long bs, int w,
                         int inplace, int accumulate, const float *bias, float *c, long ldc) {
#define T(R) case R: fma_tile_r(R, k, alpha, a, ars, aps, b, bs, w, inplace, accumulate, bias, c, ldc); break;
    switch (mr) { T(6) T(5) T(4) T(3) T(2) default: fma_tile_r(1, k, alpha, a, ars, aps, b, bs, w, inplace, accumulate, bias, c, ldc); }
#undef T
}

FMA_KERNEL void packed_fma(int m, int n, int k, float alpha, const float *a, int lda, const float *packed,
                           const float *bias, float *c, int ldc) {
    // Panels in groups of at most 256 KB, each passed over by every row tile, so that the group stays in L2
    // (a whole 768 x 192 weight is 576 KB, more than a 512 KB L2 holds beside the rows).
    int panels = (n + NR - 1) / NR, group = (int)((256L << 10) / ((long)k * NR * sizeof(float)));
    if (group < 1) group = 1;
    for (int g0 = 0; g0 < panels; g0 += group) {
        int j1 = (g0 + group) * NR < n ? (g0 + group) * NR : n;
        for (int i0 = 0; i0 < m; i0 += FR)
            for (int j0 = g0 * NR; j0 < j1; j0 += FW) {
                // The 16 columns at j0 within their 32-column panel (zero-padded, so a last half reads no further).
                int mr = m - i0 < FR ? m - i0 : FR, w = n - j0 < FW ? n - j0 : FW;
                const float *bp = packed + (long)(j0 / NR) * k * NR + j0 % NR;
                fma_tile(mr, k, alpha, a + (long)i0 * lda, lda, 1, bp, NR, w, 0, 0, bias ? bias + j0 : NULL,
                         c + (long)i0 * ldc + j0, ldc);
            }
    }
}

FMA_KERNEL void nn_fma(int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb, float *c, int ldc) {
    for (int i0 = 0; i0 < m; i0 += FR)
        for (int j0 = 0; j0 < n; j0 += FW) {
            int mr = m - i0 < FR ? m - i0 : FR, w = n - j0 < FW ? n - j0 : FW;
            fma_tile(mr, k, alpha, a + (long)i0 * lda, lda, 1, b + j0, ldb, w, 1, 0, NULL, c + (long)i0 * ldc + j0, ldc);
        }
}

FMA_KERNEL void tn_fma(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc,
                       int accumulate) {
    // Blocks of KC rows, as tn_avx512. A's block is copied, 96 columns at a time, into 6-column panels (p-major),
    // so that a tile reads its 6 values of row p contiguously (in place they were 6 of a 64-byte line lda apart),
    // while a 16-column strip of B's block stays in L1 for every row tile. Each chain continues from C between
    // blocks (an exact store and load).
    enum { GROUP = 16 * FR };
    float ap[GROUP * KC] __attribute__((aligned(32)));
    for (int p0 = 0; p0 < k; p0 += KC) {
        int kc = k - p0 < KC ? k - p0 : KC, acc = accumulate || p0 > 0;
        for (int g0 = 0; g0 < m; g0 += GROUP) {
            int gm = m - g0 < GROUP ? m - g0 : GROUP;
            for (int i0 = 0; i0 < gm; i0 += FR) {
                int mr = gm - i0 < FR ? gm - i0 : FR;
                float *d = ap + (long)i0 * kc;
                for (int p = 0; p < kc; p++)
                    for (int r = 0; r < FR; r++) d[p * FR + r] = r < mr ? a[(long)(p0 + p) * lda + g0 + i0 + r] : 0.0f;
            }
            for (int j0 = 0; j0 < n; j0 += FW) {
                int w = n - j0 < FW ? n - j0 : FW;
                for (int i0 = 0; i0 < gm; i0 += FR) {
                    int mr = gm - i0 < FR ? gm - i0 : FR;
                    fma_tile(mr, kc, 1, ap + (long)i0 * kc, 1, FR, b + (long)p0 * ldb + j0, ldb, w, 1, acc, NULL,
                             c + (long)(g0 + i0) * ldc + j0, ldc);
                }
            }
        }
    }
}

void cgemm_packed(int m, int n, int k, float alpha, const float *a, int lda, const float *packed,
                  const float *bias, float *c, int ldc) {
    if (cgemm_avx512()) packed_avx512(m, n, k, alpha, a, lda, packed, bias, c, ldc);
    else packed_fma(m, n, k, alpha, a, lda, packed, bias, c, ldc);
}

void cgemm_nn(int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb, float *c, int ldc) {
    if (cgemm_avx512()) nn_avx512(m, n, k, alpha, a, lda, b, ldb, c, ldc);
    else nn_fma(m, n, k, alpha, a, lda, b, ldb, c, ldc);
}

void cgemm_tn(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc,
              int accumulate) {
    if (cgemm_avx512()) tn_avx512(m, n, k, a, lda, b, ldb, c, ldc, accumulate);
    else tn_fma(m, n, k, a, lda, b, ldb, c, ldc, accumulate);
}

#else
int cgemm_avx512(void) { return 0; }
int cgemm_available(void) { return 0; }
void cgemm_pack_b(int transB, int n, int k, const float *b, int ldb, float *dst) { pack_b_scalar(transB, n, k, b, ldb, dst); }
void cgemm_packed(int m, int n, int k, float alpha, const float *a, int lda, const float *packed,
                  const float *bias, float *c, int ldc) { (void)alpha; (void)m; (void)n; (void)k; (void)a; (void)lda; (void)packed; (void)bias; (void)c; (void)ldc; }
void cgemm_nn(int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb, float *c, int ldc) {
    (void)m; (void)n; (void)k; (void)alpha; (void)a; (void)lda; (void)b; (void)ldb; (void)c; (void)ldc; }
void cgemm_tn(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc,
              int accumulate) { (void)m; (void)n; (void)k; (void)a; (void)lda; (void)b; (void)ldb; (void)c; (void)ldc; (void)accumulate; }
#endif
