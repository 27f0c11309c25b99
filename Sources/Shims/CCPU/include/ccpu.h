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
