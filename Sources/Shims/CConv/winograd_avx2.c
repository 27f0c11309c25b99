// Winograd F(2x2,3x3) / F(4x4,3x3) data transforms in AVX2 (issue 23, session 20), for CPUs without AVX-512
// (winograd.c). The layout is the Swift transforms' (TensorCore/Kernels/Conv2dWinograd.swift): each plane is
// spread once into a zero-bordered buffer whose rows keep their columns split by phase (column x at
// (x % m) * runW + x / m), so the column pass runs on whole rows and, in the row pass, tile column c of the
// tiles of a tile row is one contiguous run: 8 tiles in the 8 lanes (the UNet's planes have 7 or 4 tiles per
// row; the Swift code ran those in SIMD4 and scalar tails). The output pass keeps the tiles in the lanes through
// both of its passes and interleaves them into image columns with unpack/permute.
// Every value is computed by the same operations in the same order as the Swift code: the results are
// bit-identical (WinogradTransformsTests), and this file is compiled with -ffp-contract=off.
#include "cconv.h"
#include "ccpu.h"
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

int cwino2_available(void) { return ccpu_has(CCPU_AVX2); }

#define K2 __attribute__((target("avx2")))
#define KI __attribute__((target("avx2"), always_inline)) static inline
typedef __m256 V;

KI V add(V a, V b) { return _mm256_add_ps(a, b); }
KI V sub(V a, V b) { return _mm256_sub_ps(a, b); }
KI V mul(float s, V a) { return _mm256_mul_ps(_mm256_set1_ps(s), a); }
KI V neg(V a) { return _mm256_xor_ps(a, _mm256_set1_ps(-0.0f)); }

#include "winograd_transforms.h"

// Lanes 0 ..< n (n clamped to 0...8) as a maskload/maskstore mask.
KI __m256i lanes(int n) {
    if (n > 8) n = 8;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// The first n lanes (1...8) of v at p, in plain stores: vmaskmovps stores are microcoded and slow on AMD's cores.
KI void store_n(float *p, V v, int n) {
    if (n >= 8) { _mm256_storeu_ps(p, v); return; }
    __m128 lo = _mm256_castps256_ps128(v);
    if (n & 4) { _mm_storeu_ps(p, lo); p += 4; lo = _mm256_extractf128_ps(v, 1); }
    if (n & 2) { _mm_storel_pi((__m64 *)p, lo); p += 2; lo = _mm_movehl_ps(lo, lo); }
    if (n & 1) _mm_store_ss(p, lo);
}

// Rows of `n` floats, 8-float vectors (the buffers have 8 floats of slack past their last row).
static long round8(long n) { return (n + 7) & ~7L; }

// One image row s[0 ..< w] into a phase-split row: column x = j + off at d[(x % m) * q + x / m]. Columns with
// x % m == 0 go 8 at a time through 128-bit shuffles (the scalar scatter was a third of the input transform).
KI void spread_row(const float *s, int w, float *d, int m, int off, int q) {
    int j = 0;
    for (; j < w && (j + off) % m != 0; j++) d[((j + off) % m) * q + (j + off) / m] = s[j];
    for (; j + 8 <= w; j += 8) {
        const int x = (j + off) / m;
        __m128 lo = _mm_loadu_ps(s + j), hi = _mm_loadu_ps(s + j + 4);
        if (m == 4) {   // run r gets s[r], s[r + 4]
            __m128 t0 = _mm_unpacklo_ps(lo, hi), t1 = _mm_unpackhi_ps(lo, hi);
            _mm_storel_pi((__m64 *)(d + x), t0);
            _mm_storeh_pi((__m64 *)(d + q + x), t0);
            _mm_storel_pi((__m64 *)(d + 2 * q + x), t1);
            _mm_storeh_pi((__m64 *)(d + 3 * q + x), t1);
        } else {        // run 0 gets the even columns, run 1 the odd
            _mm_storeu_ps(d + x, _mm_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0)));
            _mm_storeu_ps(d + q + x, _mm_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1)));
        }
    }
    for (; j < w; j++) d[((j + off) % m) * q + (j + off) / m] = s[j];
}

// MARK: input (Bᵀ d B)

// Planes of at most 7 tiles per row (the UNet's: 28x28 with m = 4, 14x14 and 7x7 with m = 2): runs of 8, one
// register each, so both passes stay in registers (a band stored by the column pass and reloaded at unaligned
// offsets by the row pass stalled on store forwarding); tile column c >= m is run c - m moved down one lane.
KI void input_narrow(const float *x, int channels, int h, int w, int m, float *v, long xs, long ld, long col0,
                      float *pad) {
    const int a = m + 2, th = (h + m - 1) / m, tw = (w + m - 1) / m;
    const long pw = 8L * m;
    const __m256i down = _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 7);
    for (int ch = 0; ch < channels; ch++) {
        const float *plane = x + (long)ch * h * w;
        for (int r = 0; r < h; r++) spread_row(plane + (long)r * w, w, pad + (long)(r + 1) * pw, m, 1, 8);
        for (int ty = 0; ty < th; ty++) {
            const float *rows = pad + (long)ty * m * pw;
            V b[6][4];
            for (int r = 0; r < m; r++) {                          // column pass, run by run
                V d[6], o[6];
                for (int k = 0; k < a; k++) d[k] = _mm256_loadu_ps(rows + k * pw + 8 * r);
                if (m == 4) bt6(d, o); else bt4(d, o);
                for (int i = 0; i < a; i++) b[i][r] = o[i];
            }
            float *dst = v + (long)ch * ld + col0 + (long)ty * tw;
            for (int i = 0; i < a; i++) {                          // row pass, the tiles in the lanes
                V d[6], o[6];
                for (int c = 0; c < a; c++) d[c] = c < m ? b[i][c] : _mm256_permutevar8x32_ps(b[i][c - m], down);
                if (m == 4) bt6(d, o); else bt4(d, o);
                for (int j = 0; j < a; j++) store_n(dst + (long)(i * a + j) * xs, o[j], tw);
            }
        }
    }
}

KI void input_tiles(const float *x, int channels, int h, int w, int m, float *v, long xs, long ld, long col0,
                     float *pad, float *band) {
    const int a = m + 2, th = (h + m - 1) / m, tw = (w + m - 1) / m, qw = tw + 1;
    const long pw = round8((long)m * qw);   // padded row: m runs of qw, padded column x at (x % m) * qw + x / m
    if (tw <= 7) { input_narrow(x, channels, h, w, m, v, xs, ld, col0, pad); return; }
    for (int ch = 0; ch < channels; ch++) {
        const float *plane = x + (long)ch * h * w;
        for (int r = 0; r < h; r++)          // image column j is padded column j + 1; the rest stays zero
            spread_row(plane + (long)r * w, w, pad + (long)(r + 1) * pw, m, 1, qw);
        for (int ty = 0; ty < th; ty++) {
            const float *rows = pad + (long)ty * m * pw;
            for (long x0 = 0; x0 < pw; x0 += 8) {                 // column pass over whole rows
                V d[6], o[6];
                for (int k = 0; k < a; k++) d[k] = _mm256_loadu_ps(rows + k * pw + x0);
                if (m == 4) bt6(d, o); else bt4(d, o);
                for (int i = 0; i < a; i++) _mm256_storeu_ps(band + i * pw + x0, o[i]);
            }
            float *dst = v + (long)ch * ld + col0 + (long)ty * tw;
            for (int tx = 0; tx < tw; tx += 8) {                  // row pass, 8 tiles in the lanes
                const int n = tw - tx;
                for (int i = 0; i < a; i++) {
                    const float *b = band + i * pw + tx;
                    V d[6], o[6];
                    for (int c = 0; c < a; c++) d[c] = _mm256_loadu_ps(b + (c % m) * qw + c / m);
                    if (m == 4) bt6(d, o); else bt4(d, o);
                    for (int j = 0; j < a; j++) store_n(dst + (long)(i * a + j) * xs + tx, o[j], n);
                }
            }
        }
    }
}
K2 static void input4(const float *x, int c, int h, int w, float *v, long xs, long ld, long col0, float *p, float *b) {
    input_tiles(x, c, h, w, 4, v, xs, ld, col0, p, b);
}
K2 static void input2(const float *x, int c, int h, int w, float *v, long xs, long ld, long col0, float *p, float *b) {
    input_tiles(x, c, h, w, 2, v, xs, ld, col0, p, b);
}

void cwino2_input(const float *x, int channels, int h, int w, int m, float *v, long xiStride, long ld, long col0) {
    const int th = (h + m - 1) / m, tw = (w + m - 1) / m;
    const long pw = tw <= 7 ? 8L * m : round8((long)m * (tw + 1)), ph = (long)th * m + 2;
    float *pad = calloc(ph * pw + 8, sizeof(float)), *band = calloc(6 * pw + 8, sizeof(float));
    if (!pad || !band) abort();
    if (m == 4) input4(x, channels, h, w, v, xiStride, ld, col0, pad, band);
    else input2(x, channels, h, w, v, xiStride, ld, col0, pad, band);
    free(pad); free(band);
}

// MARK: output (Aᵀ M A) and the epilogue

// The conv epilogue of Conv2dWinograd.swift, same rounding (res: NULL or its row, read under `mk`).
KI V epilogue(V s, const float *bias, V b, const float *sampleBias, V e, const float *res, __m256i mk) {
    if (!bias) return s;
    if (sampleBias) {
        V d = add(add(s, b), e);
        return res ? add(_mm256_maskload_ps(res, mk), d) : d;
    }
    if (res) return add(_mm256_maskload_ps(res, mk), add(s, b));
    return add(s, b);
}

KI void output_tiles(const float *mm, int channels, int h, int w, int m, long xs, const float *bias,
                      const float *sampleBias, const float *residual, float *out) {
    const int a = m + 2, th = (h + m - 1) / m, tw = (w + m - 1) / m, nt = th * tw;
    float row[32];
    for (int ch = 0; ch < channels; ch++) {
        V b = _mm256_set1_ps(bias ? bias[ch] : 0), e = _mm256_set1_ps(sampleBias ? sampleBias[ch] : 0);
        float *plane = out + (long)ch * h * w;
        const float *rplane = residual ? residual + (long)ch * h * w : 0;
        for (int ty = 0; ty < th; ty++) {
            for (int tx = 0; tx < tw; tx += 8) {
                __m256i keep = lanes(tw - tx);
                const float *s = mm + (long)ch * nt + (long)ty * tw + tx;
                V p[6][4], d[6];
                for (int i = 0; i < a; i++) {                 // along each row of the tile (the Swift band)
                    for (int k = 0; k < a; k++) d[k] = _mm256_maskload_ps(s + (long)(i * a + k) * xs, keep);
                    if (m == 4) at6(d, p[i]); else at4(d, p[i]);
                }
                for (int jj = 0; jj < m; jj++) {              // along the columns
                    V o[4];
                    for (int i = 0; i < a; i++) d[i] = p[i][jj];
                    if (m == 4) at6(d, o); else at4(d, o);
                    for (int r = 0; r < m; r++) p[r][jj] = o[r];
                }
                const int c0 = m * tx, cols = w - c0 < 8 * m ? w - c0 : 8 * m;   // image columns of these tiles
                for (int r = 0; r < m; r++) {
                    const int y = ty * m + r;
                    if (y >= h) break;
                    // interleave: lane t of p[r][jj] is column m * t + jj
                    if (m == 4) {
                        V t0 = _mm256_unpacklo_ps(p[r][0], p[r][2]), t1 = _mm256_unpacklo_ps(p[r][1], p[r][3]);
                        V t2 = _mm256_unpackhi_ps(p[r][0], p[r][2]), t3 = _mm256_unpackhi_ps(p[r][1], p[r][3]);
                        V u0 = _mm256_unpacklo_ps(t0, t1), u1 = _mm256_unpackhi_ps(t0, t1);
                        V u2 = _mm256_unpacklo_ps(t2, t3), u3 = _mm256_unpackhi_ps(t2, t3);
                        _mm256_storeu_ps(row, _mm256_permute2f128_ps(u0, u1, 0x20));
                        _mm256_storeu_ps(row + 8, _mm256_permute2f128_ps(u2, u3, 0x20));
                        _mm256_storeu_ps(row + 16, _mm256_permute2f128_ps(u0, u1, 0x31));
                        _mm256_storeu_ps(row + 24, _mm256_permute2f128_ps(u2, u3, 0x31));
                    } else {
                        V lo = _mm256_unpacklo_ps(p[r][0], p[r][1]), hi = _mm256_unpackhi_ps(p[r][0], p[r][1]);
                        _mm256_storeu_ps(row, _mm256_permute2f128_ps(lo, hi, 0x20));
                        _mm256_storeu_ps(row + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
                    }
                    float *dr = plane + (long)y * w + c0;
                    const float *rr = rplane ? rplane + (long)y * w + c0 : 0;
                    for (int j = 0; j < cols; j += 8) {
                        __m256i mk = lanes(cols - j);
                        V v = epilogue(_mm256_loadu_ps(row + j), bias, b, sampleBias, e, rr ? rr + j : 0, mk);
                        store_n(dr + j, v, cols - j);
                    }
                }
            }
        }
    }
}
K2 static void output4(const float *mm, int channels, int h, int w, long xs, const float *bias, const float *sampleBias,
                       const float *residual, float *out) {
    output_tiles(mm, channels, h, w, 4, xs, bias, sampleBias, residual, out);
}
K2 static void output2(const float *mm, int channels, int h, int w, long xs, const float *bias, const float *sampleBias,
                       const float *residual, float *out) {
    output_tiles(mm, channels, h, w, 2, xs, bias, sampleBias, residual, out);
}

void cwino2_output(const float *mm, int channels, int h, int w, int m, long xiStride,
                   const float *bias, const float *sampleBias, const float *residual, float *out) {
    if (m == 4) output4(mm, channels, h, w, xiStride, bias, sampleBias, residual, out);
    else output2(mm, channels, h, w, xiStride, bias, sampleBias, residual, out);
}

// MARK: output gradient (A dy Aᵀ)

// At most 8 tiles per row: runs of 8, one register each (as input_narrow; no run is shifted here).
KI void grad_narrow(const float *dy, int channels, int h, int w, int m, float *out, long xs, long ld, long col0,
                     float *grid) {
    const int a = m + 2, th = (h + m - 1) / m, tw = (w + m - 1) / m;
    const long gw = 8L * m;
    for (int ch = 0; ch < channels; ch++) {
        const float *plane = dy + (long)ch * h * w;
        for (int r = 0; r < h; r++) spread_row(plane + (long)r * w, w, grid + (long)r * gw, m, 0, 8);
        for (int ty = 0; ty < th; ty++) {
            const float *rows = grid + (long)ty * m * gw;
            V b[6][4];
            for (int c = 0; c < m; c++) {                          // column pass, run by run
                V d[4], o[6];
                for (int k = 0; k < m; k++) d[k] = _mm256_loadu_ps(rows + k * gw + 8 * c);
                if (m == 4) a6(d, o); else a4(d, o);
                for (int i = 0; i < a; i++) b[i][c] = o[i];
            }
            float *dst = out + (long)ch * ld + col0 + (long)ty * tw;
            for (int i = 0; i < a; i++) {                          // row pass, the tiles in the lanes
                V o[6];
                if (m == 4) a6(b[i], o); else a4(b[i], o);
                for (int j = 0; j < a; j++) store_n(dst + (long)(i * a + j) * xs, o[j], tw);
            }
        }
    }
}

KI void grad_tiles(const float *dy, int channels, int h, int w, int m, float *out, long xs, long ld, long col0,
                    float *grid, float *band) {
    const int a = m + 2, th = (h + m - 1) / m, tw = (w + m - 1) / m;
    const long gw = round8((long)m * tw);   // grid row: m runs of tw, column x at (x % m) * tw + x / m
    if (tw <= 8) { grad_narrow(dy, channels, h, w, m, out, xs, ld, col0, grid); return; }
    for (int ch = 0; ch < channels; ch++) {
        const float *plane = dy + (long)ch * h * w;
        for (int r = 0; r < h; r++)          // zero past the image
            spread_row(plane + (long)r * w, w, grid + (long)r * gw, m, 0, tw);
        for (int ty = 0; ty < th; ty++) {
            const float *rows = grid + (long)ty * m * gw;
            for (long x0 = 0; x0 < gw; x0 += 8) {                 // column pass
                V d[4], o[6];
                for (int k = 0; k < m; k++) d[k] = _mm256_loadu_ps(rows + k * gw + x0);
                if (m == 4) a6(d, o); else a4(d, o);
                for (int i = 0; i < a; i++) _mm256_storeu_ps(band + i * gw + x0, o[i]);
            }
            float *dst = out + (long)ch * ld + col0 + (long)ty * tw;
            for (int tx = 0; tx < tw; tx += 8) {                  // row pass, 8 tiles in the lanes
                const int n = tw - tx;
                for (int i = 0; i < a; i++) {
                    const float *b = band + i * gw + tx;
                    V d[4], o[6];
                    for (int c = 0; c < m; c++) d[c] = _mm256_loadu_ps(b + c * tw);
                    if (m == 4) a6(d, o); else a4(d, o);
                    for (int j = 0; j < a; j++) store_n(dst + (long)(i * a + j) * xs + tx, o[j], n);
                }
            }
        }
    }
}
K2 static void grad4(const float *dy, int c, int h, int w, float *o, long xs, long ld, long col0, float *g, float *b) {
    grad_tiles(dy, c, h, w, 4, o, xs, ld, col0, g, b);
}
K2 static void grad2(const float *dy, int c, int h, int w, float *o, long xs, long ld, long col0, float *g, float *b) {
    grad_tiles(dy, c, h, w, 2, o, xs, ld, col0, g, b);
}

void cwino2_grad(const float *dy, int channels, int h, int w, int m, float *out, long xiStride, long ld, long col0) {
    const int th = (h + m - 1) / m, tw = (w + m - 1) / m;
    const long gw = tw <= 8 ? 8L * m : round8((long)m * tw);
    float *grid = calloc((long)th * m * gw + 8, sizeof(float)), *band = calloc(6 * gw + 8, sizeof(float));
    if (!grid || !band) abort();
    if (m == 4) grad4(dy, channels, h, w, out, xiStride, ld, col0, grid, band);
    else grad2(dy, channels, h, w, out, xiStride, ld, col0, grid, band);
    free(grid); free(band);
}

#else
int cwino2_available(void) { return 0; }
void cwino2_input(const float *x, int channels, int h, int w, int m, float *v, long xiStride, long ld, long col0) { abort(); }
void cwino2_output(const float *mm, int channels, int h, int w, int m, long xiStride,
                   const float *bias, const float *sampleBias, const float *residual, float *out) { abort(); }
void cwino2_grad(const float *dy, int channels, int h, int w, int m, float *out, long xiStride, long ld, long col0) { abort(); }
#endif
