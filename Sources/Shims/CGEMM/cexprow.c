// The softmax row pass of attention on AVX-512F (see cexprow.h): 16 exps per step where the Swift code did
// 8 and spilled registers; the partial sums keep the 8-lane accumulation order.
#include "cexprow.h"
#pragma STDC FP_CONTRACT OFF

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include "exp16.h"

__attribute__((target("avx512f"))) float cexp_row(float *p, int n, float partials[8]) {
    // The max: compare + blend as `max8`, then the lanes and the scalar tail. The maximum of the values
    // does not depend on the order they are compared in (ties of -0 and +0 give the same exps).
    __m512 mv = _mm512_set1_ps(-__builtin_inff());
    int t = 0;
    for (; t + 16 <= n; t += 16) { __m512 v = _mm512_loadu_ps(p + t); mv = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, mv, _CMP_GT_OQ), mv, v); }
    float lanes[16], m = -__builtin_inff();
    _mm512_storeu_ps(lanes, mv);
    for (int i = 0; i < 16; i++) if (lanes[i] > m) m = lanes[i];
    for (; t < n; t++) if (p[t] >= m) m = p[t];
    __m512 m16 = _mm512_set1_ps(m);
    __m256 s8 = _mm256_setzero_ps();
    t = 0;
    for (; t + 16 <= n; t += 16) {
        __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(p + t), m16));
        _mm512_storeu_ps(p + t, e);
        s8 = _mm256_add_ps(s8, _mm512_castps512_ps256(e));
        s8 = _mm256_add_ps(s8, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1)));
    }
    if (t < n) {
        // The last 1..15 values: whole chunks of eight, then the zero-padded tail, in order.
        __mmask16 k = (__mmask16)((1u << (n - t)) - 1u);
        __m512 e = _mm512_maskz_mov_ps(k, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, p + t), m16)));
        _mm512_mask_storeu_ps(p + t, k, e);
        s8 = _mm256_add_ps(s8, _mm512_castps512_ps256(e));
        if (n - t > 8) s8 = _mm256_add_ps(s8, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1)));
    }
    _mm256_storeu_ps(partials, s8);
    return m;
}

#else
float cexp_row(float *p, int n, float partials[8]) { (void)p; (void)n; for (int i = 0; i < 8; i++) partials[i] = 0; return 0; }
#endif
