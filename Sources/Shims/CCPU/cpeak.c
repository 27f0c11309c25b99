// The FMA units' peak (docs/performance.md's roofline): independent multiply-add chains in registers, no memory
// traffic, enough chains to cover the latency on every core this project meets (Zen 3/4: 4 cycles, 2 pipes).
// Written in assembly so the compiler can neither merge the identical chains nor drop them.
#include "ccpu.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))

#define FMA_Y(i) "vfmadd231ps %%ymm14, %%ymm15, %%ymm" #i "\n\t"
#define FMA_Z(i) "vfmadd231ps %%zmm30, %%zmm31, %%zmm" #i "\n\t"
#define DP_Z(i) "vdpbf16ps %%zmm30, %%zmm31, %%zmm" #i "\n\t"
// The accumulators start at zero (whatever a register held could be a denormal, which some cores handle slowly).
#define ZERO_Y(i) "vxorps %%ymm" #i ", %%ymm" #i ", %%ymm" #i "\n\t"
#define ZERO_Z(i) "vpxord %%zmm" #i ", %%zmm" #i ", %%zmm" #i "\n\t"
#define CLOBBER_Y "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", \
                  "xmm11", "xmm14", "xmm15"
#define CLOBBER_Z "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", \
                  "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", \
                  "xmm21", "xmm22", "xmm23", "xmm30", "xmm31"

__attribute__((target("avx2,fma"))) double ccpu_fma_rounds_avx2(long rounds) {
    long k = rounds;
    __asm__ volatile(
        ZERO_Y(0) ZERO_Y(1) ZERO_Y(2) ZERO_Y(3) ZERO_Y(4) ZERO_Y(5) ZERO_Y(6) ZERO_Y(7) ZERO_Y(8) ZERO_Y(9) ZERO_Y(10)
        ZERO_Y(11) ZERO_Y(14) ZERO_Y(15)
        "1:\n\t"
        FMA_Y(0) FMA_Y(1) FMA_Y(2) FMA_Y(3) FMA_Y(4) FMA_Y(5) FMA_Y(6) FMA_Y(7) FMA_Y(8) FMA_Y(9) FMA_Y(10) FMA_Y(11)
        "dec %0\n\t" "jnz 1b\n\t"
        "vzeroupper\n\t"
        : "+r"(k) : : CLOBBER_Y, "cc");
    return (double)rounds * 12 * 8 * 2;
}

// `rounds` rounds of OP (a macro of a register number) on zmm0..zmm23, with zmm30 and zmm31 as the operands.
#define ZMM_ROUNDS(OP, rounds) do { \
        long k_ = (rounds); \
        __asm__ volatile( \
            ZERO_Z(0) ZERO_Z(1) ZERO_Z(2) ZERO_Z(3) ZERO_Z(4) ZERO_Z(5) ZERO_Z(6) ZERO_Z(7) ZERO_Z(8) ZERO_Z(9) \
            ZERO_Z(10) ZERO_Z(11) ZERO_Z(12) ZERO_Z(13) ZERO_Z(14) ZERO_Z(15) ZERO_Z(16) ZERO_Z(17) ZERO_Z(18) \
            ZERO_Z(19) ZERO_Z(20) ZERO_Z(21) ZERO_Z(22) ZERO_Z(23) ZERO_Z(30) ZERO_Z(31) \
            "1:\n\t" \
            OP(0) OP(1) OP(2) OP(3) OP(4) OP(5) OP(6) OP(7) OP(8) OP(9) OP(10) OP(11) \
            OP(12) OP(13) OP(14) OP(15) OP(16) OP(17) OP(18) OP(19) OP(20) OP(21) OP(22) OP(23) \
            "dec %0\n\t" "jnz 1b\n\t" \
            "vzeroupper\n\t" \
            : "+r"(k_) : : CLOBBER_Z, "cc"); \
    } while (0)

__attribute__((target("avx512f"))) double ccpu_fma_rounds_avx512(long rounds) {
    ZMM_ROUNDS(FMA_Z, rounds);
    return (double)rounds * 24 * 16 * 2;
}

__attribute__((target("avx512f,avx512bf16"))) double ccpu_dpbf16_rounds(long rounds) {
    ZMM_ROUNDS(DP_Z, rounds);
    return (double)rounds * 24 * 16 * 2 * 2;   // 16 lanes, each the sum of 2 bf16 products
}

#else
double ccpu_fma_rounds_avx2(long rounds) { (void)rounds; return 0; }
double ccpu_fma_rounds_avx512(long rounds) { (void)rounds; return 0; }
double ccpu_dpbf16_rounds(long rounds) { (void)rounds; return 0; }
#endif
