// LayerNorm-modulate row passes on AVX-512F (see clayernorm.h): the lane arithmetic of TensorCore's
// `groupStatistics`, `normRow`, the modulate and `layerNormModulateBackward`, operation for operation.
// Intrinsics only, and contraction off: a multiply and an add stay two roundings where Swift has two.
#include "clayernorm.h"
#pragma STDC FP_CONTRACT OFF

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

#define ROW __attribute__((target("avx512f")))
#define LANES static inline __attribute__((target("avx512f"), always_inline))

// The first `n` (<= 16) lanes set.
LANES __mmask16 lanes(int n) { return (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1u); }
LANES __m256 low8(__m512 v) { return _mm512_castps512_ps256(v); }
LANES __m256 high8(__m512 v) { return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)); }

ROW void cln_sum_partials(const float *x, int d, float partials[8]) {
    // One zmm holds (s0 | s1): a 16-value chunk's first eight go to s0's lanes, the second to s1's.
    __m512 s = _mm512_setzero_ps();
    int t = 0;
    for (; t + 16 <= d; t += 16) s = _mm512_add_ps(s, _mm512_loadu_ps(x + t));
    __m256 s0 = low8(s), s1 = high8(s);
    for (; t < d; t += 8) s0 = _mm256_add_ps(s0, low8(_mm512_maskz_loadu_ps(lanes(d - t < 8 ? d - t : 8), x + t)));
    _mm256_storeu_ps(partials, _mm256_add_ps(s0, s1));
}

ROW void cln_deviation_partials(const float *x, int d, float mean, float partials[8]) {
    __m512 q = _mm512_setzero_ps(), mv = _mm512_set1_ps(mean);
    int t = 0;
    for (; t + 16 <= d; t += 16) { __m512 v = _mm512_sub_ps(_mm512_loadu_ps(x + t), mv); q = _mm512_fmadd_ps(v, v, q); }
    __m256 q0 = low8(q), q1 = high8(q);
    for (; t < d; t += 8) {
        // The padding lanes' deviations are zero (as `replacing(with: 0, ...)`).
        __m256 v = low8(_mm512_maskz_sub_ps(lanes(d - t < 8 ? d - t : 8), _mm512_maskz_loadu_ps(lanes(d - t), x + t), mv));
        q0 = _mm256_fmadd_ps(v, v, q0);
    }
    _mm256_storeu_ps(partials, _mm256_add_ps(q0, q1));
}

ROW void cln_modulate_row(const float *x, float *y, float *out, int d, float a, float b, const float *scale, const float *shift) {
    __m512 av = _mm512_set1_ps(a), bv = _mm512_set1_ps(b), one = _mm512_set1_ps(1.0f);
    for (int t = 0; t < d; t += 16) {
        __mmask16 k = lanes(d - t);
        __m512 yv = _mm512_add_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + t), av), bv);
        if (y) _mm512_mask_storeu_ps(y + t, k, yv);
        __m512 c = _mm512_add_ps(one, _mm512_maskz_loadu_ps(k, scale + t));
        _mm512_mask_storeu_ps(out + t, k, _mm512_add_ps(_mm512_mul_ps(yv, c), _mm512_maskz_loadu_ps(k, shift + t)));
    }
}

ROW void cln_backward_sums(const float *g, const float *y, const float *scale, int d, float *dshift, float *dscale,
                           float sg[8], float sgy[8]) {
    __m512 one = _mm512_set1_ps(1.0f);
    __m256 a = _mm256_setzero_ps(), b = _mm256_setzero_ps();
    for (int t = 0; t < d; t += 16) {
        int left = d - t;
        __mmask16 k = lanes(left);
        __m512 gv = _mm512_maskz_loadu_ps(k, g + t), yv = _mm512_maskz_loadu_ps(k, y + t);
        if (dshift) _mm512_mask_storeu_ps(dshift + t, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, dshift + t), gv));
        if (dscale) _mm512_mask_storeu_ps(dscale + t, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, dscale + t), _mm512_mul_ps(gv, yv)));
        __m512 u = _mm512_mul_ps(gv, _mm512_add_ps(one, _mm512_maskz_loadu_ps(k, scale + t)));
        // Chunk after chunk of eight (a second chunk only when the row has one).
        a = _mm256_add_ps(a, low8(u)); b = _mm256_fmadd_ps(low8(u), low8(yv), b);
        if (left > 8) { a = _mm256_add_ps(a, high8(u)); b = _mm256_fmadd_ps(high8(u), high8(yv), b); }
    }
    _mm256_storeu_ps(sg, a);
    _mm256_storeu_ps(sgy, b);
}

ROW void cln_backward_row(const float *g, const float *y, const float *scale, int d, float mg, float mgy, float rs, float *dx) {
    __m512 one = _mm512_set1_ps(1.0f), mgv = _mm512_set1_ps(mg), mgyv = _mm512_set1_ps(mgy), rsv = _mm512_set1_ps(rs);
    for (int t = 0; t < d; t += 16) {
        __mmask16 k = lanes(d - t);
        __m512 u = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, g + t), _mm512_add_ps(one, _mm512_maskz_loadu_ps(k, scale + t)));
        __m512 v = _mm512_sub_ps(_mm512_sub_ps(u, mgv), _mm512_mul_ps(_mm512_maskz_loadu_ps(k, y + t), mgyv));
        _mm512_mask_storeu_ps(dx + t, k, _mm512_mul_ps(v, rsv));
    }
}

#else
void cln_sum_partials(const float *x, int d, float partials[8]) { (void)x; (void)d; for (int i = 0; i < 8; i++) partials[i] = 0; }
void cln_deviation_partials(const float *x, int d, float mean, float partials[8]) { (void)x; (void)d; (void)mean; for (int i = 0; i < 8; i++) partials[i] = 0; }
void cln_modulate_row(const float *x, float *y, float *out, int d, float a, float b, const float *scale, const float *shift) {
    (void)x; (void)y; (void)out; (void)d; (void)a; (void)b; (void)scale; (void)shift; }
void cln_backward_sums(const float *g, const float *y, const float *scale, int d, float *dshift, float *dscale, float sg[8], float sgy[8]) {
    (void)g; (void)y; (void)scale; (void)d; (void)dshift; (void)dscale; for (int i = 0; i < 8; i++) sg[i] = sgy[i] = 0; }
void cln_backward_row(const float *g, const float *y, const float *scale, int d, float mg, float mgy, float rs, float *dx) {
    (void)g; (void)y; (void)scale; (void)d; (void)mg; (void)mgy; (void)rs; (void)dx; }
#endif
