// Winograd F(2x2,3x3) / F(4x4,3x3) data transforms in AVX-512 (issue 23, session 14). The Swift transforms
// (TensorCore/Kernels/Conv2dWinograd.swift) vectorize over the tiles of one tile row, but the UNet's planes
// have 7 tiles per row (28x28 with m = 4, 14x14 with m = 2), so most of their work ran in SIMD4 + scalar
// tails, and the forward paid two extra passes (a copy into zero-padded planes, and an output grid copied
// again while the bias is added). Here one 16-lane register holds the tiles of a chunk of a tile row: the
// rows of the chunk are loaded masked (zeros in the padding, so no padded copy), the column pass runs on
// whole 32-float rows, and vpermt2ps picks each tile's column out of a row for the row pass. The output
// transform interleaves the tiles' columns back with vpermt2ps and applies the epilogue in the same pass.
// Every value is computed by the same operations in the same order as the Swift code: the results are
// bit-identical (tested), and this file is compiled with -ffp-contract=off so no multiply-add is fused.
#include "cconv.h"
#include "ccpu.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

int cconv_available(void) { return ccpu_has(CCPU_AVX512F | CCPU_BMI2); }

#define K __attribute__((target("avx512f")))
// The tile loops are written once for both m and inlined with m a constant, so that every loop over the
// alpha rows unrolls and the rows stay in registers (with m a run-time value they went through the stack).
#define KI __attribute__((target("avx512f"), always_inline)) static inline
typedef __m512 V;

// Lanes j of 0..15 with lo <= j < hi.
static inline __mmask16 range_mask(int lo, int hi) {
    if (lo < 0) lo = 0;
    if (hi > 16) hi = 16;
    if (hi <= lo) return 0;
    return (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}

KI V add(V a, V b) { return _mm512_add_ps(a, b); }
KI V sub(V a, V b) { return _mm512_sub_ps(a, b); }
KI V mul(float s, V a) { return _mm512_mul_ps(_mm512_set1_ps(s), a); }
KI V neg(V a) { return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(a), _mm512_set1_epi32((int)0x80000000u))); }

#include "winograd_transforms.h"

// Lane l holds element (step * l + c) of the 32 floats lo:hi.
KI V pick(V lo, V hi, int step, int c) {
    int ix[16];
    for (int l = 0; l < 16; l++) ix[l] = (step * l + c) & 31;
    return _mm512_permutex2var_ps(lo, _mm512_loadu_si512(ix), hi);
}

// 32 floats of image row y from column c0 (zero outside the image) into r[0], r[1].
KI void load_row(const float *plane, int h, int w, int y, int c0, V r[2]) {
    if (y < 0 || y >= h) { r[0] = r[1] = _mm512_setzero_ps(); return; }
    const float *p = plane + (long)y * w + c0;   // masked lanes are not read
    r[0] = _mm512_maskz_loadu_ps(range_mask(-c0, w - c0), p);
    r[1] = _mm512_maskz_loadu_ps(range_mask(-c0 - 16, w - c0 - 16), p + 16);
}

// MARK: input (Bᵀ d B)

// Tile rows of at most 8 tiles (the UNet's 28x28, 14x14 and 7x7 planes: 7, 7 and 4 tiles) go G = 16 / tw at a
// time (at most 4) through the row pass, each in its own lanes: gather[g][c] picks tile column c of tile row g
// into lanes g * tw ..< (g + 1) * tw, so the row pass and its stores run once for G tile rows.
typedef struct { __m512i idx[4][6]; __mmask16 lanes[4]; int groups; } Gather;

KI Gather gather_plan(int tw, int m, int a) {
    Gather q;
    q.groups = 16 / tw < 4 ? 16 / tw : 4;
    for (int g = 0; g < q.groups; g++) {
        q.lanes[g] = range_mask(g * tw, (g + 1) * tw);
        for (int c = 0; c < a; c++) {
            int ix[16];
            for (int l = 0; l < 16; l++) ix[l] = (m * (l - g * tw) + c) & 31;
            q.idx[g][c] = _mm512_loadu_si512(ix);
        }
    }
    return q;
}

// Tile column c of each of the first n tile rows' 32-float rows b[g][0], b[g][1], in their lanes.
KI V gather(const Gather *q, V b[][2], int n, int c) {
    V d = _mm512_permutex2var_ps(b[0][0], q->idx[0][c], b[0][1]);
    for (int g = 1; g < n; g++)
        d = _mm512_mask_blend_ps(q->lanes[g], d, _mm512_permutex2var_ps(b[g][0], q->idx[g][c], b[g][1]));
    return d;
}

KI void input_grouped(const float *x, int channels, int h, int w, int m, float *v, long xs, long ld, long col0) {
    const int a = m + 2, th = (h + m - 1) / m, tw = (w + m - 1) / m;
    const Gather q = gather_plan(tw, m, a);
    for (int ch = 0; ch < channels; ch++) {
        const float *plane = x + (long)ch * h * w;
        for (int ty0 = 0; ty0 < th; ty0 += q.groups) {
            int n = th - ty0 < q.groups ? th - ty0 : q.groups;
            V b[6][4][2], d[6], o[6];   // b[i][g]: column-pass row i of tile row ty0 + g
            for (int g = 0; g < n; g++) {
                V r[6][2];
                for (int k = 0; k < a; k++) load_row(plane, h, w, (ty0 + g) * m + k - 1, -1, r[k]);
                for (int half = 0; half < 2; half++) {
                    V col[6], out[6];
                    for (int k = 0; k < a; k++) col[k] = r[k][half];
                    if (m == 4) bt6(col, out); else bt4(col, out);
                    for (int i = 0; i < a; i++) b[i][g][half] = out[i];
                }
            }
            __mmask16 keep = range_mask(0, n * tw);
            float *dst = v + (long)ch * ld + col0 + (long)ty0 * tw;
            for (int i = 0; i < a; i++) {
                for (int c = 0; c < a; c++) d[c] = gather(&q, b[i], n, c);
                if (m == 4) bt6(d, o); else bt4(d, o);
                for (int j = 0; j < a; j++) _mm512_mask_storeu_ps(dst + (long)(i * a + j) * xs, keep, o[j]);
            }
        }
    }
}

// Chunks of 7 (m = 4) or 15 (m = 2) tiles: their alpha columns span at most 30 / 32 padded columns.
KI void input_tiles(const float *x, int channels, int h, int w, int m, float *v, long xs, long ld, long col0) {
    const int a = m + 2, th = (h + m - 1) / m, tw = (w + m - 1) / m, chunk = m == 4 ? 7 : 15;
    if (tw <= 8 && tw <= chunk) { input_grouped(x, channels, h, w, m, v, xs, ld, col0); return; }
    for (int ch = 0; ch < channels; ch++) {
        const float *plane = x + (long)ch * h * w;
        for (int ty = 0; ty < th; ty++) {
            for (int tx0 = 0; tx0 < tw; tx0 += chunk) {
                int nt = tw - tx0 < chunk ? tw - tx0 : chunk;
                __mmask16 keep = range_mask(0, nt);
                int c0 = m * tx0 - 1;   // image column of the chunk's first padded column
                V r[6][2], b[6][2], d[6], o[6];
                for (int k = 0; k < a; k++) load_row(plane, h, w, ty * m + k - 1, c0, r[k]);
                for (int half = 0; half < 2; half++) {   // column pass over whole rows
                    V col[6], out[6];
                    for (int k = 0; k < a; k++) col[k] = r[k][half];
                    if (m == 4) bt6(col, out); else bt4(col, out);
                    for (int i = 0; i < a; i++) b[i][half] = out[i];
                }
                float *dst = v + (long)ch * ld + col0 + (long)ty * tw + tx0;
                for (int i = 0; i < a; i++) {            // row pass, tiles in the lanes
                    for (int c = 0; c < a; c++) d[c] = pick(b[i][0], b[i][1], m, c);
                    if (m == 4) bt6(d, o); else bt4(d, o);
                    for (int j = 0; j < a; j++) _mm512_mask_storeu_ps(dst + (long)(i * a + j) * xs, keep, o[j]);
                }
            }
        }
    }
}

// MARK: output (Aᵀ M A) and the epilogue

// The conv epilogue of Conv2dWinograd.swift, same rounding.
KI V epilogue(V s, const float *bias, V b, const float *sampleBias, V e, const float *res, __mmask16 mk) {
    if (!bias) return s;
    if (sampleBias) {
        V d = add(add(s, b), e);
        return res ? add(_mm512_maskz_loadu_ps(mk, res), d) : d;
    }
    if (res) return add(_mm512_maskz_loadu_ps(mk, res), add(s, b));
    return add(s, b);
}

// Index vectors that interleave the tiles' output columns (lanes = tiles) into image columns.
typedef struct { __m512i pair, lo4, hi4, lo2, hi2; } Interleave;

KI Interleave interleave_plan(void) {
    int lo4[16], hi4[16], lo2[16], hi2[16], pair[16];
    for (int l = 0; l < 16; l++) {
        pair[l] = (l >> 1) + (l & 1) * 16;                      // a0 b0 a1 b1 ... (first 8 lanes of each)
        lo4[l] = (l >> 2) * 2 + (l & 1) + ((l >> 1) & 1) * 16;   // from pairs e, f: e0 e1 f0 f1 e2 e3 f2 f3 ...
        hi4[l] = lo4[l] + 8;
        lo2[l] = pair[l];
        hi2[l] = pair[l] + 8;
    }
    Interleave t = {_mm512_loadu_si512(pair), _mm512_loadu_si512(lo4), _mm512_loadu_si512(hi4),
                    _mm512_loadu_si512(lo2), _mm512_loadu_si512(hi2)};
    return t;
}

// One output row from q[jj] (column jj of the tiles in lanes 0..): 32 image columns at dr (masks mlo, mhi),
// through the epilogue.
KI void emit_row(const Interleave *t, int m, const V q[4], float *dr, const float *rr, __mmask16 mlo, __mmask16 mhi,
                 const float *bias, V b, const float *sampleBias, V e) {
    V lo, hi;
    if (m == 4) {
        V ef = _mm512_permutex2var_ps(q[0], t->pair, q[1]), gh = _mm512_permutex2var_ps(q[2], t->pair, q[3]);
        lo = _mm512_permutex2var_ps(ef, t->lo4, gh);
        hi = _mm512_permutex2var_ps(ef, t->hi4, gh);
    } else {
        lo = _mm512_permutex2var_ps(q[0], t->lo2, q[1]);
        hi = _mm512_permutex2var_ps(q[0], t->hi2, q[1]);
    }
    _mm512_mask_storeu_ps(dr, mlo, epilogue(lo, bias, b, sampleBias, e, rr, mlo));
    if (mhi) _mm512_mask_storeu_ps(dr + 16, mhi, epilogue(hi, bias, b, sampleBias, e, rr ? rr + 16 : 0, mhi));
}

// Both passes of Aᵀ M A for the tiles in the lanes of `keep` (tile t at s[t], position xi at s[xi * xs]):
// p[r][jj] = output row r, column jj of each tile.
KI void output_passes(const float *s, long xs, int m, __mmask16 keep, V p[6][4]) {
    const int a = m + 2;
    V d[6];
    for (int i = 0; i < a; i++) {            // along each row of the tile (first pass)
        for (int k = 0; k < a; k++) d[k] = _mm512_maskz_loadu_ps(keep, s + (long)(i * a + k) * xs);
        if (m == 4) at6(d, p[i]); else at4(d, p[i]);
    }
    for (int jj = 0; jj < m; jj++) {         // along the columns (second pass)
        for (int i = 0; i < a; i++) d[i] = p[i][jj];
        V o[4];
        if (m == 4) at6(d, o); else at4(d, o);
        for (int r = 0; r < m; r++) p[r][jj] = o[r];   // p[r] now holds output row r
    }
}

// Tile rows of at most 8 tiles, G = 16 / tw (at most 4) at a time as in `input_grouped`; each tile row's
// lanes are moved down to lane 0 before its rows are interleaved.
KI void output_grouped(const float *mm, int channels, int h, int w, int m, long xs, const float *bias,
                       const float *sampleBias, const float *residual, float *out) {
    const int th = (h + m - 1) / m, tw = (w + m - 1) / m, nt = th * tw;
    const int groups = 16 / tw < 4 ? 16 / tw : 4;
    const Interleave t = interleave_plan();
    __m512i down[4];
    for (int g = 0; g < groups; g++) {
        int ix[16];
        for (int l = 0; l < 16; l++) ix[l] = (l + g * tw) & 15;
        down[g] = _mm512_loadu_si512(ix);
    }
    const __mmask16 mlo = range_mask(0, w), mhi = range_mask(0, w - 16);
    for (int ch = 0; ch < channels; ch++) {
        V b = _mm512_set1_ps(bias ? bias[ch] : 0), e = _mm512_set1_ps(sampleBias ? sampleBias[ch] : 0);
        float *plane = out + (long)ch * h * w;
        const float *rplane = residual ? residual + (long)ch * h * w : 0;
        for (int ty0 = 0; ty0 < th; ty0 += groups) {
            int n = th - ty0 < groups ? th - ty0 : groups;
            V p[6][4], q[4];
            output_passes(mm + (long)ch * nt + (long)ty0 * tw, xs, m, range_mask(0, n * tw), p);
            for (int g = 0; g < n; g++) {
                for (int r = 0; r < m; r++) {
                    int y = (ty0 + g) * m + r;
                    if (y >= h) break;
                    for (int jj = 0; jj < m; jj++) q[jj] = g == 0 ? p[r][jj] : _mm512_permutexvar_ps(down[g], p[r][jj]);
                    emit_row(&t, m, q, plane + (long)y * w, rplane ? rplane + (long)y * w : 0, mlo, mhi,
                             bias, b, sampleBias, e);
                }
            }
        }
    }
}

// Chunks of 8 (m = 4) or 16 (m = 2) tiles: 32 output columns, two registers.
KI void output_tiles(const float *mm, int channels, int h, int w, int m, long xs, const float *bias,
                     const float *sampleBias, const float *residual, float *out) {
    const int th = (h + m - 1) / m, tw = (w + m - 1) / m, nt = th * tw, chunk = m == 4 ? 8 : 16;
    if (tw <= 8) { output_grouped(mm, channels, h, w, m, xs, bias, sampleBias, residual, out); return; }
    const Interleave t = interleave_plan();
    for (int ch = 0; ch < channels; ch++) {
        V b = _mm512_set1_ps(bias ? bias[ch] : 0), e = _mm512_set1_ps(sampleBias ? sampleBias[ch] : 0);
        float *plane = out + (long)ch * h * w;
        const float *rplane = residual ? residual + (long)ch * h * w : 0;
        for (int ty = 0; ty < th; ty++) {
            for (int tx0 = 0; tx0 < tw; tx0 += chunk) {
                int n = tw - tx0 < chunk ? tw - tx0 : chunk;
                V p[6][4];
                output_passes(mm + (long)ch * nt + (long)ty * tw + tx0, xs, m, range_mask(0, n), p);
                int c0 = m * tx0;
                __mmask16 mlo = range_mask(0, w - c0), mhi = range_mask(0, w - c0 - 16);
                for (int r = 0; r < m; r++) {
                    int y = ty * m + r;
                    if (y >= h) break;
                    emit_row(&t, m, p[r], plane + (long)y * w + c0, rplane ? rplane + (long)y * w + c0 : 0, mlo, mhi,
                             bias, b, sampleBias, e);
                }
            }
        }
    }
}

// MARK: output gradient (A dy Aᵀ)

// Tile rows of at most 8 tiles, G at a time (as `input_grouped`).
KI void grad_grouped(const float *dy, int channels, int h, int w, int m, float *out, long xs, long ld, long col0) {
    const int a = m + 2, th = (h + m - 1) / m, tw = (w + m - 1) / m;
    const Gather q = gather_plan(tw, m, a);
    for (int ch = 0; ch < channels; ch++) {
        const float *plane = dy + (long)ch * h * w;
        for (int ty0 = 0; ty0 < th; ty0 += q.groups) {
            int n = th - ty0 < q.groups ? th - ty0 : q.groups;
            V b[6][4][2], d[4], o[6];
            for (int g = 0; g < n; g++) {
                V r[4][2];
                for (int k = 0; k < m; k++) load_row(plane, h, w, (ty0 + g) * m + k, 0, r[k]);
                for (int half = 0; half < 2; half++) {
                    V col[4], res[6];
                    for (int k = 0; k < m; k++) col[k] = r[k][half];
                    if (m == 4) a6(col, res); else a4(col, res);
                    for (int i = 0; i < a; i++) b[i][g][half] = res[i];
                }
            }
            __mmask16 keep = range_mask(0, n * tw);
            float *dst = out + (long)ch * ld + col0 + (long)ty0 * tw;
            for (int i = 0; i < a; i++) {
                for (int c = 0; c < m; c++) d[c] = gather(&q, b[i], n, c);
                if (m == 4) a6(d, o); else a4(d, o);
                for (int j = 0; j < a; j++) _mm512_mask_storeu_ps(dst + (long)(i * a + j) * xs, keep, o[j]);
            }
        }
    }
}

// Chunks of 8 (m = 4) or 16 (m = 2) tiles: 32 columns.
KI void grad_tiles(const float *dy, int channels, int h, int w, int m, float *out, long xs, long ld, long col0) {
    const int a = m + 2, th = (h + m - 1) / m, tw = (w + m - 1) / m, chunk = m == 4 ? 8 : 16;
    if (tw <= 8 && tw <= chunk) { grad_grouped(dy, channels, h, w, m, out, xs, ld, col0); return; }
    for (int ch = 0; ch < channels; ch++) {
        const float *plane = dy + (long)ch * h * w;
        for (int ty = 0; ty < th; ty++) {
            for (int tx0 = 0; tx0 < tw; tx0 += chunk) {
                int nt = tw - tx0 < chunk ? tw - tx0 : chunk;
                __mmask16 keep = range_mask(0, nt);
                V r[4][2], b[6][2], d[4], o[6];
                for (int k = 0; k < m; k++) load_row(plane, h, w, ty * m + k, m * tx0, r[k]);
                for (int half = 0; half < 2; half++) {
                    V col[4], res[6];
                    for (int k = 0; k < m; k++) col[k] = r[k][half];
                    if (m == 4) a6(col, res); else a4(col, res);
                    for (int i = 0; i < a; i++) b[i][half] = res[i];
                }
                float *dst = out + (long)ch * ld + col0 + (long)ty * tw + tx0;
                for (int i = 0; i < a; i++) {
                    for (int c = 0; c < m; c++) d[c] = pick(b[i][0], b[i][1], m, c);
                    if (m == 4) a6(d, o); else a4(d, o);
                    for (int j = 0; j < a; j++) _mm512_mask_storeu_ps(dst + (long)(i * a + j) * xs, keep, o[j]);
                }
            }
        }
    }
}

K static void input4(const float *x, int channels, int h, int w, float *v, long xs, long ld, long col0) {
    input_tiles(x, channels, h, w, 4, v, xs, ld, col0);
}
K static void input2(const float *x, int channels, int h, int w, float *v, long xs, long ld, long col0) {
    input_tiles(x, channels, h, w, 2, v, xs, ld, col0);
}
K static void output4(const float *mm, int channels, int h, int w, long xs, const float *bias, const float *sampleBias,
                      const float *residual, float *out) {
    output_tiles(mm, channels, h, w, 4, xs, bias, sampleBias, residual, out);
}
K static void output2(const float *mm, int channels, int h, int w, long xs, const float *bias, const float *sampleBias,
                      const float *residual, float *out) {
    output_tiles(mm, channels, h, w, 2, xs, bias, sampleBias, residual, out);
}
K static void grad4(const float *dy, int channels, int h, int w, float *out, long xs, long ld, long col0) {
    grad_tiles(dy, channels, h, w, 4, out, xs, ld, col0);
}
K static void grad2(const float *dy, int channels, int h, int w, float *out, long xs, long ld, long col0) {
    grad_tiles(dy, channels, h, w, 2, out, xs, ld, col0);
}

void cwino_input(const float *x, int channels, int h, int w, int m, float *v, long xiStride, long ld, long col0) {
    if (m == 4) input4(x, channels, h, w, v, xiStride, ld, col0); else input2(x, channels, h, w, v, xiStride, ld, col0);
}

void cwino_output(const float *mm, int channels, int h, int w, int m, long xiStride,
                  const float *bias, const float *sampleBias, const float *residual, float *out) {
    if (m == 4) output4(mm, channels, h, w, xiStride, bias, sampleBias, residual, out);
    else output2(mm, channels, h, w, xiStride, bias, sampleBias, residual, out);
}

void cwino_grad(const float *dy, int channels, int h, int w, int m, float *out, long xiStride, long ld, long col0) {
    if (m == 4) grad4(dy, channels, h, w, out, xiStride, ld, col0); else grad2(dy, channels, h, w, out, xiStride, ld, col0);
}

#else
#include <stdlib.h>
int cconv_available(void) { return 0; }
void cwino_input(const float *x, int channels, int h, int w, int m, float *v, long xiStride, long ld, long col0) { abort(); }
void cwino_output(const float *mm, int channels, int h, int w, int m, long xiStride,
                  const float *bias, const float *sampleBias, const float *residual, float *out) { abort(); }
void cwino_grad(const float *dy, int channels, int h, int w, int m, float *out, long xiStride, long ld, long col0) { abort(); }
#endif
