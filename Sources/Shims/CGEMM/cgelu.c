// GELU and its pullback on AVX-512F with the lane arithmetic of TensorCore's FastMath.swift `exp8` and
// TransformerKernels.swift `gelu8` / `geluGrad8`, operation for operation (see cgelu.h). Intrinsics only,
// and contraction off: a multiply and an add must stay two roundings where the Swift code has two.
#include "cgelu.h"
#include "cgemm.h"
#pragma STDC FP_CONTRACT OFF

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#include "exp16.h"

static const float k0 = 0.7978845608028654f, k1 = 0.044715f;

// gelu8: v / (1 + exp(-2 k0 (v + (k1 v) v v))).
LANES __m512 gelu16(__m512 v) {
    __m512 a = _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(k1), v), v);
    __m512 m2u = _mm512_mul_ps(_mm512_set1_ps(-2 * k0), _mm512_fmadd_ps(a, v, v));
    return _mm512_div_ps(v, _mm512_add_ps(_mm512_set1_ps(1.0f), exp16(m2u)));
}

// geluGrad8: g (s + (v s (1 - s)) du2), s = 1 / (1 + exp(-2u)), du2 = 2 k0 (1 + 3 k1 v²).
LANES __m512 gelu_grad16(__m512 v, __m512 g) {
    __m512 v2 = _mm512_mul_ps(v, v);
    __m512 m2u = _mm512_mul_ps(_mm512_set1_ps(-2 * k0), _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(k1), v2), v, v));
    __m512 one = _mm512_set1_ps(1.0f);
    __m512 s = _mm512_div_ps(one, _mm512_add_ps(one, exp16(m2u)));
    __m512 du2 = _mm512_mul_ps(_mm512_set1_ps(2 * k0), _mm512_add_ps(one, _mm512_mul_ps(_mm512_set1_ps(3 * k1), v2)));
    __m512 vs1s = _mm512_mul_ps(_mm512_mul_ps(v, s), _mm512_sub_ps(one, s));
    return _mm512_mul_ps(g, _mm512_fmadd_ps(vs1s, du2, s));
}

__attribute__((target("avx512f"))) void cgelu_forward(const float *x, float *out, long n) {
    long i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 y0 = gelu16(_mm512_loadu_ps(x + i)), y1 = gelu16(_mm512_loadu_ps(x + i + 16));
        _mm512_storeu_ps(out + i, y0); _mm512_storeu_ps(out + i + 16, y1);
    }
    for (; i < n; i += 16) {
        __mmask16 m = (__mmask16)(n - i >= 16 ? 0xffffu : (1u << (n - i)) - 1u);
        _mm512_mask_storeu_ps(out + i, m, gelu16(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

__attribute__((target("avx512f"))) void cgelu_backward(const float *x, const float *g, float *dx, long n) {
    long i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 d0 = gelu_grad16(_mm512_loadu_ps(x + i), _mm512_loadu_ps(g + i));
        __m512 d1 = gelu_grad16(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(g + i + 16));
        _mm512_storeu_ps(dx + i, d0); _mm512_storeu_ps(dx + i + 16, d1);
    }
    for (; i < n; i += 16) {
        __mmask16 m = (__mmask16)(n - i >= 16 ? 0xffffu : (1u << (n - i)) - 1u);
        _mm512_mask_storeu_ps(dx + i, m, gelu_grad16(_mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, g + i)));
    }
}

#else
void cgelu_forward(const float *x, float *out, long n) { (void)x; (void)out; (void)n; }
void cgelu_backward(const float *x, const float *g, float *dx, long n) { (void)x; (void)g; (void)dx; (void)n; }
#endif
