// GroupNorm's apply pass with the SiLU that follows it (TensorCore's normSiluRow: o = z * sigmoid(z),
// z = x * a + b) and the SiLU pullback of its backward (siluGradRow) in AVX-512. The Swift row runs eight lanes at a time and is latency-bound on the exp and
// divide chain (8.6% of a UNet forward); here sixteen lanes and four independent vectors per step. Every
// element goes through the same operations in the same order as the Swift code (exp8 in FastMath.swift: its
// fused multiply-adds are fused here too, its separate ones separate; -ffp-contract=off), so the results are
// bit-identical (tested), and the constants are the bit patterns of the Swift literals.
#include "cconv.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

#define K __attribute__((target("avx512f")))
#define KI __attribute__((target("avx512f"), always_inline)) static inline
typedef __m512 V;

KI V bits(unsigned u) { return _mm512_castsi512_ps(_mm512_set1_epi32((int)u)); }

// FastMath.swift's exp8, lane for lane.
KI V exp16(V x0) {
    V lo = bits(0xc2ae999au), hi = bits(0x42b0999au);   // -87.3, 88.3
    V x = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x0, lo, _CMP_LT_OQ), x0, lo);
    x = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, hi, _CMP_GT_OQ), x, hi);
    V magic = bits(0x4b400000u);                          // 1.5 * 2^23
    V t = _mm512_fmadd_ps(x, bits(0x3fb8aa3bu), magic);  // magic + x / ln2
    V n = _mm512_sub_ps(t, magic);
    V r = _mm512_fmadd_ps(n, bits(0xbf318000u), x);
    r = _mm512_fmadd_ps(n, bits(0x395e8083u), r);
    V p = bits(0x39506967u);
    p = _mm512_fmadd_ps(p, r, bits(0x3ab743ceu));
    p = _mm512_fmadd_ps(p, r, bits(0x3c088908u));
    p = _mm512_fmadd_ps(p, r, bits(0x3d2aa9c1u));
    p = _mm512_fmadd_ps(p, r, bits(0x3e2aaaaau));
    p = _mm512_fmadd_ps(p, r, bits(0x3f000000u));
    V one = _mm512_set1_ps(1.0f);
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, one));
    __m512i ni = _mm512_sub_epi32(_mm512_castps_si512(t), _mm512_set1_epi32(0x4B400000));
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(ni, _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

// z * (1 / (1 + exp(-z))), z = x * a + b.
KI V norm_silu(V x, V a, V b) {
    V z = _mm512_add_ps(_mm512_mul_ps(x, a), b);
    V nz = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(z), _mm512_set1_epi32((int)0x80000000u)));
    V one = _mm512_set1_ps(1.0f);
    return _mm512_mul_ps(z, _mm512_div_ps(one, _mm512_add_ps(one, exp16(nz))));
}

K void cconv_norm_silu_row(const float *x, float *o, long count, float a, float b) {
    V av = _mm512_set1_ps(a), bv = _mm512_set1_ps(b);
    long t = 0;
    for (; t + 64 <= count; t += 64) {
        V z0 = norm_silu(_mm512_loadu_ps(x + t), av, bv), z1 = norm_silu(_mm512_loadu_ps(x + t + 16), av, bv);
        V z2 = norm_silu(_mm512_loadu_ps(x + t + 32), av, bv), z3 = norm_silu(_mm512_loadu_ps(x + t + 48), av, bv);
        _mm512_storeu_ps(o + t, z0); _mm512_storeu_ps(o + t + 16, z1);
        _mm512_storeu_ps(o + t + 32, z2); _mm512_storeu_ps(o + t + 48, z3);
    }
    for (; t < count; t += 16) {
        long n = count - t < 16 ? count - t : 16;
        __mmask16 m = (__mmask16)((1u << n) - 1u);
        _mm512_mask_storeu_ps(o + t, m, norm_silu(_mm512_maskz_loadu_ps(m, x + t), av, bv));
    }
}

// dz = dy * e * (1 + z * (1 - e)), e = sigmoid(z), z = ((x - mean) * rstd) * gamma + beta: TensorCore's
// siluGradRow (the SiLU pullback inside GroupNorm+SiLU's backward), lane for lane.
KI V silu_grad(V x, V dy, V mu, V rv, V gv, V bv) {
    V z = _mm512_add_ps(_mm512_mul_ps(_mm512_mul_ps(_mm512_sub_ps(x, mu), rv), gv), bv);
    V nz = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(z), _mm512_set1_epi32((int)0x80000000u)));
    V one = _mm512_set1_ps(1.0f);
    V e = _mm512_div_ps(one, _mm512_add_ps(one, exp16(nz)));
    return _mm512_mul_ps(_mm512_mul_ps(dy, e), _mm512_add_ps(one, _mm512_mul_ps(z, _mm512_sub_ps(one, e))));
}

K void cconv_silu_grad_row(const float *x, const float *dy, float *dz, long count, float mean, float rstd,
                           float gamma, float beta) {
    V mu = _mm512_set1_ps(mean), rv = _mm512_set1_ps(rstd), gv = _mm512_set1_ps(gamma), bv = _mm512_set1_ps(beta);
    long t = 0;
    for (; t + 64 <= count; t += 64) {
        V d0 = silu_grad(_mm512_loadu_ps(x + t), _mm512_loadu_ps(dy + t), mu, rv, gv, bv);
        V d1 = silu_grad(_mm512_loadu_ps(x + t + 16), _mm512_loadu_ps(dy + t + 16), mu, rv, gv, bv);
        V d2 = silu_grad(_mm512_loadu_ps(x + t + 32), _mm512_loadu_ps(dy + t + 32), mu, rv, gv, bv);
        V d3 = silu_grad(_mm512_loadu_ps(x + t + 48), _mm512_loadu_ps(dy + t + 48), mu, rv, gv, bv);
        _mm512_storeu_ps(dz + t, d0); _mm512_storeu_ps(dz + t + 16, d1);
        _mm512_storeu_ps(dz + t + 32, d2); _mm512_storeu_ps(dz + t + 48, d3);
    }
    for (; t < count; t += 16) {
        long n = count - t < 16 ? count - t : 16;
        __mmask16 m = (__mmask16)((1u << n) - 1u);
        V d = silu_grad(_mm512_maskz_loadu_ps(m, x + t), _mm512_maskz_loadu_ps(m, dy + t), mu, rv, gv, bv);
        _mm512_mask_storeu_ps(dz + t, m, d);
    }
}

#else
#include <stdlib.h>
void cconv_silu_grad_row(const float *x, const float *dy, float *dz, long count, float mean, float rstd,
                         float gamma, float beta) { abort(); }
void cconv_norm_silu_row(const float *x, float *o, long count, float a, float b) { abort(); }
#endif
