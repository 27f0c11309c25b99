// The 16-lane copy of TensorCore's FastMath.swift `exp8`, operation for operation (same bits per lane), for
// the AVX-512 kernels that replace 8-lane Swift passes (cgelu.c, cexp.c). Include only from x86-64 code.
#pragma once
#pragma STDC FP_CONTRACT OFF
#include <immintrin.h>
#define LANES static inline __attribute__((target("avx512f"), always_inline))

// exp8: clamp by compare + blend, n = round(x / ln2) by the 1.5 * 2^23 trick, a degree-6 polynomial in FMAs.
LANES __m512 exp16(__m512 x0) {
    __m512 x = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x0, _mm512_set1_ps(-87.3f), _CMP_LT_OQ), x0, _mm512_set1_ps(-87.3f));
    x = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(88.3f), _CMP_GT_OQ), x, _mm512_set1_ps(88.3f));
    __m512 magic = _mm512_set1_ps(12582912.0f);
    __m512 t = _mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504f), magic);
    __m512 n = _mm512_sub_ps(t, magic);
    __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(-0.693359375f), x);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.1219444e-4f), r);
    __m512 p = _mm512_set1_ps(1.98756915e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.39819995e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665796e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.66666655e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    __m512i ni = _mm512_sub_epi32(_mm512_castps_si512(t), _mm512_set1_epi32(0x4B400000));
    __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(ni, _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(bits));
}

