#pragma once

/// CPU features the run-time kernel choices need (cpuid once, cached). The AVX-512 bits are set only when
/// the OS also saves the ZMM and opmask state (XCR0), the AVX2 and FMA bits only when it saves the YMM state,
/// so a set bit means the instructions can really run.
enum {
    CCPU_SSSE3 = 1u << 0, CCPU_SSE41 = 1u << 1, CCPU_SHA = 1u << 2, CCPU_BMI2 = 1u << 3,
    CCPU_AVX512F = 1u << 4, CCPU_AVX512BW = 1u << 5, CCPU_AVX512_BF16 = 1u << 6,
    CCPU_AVX2 = 1u << 7, CCPU_FMA = 1u << 8,   // with the OS's YMM state
};

/// The CCPU_ bits of this CPU (0 on other architectures).
unsigned ccpu_features(void);

/// 1 when every bit of `mask` is in ccpu_features().
static inline int ccpu_has(unsigned mask) { return (ccpu_features() & mask) == mask; }

/// The FMA peak probes (cpeak.c; `fs-bench --only peak`): `rounds` rounds of independent multiply-add chains held
/// in registers, returning the floating-point operations done (a multiply-add counts 2). Call each only when
/// ccpu_has says its instructions run: AVX2 + FMA (12 chains of 8 fp32 lanes), AVX-512F (24 chains of 16), and
/// AVX512_BF16's vdpbf16ps (24 chains of 16 lanes, 2 bf16 products each). 0 on other architectures.
double ccpu_fma_rounds_avx2(long rounds);
double ccpu_fma_rounds_avx512(long rounds);
double ccpu_dpbf16_rounds(long rounds);
