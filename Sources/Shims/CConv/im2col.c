// im2col and its adjoint in AVX-512 for stride 1 and 2 (the UNet's conv_in, its stride-2 downsamples and
// the im2col fallback). The Swift loops (TensorCore/Kernels/Im2col.swift) copy rows of 7-28 floats one
// element at a time at stride 2, with separate zero fills for the padding; here a row is masked loads (zeros
// outside the image) and, at stride 2, vpermt2ps takes every other float. Pure copies and, in the adjoint,
// the same additions in the same order: bit-identical to the Swift code (tested).
#include "cconv.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

#define K __attribute__((target("avx512f,bmi2")))

// Lanes j of 0..15 with lo <= j < hi.
static inline __mmask16 span(int lo, int hi) {
    if (lo < 0) lo = 0;
    if (hi > 16) hi = 16;
    if (hi <= lo) return 0;
    return (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}

// Lanes ow - ow0 whose input column ow * s - p + j lies in [0, w), for ow in ow0 ..< ow0 + 16.
static inline __mmask16 valid(int ow0, int s, int off, int w) {
    // iw = ow * s + off in [0, w)  <=>  ow in [ceil(-off / s), floor((w - 1 - off) / s)]
    int lo = off >= 0 ? 0 : (-off + s - 1) / s;
    int last = w - 1 - off;
    int hi = last < 0 ? 0 : last / s + 1;
    return span(lo - ow0, hi - ow0);
}

K void cconv_im2col(const float *x, int cin, int h, int w, int k, int s, int p, float *cols, long ld) {
    const int ho = (h + 2 * p - k) / s + 1, wo = (w + 2 * p - k) / s + 1;
    int evens[16];
    for (int l = 0; l < 16; l++) evens[l] = 2 * l;
    const __m512i ie = _mm512_loadu_si512(evens);
    for (int c = 0; c < cin; c++) {
        const float *xc = x + (long)c * h * w;
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < k; j++) {
                float *row = cols + (long)((c * k + i) * k + j) * ld;
                const int off = j - p;
                for (int oh = 0; oh < ho; oh++) {
                    const int ih = oh * s - p + i;
                    float *dst = row + (long)oh * wo;
                    const int inside = ih >= 0 && ih < h;
                    const float *src = xc + (long)ih * w + off;   // masked lanes are not read
                    for (int ow0 = 0; ow0 < wo; ow0 += 16) {
                        __mmask16 keep = span(0, wo - ow0);
                        __m512 v = _mm512_setzero_ps();
                        if (inside) {
                            __mmask16 ok = valid(ow0, s, off, w) & keep;
                            if (s == 1) {
                                v = _mm512_maskz_loadu_ps(ok, src + ow0);
                            } else {
                                // input columns 2 * ow0 + 0 .. 31 of this row; even ones are the outputs
                                const float *q = src + 2 * ow0;
                                unsigned m = _pdep_u32(ok, 0x55555555u);   // lane l -> bit 2l
                                __mmask16 m0 = (__mmask16)(m & 0xffff), m1 = (__mmask16)(m >> 16);
                                __m512 lo = _mm512_maskz_loadu_ps(m0, q), hi = _mm512_maskz_loadu_ps(m1, q + 16);
                                v = _mm512_maskz_permutex2var_ps(ok, lo, ie, hi);
                            }
                        }
                        _mm512_mask_storeu_ps(dst + ow0, keep, v);
                    }
                }
            }
        }
    }
}

K void cconv_col2im_add(const float *cols, int cin, int h, int w, int k, int s, int p, float *dx, long ld) {
    const int ho = (h + 2 * p - k) / s + 1, wo = (w + 2 * p - k) / s + 1;
    int spread[16];
    for (int l = 0; l < 16; l++) spread[l] = (l & 1) ? 16 : l / 2;   // even lanes <- src[l / 2] (odd: unused)
    const __m512i isp = _mm512_loadu_si512(spread);
    for (int c = 0; c < cin; c++) {
        float *dxc = dx + (long)c * h * w;
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < k; j++) {
                const float *row = cols + (long)((c * k + i) * k + j) * ld;
                const int off = j - p;
                for (int oh = 0; oh < ho; oh++) {
                    const int ih = oh * s - p + i;
                    if (ih < 0 || ih >= h) continue;
                    const float *src = row + (long)oh * wo;
                    float *dst = dxc + (long)ih * w + off;   // masked lanes are not touched
                    for (int ow0 = 0; ow0 < wo; ow0 += 16) {
                        __mmask16 ok = valid(ow0, s, off, w) & span(0, wo - ow0);
                        if (!ok) continue;
                        __m512 g = _mm512_maskz_loadu_ps(ok, src + ow0);
                        if (s == 1) {
                            float *d = dst + ow0;
                            _mm512_mask_storeu_ps(d, ok, _mm512_add_ps(_mm512_maskz_loadu_ps(ok, d), g));
                        } else {
                            // outputs ow0 + l go to columns 2 * ow0 + 2l: lanes 2l of two registers
                            float *d = dst + 2 * ow0;
                            unsigned m = _pdep_u32(ok, 0x55555555u);
                            __mmask16 m0 = (__mmask16)(m & 0xffff), m1 = (__mmask16)(m >> 16);
                            __m512 glo = _mm512_permutexvar_ps(isp, g);
                            __m512 ghi = _mm512_permutexvar_ps(isp, _mm512_castsi512_ps(
                                _mm512_alignr_epi32(_mm512_setzero_si512(), _mm512_castps_si512(g), 8)));
                            if (m0) _mm512_mask_storeu_ps(d, m0, _mm512_add_ps(_mm512_maskz_loadu_ps(m0, d), glo));
                            if (m1) _mm512_mask_storeu_ps(d + 16, m1, _mm512_add_ps(_mm512_maskz_loadu_ps(m1, d + 16), ghi));
                        }
                    }
                }
            }
        }
    }
}

#else
#include <stdlib.h>
void cconv_im2col(const float *x, int cin, int h, int w, int k, int stride, int pad, float *cols, long ld) { abort(); }
void cconv_col2im_add(const float *cols, int cin, int h, int w, int k, int stride, int pad, float *dx, long ld) { abort(); }
#endif
