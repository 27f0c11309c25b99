// Attention's dS pass on AVX-512F (see cattention.h): 16 lanes per step and a masked tail, where the Swift
// code checked for a partial chunk every eight values.
#include "cattention.h"
#pragma STDC FP_CONTRACT OFF

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

__attribute__((target("avx512f"))) void cattn_softmax_pullback(const float *p, float *dp, int t, const float *rowDot) {
    for (int i = 0; i < t; i++) {
        const float *pr = p + (long)i * t;
        float *dr = dp + (long)i * t;
        __m512 di = _mm512_set1_ps(rowDot[i]);
        int j = 0;
        for (; j + 16 <= t; j += 16)
            _mm512_storeu_ps(dr + j, _mm512_mul_ps(_mm512_loadu_ps(pr + j), _mm512_sub_ps(_mm512_loadu_ps(dr + j), di)));
        if (j < t) {
            __mmask16 k = (__mmask16)((1u << (t - j)) - 1u);
            __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, pr + j), _mm512_sub_ps(_mm512_maskz_loadu_ps(k, dr + j), di));
            _mm512_mask_storeu_ps(dr + j, k, v);
        }
    }
}

void cattn_prefetch(const float *p, int count, long stride, int floats) {
    for (int i = 0; i < count; i++) {
        const char *c = (const char *)(p + i * stride);
        for (long o = 0; o < (long)floats * 4; o += 64) _mm_prefetch(c + o, _MM_HINT_T1);
    }
}

#else
void cattn_prefetch(const float *p, int count, long stride, int floats) { (void)p; (void)count; (void)stride; (void)floats; }
void cattn_softmax_pullback(const float *p, float *dp, int t, const float *rowDot) { (void)p; (void)dp; (void)t; (void)rowDot; }
#endif
