// Element-wise row helpers on AVX-512F (see crows.h). Contraction off: a product and an add stay two roundings.
#include "crows.h"
#pragma STDC FP_CONTRACT OFF

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

#define ROW __attribute__((target("avx512f")))

static inline __attribute__((target("avx512f"), always_inline)) __mmask16 lanes(long n) {
    return (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1u);
}

ROW void crow_accumulate(float *o, const float *a, const float *b, long n) {
    long j = 0;
    if (b) {
        for (; j + 16 <= n; j += 16) _mm512_storeu_ps(o + j, _mm512_add_ps(_mm512_loadu_ps(o + j), _mm512_mul_ps(_mm512_loadu_ps(a + j), _mm512_loadu_ps(b + j))));
        if (j < n) { __mmask16 k = lanes(n - j); _mm512_mask_storeu_ps(o + j, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, o + j), _mm512_mul_ps(_mm512_maskz_loadu_ps(k, a + j), _mm512_maskz_loadu_ps(k, b + j)))); }
    } else {
        for (; j + 16 <= n; j += 16) _mm512_storeu_ps(o + j, _mm512_add_ps(_mm512_loadu_ps(o + j), _mm512_loadu_ps(a + j)));
        if (j < n) { __mmask16 k = lanes(n - j); _mm512_mask_storeu_ps(o + j, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, o + j), _mm512_maskz_loadu_ps(k, a + j))); }
    }
}

ROW void crow_scale(float *p, long n, float f) {
    __m512 fv = _mm512_set1_ps(f);
    long j = 0;
    for (; j + 16 <= n; j += 16) _mm512_storeu_ps(p + j, _mm512_mul_ps(_mm512_loadu_ps(p + j), fv));
    if (j < n) { __mmask16 k = lanes(n - j); _mm512_mask_storeu_ps(p + j, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, p + j), fv)); }
}

ROW void crow_multiply(const float *a, const float *b, float *o, long n) {
    long j = 0;
    for (; j + 16 <= n; j += 16) _mm512_storeu_ps(o + j, _mm512_mul_ps(_mm512_loadu_ps(a + j), _mm512_loadu_ps(b + j)));
    if (j < n) { __mmask16 k = lanes(n - j); _mm512_mask_storeu_ps(o + j, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, a + j), _mm512_maskz_loadu_ps(k, b + j))); }
}

ROW void crow_gated_add(const float *r, const float *a, const float *y, float *o, long n) {
    long j = 0;
    for (; j + 16 <= n; j += 16)
        _mm512_storeu_ps(o + j, _mm512_add_ps(_mm512_loadu_ps(r + j), _mm512_mul_ps(_mm512_loadu_ps(a + j), _mm512_loadu_ps(y + j))));
    if (j < n) {
        __mmask16 k = lanes(n - j);
        _mm512_mask_storeu_ps(o + j, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, r + j), _mm512_mul_ps(_mm512_maskz_loadu_ps(k, a + j), _mm512_maskz_loadu_ps(k, y + j))));
    }
}

#else
void crow_accumulate(float *o, const float *a, const float *b, long n) { (void)o; (void)a; (void)b; (void)n; }
void crow_scale(float *p, long n, float f) { (void)p; (void)n; (void)f; }
void crow_multiply(const float *a, const float *b, float *o, long n) { (void)a; (void)b; (void)o; (void)n; }
void crow_gated_add(const float *r, const float *a, const float *y, float *o, long n) { (void)r; (void)a; (void)y; (void)o; (void)n; }
#endif
