// The FMA units' peak (docs/performance.md's roofline): independent multiply-add chains in registers, no memory
// traffic, enough chains to cover the latency on every core this project meets (Zen 3/4: 4 cycles, 2 pipes).
// Written in assembly so the compiler can neither merge the identical chains nor drop them.
#include "ccpu.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))

#define FMA_Y(i) "vfmadd231ps %%ymm14, %%ymm15, %%ymm" #i "\n\t"
#define FMA_Z(i) "vfmadd231ps %%zmm30, %%zmm31, %%zmm" #i "\n\t"
#define DP_Z(i) "vdpbf16ps %%zmm30, %%zmm31, %%zmm" #i "\n\t"
#define CLOBBER_Y "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", \
                  "xmm11", "xmm14", "xmm15"
#define CLOBBER_Z "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", \
                  "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", \
                  "xmm21", "xmm22", "xmm23", "xmm30", "xmm31"

__attribute__((target("avx2,fma"))) double ccpu_fma_rounds_avx2(long rounds) {
    long k = rounds;
    __asm__ volatile(
        "vxorps %%ymm14, %%ymm14, %%ymm14\n\t" "vxorps %%ymm15, %%ymm15, %%ymm15\n\t"
        "1:\n\t"
        FMA_Y(0) FMA_Y(1) FMA_Y(2) FMA_Y(3) FMA_Y(4) FMA_Y(5) FMA_Y(6) FMA_Y(7) FMA_Y(8) FMA_Y(9) FMA_Y(10) FMA_Y(11)
        "dec %0\n\t" "jnz 1b\n\t"
        "vzeroupper\n\t"
        : "+r"(k) : : CLOBBER_Y, "cc");
    return (double)rounds * 12 * 8 * 2;
}

__attribute__((target("avx512f"))) double ccpu_fma_rounds_avx512(long rounds) {
    long k = rounds;
    __asm__ volatile(
        "vpxord %%zmm30, %%zmm30, %%zmm30\n\t" "vpxord %%zmm31, %%zmm31, %%zmm31\n\t"
        "1:\n\t"
        FMA_Z(0) FMA_Z(1) FMA_Z(2) FMA_Z(3) FMA_Z(4) FMA_Z(5) FMA_Z(6) FMA_Z(7) FMA_Z(8) FMA_Z(9) FMA_Z(10) FMA_Z(11)
        FMA_Z(12) FMA_Z(13) FMA_Z(14) FMA_Z(15) FMA_Z(16) FMA_Z(17) FMA_Z(18) FMA_Z(19) FMA_Z(20) FMA_Z(21) FMA_Z(22) FMA_Z(23)
        "dec %0\n\t" "jnz 1b\n\t"
        "vzeroupper\n\t"
        : "+r"(k) : : CLOBBER_Z, "cc");
    return (double)rounds * 24 * 16 * 2;
}

__attribute__((target("avx512f,avx512bf16"))) double ccpu_dpbf16_rounds(long rounds) {
    long k = rounds;
    __asm__ volatile(
        "vpxord %%zmm30, %%zmm30, %%zmm30\n\t" "vpxord %%zmm31, %%zmm31, %%zmm31\n\t"
        "1:\n\t"
        DP_Z(0) DP_Z(1) DP_Z(2) DP_Z(3) DP_Z(4) DP_Z(5) DP_Z(6) DP_Z(7) DP_Z(8) DP_Z(9) DP_Z(10) DP_Z(11)
        DP_Z(12) DP_Z(13) DP_Z(14) DP_Z(15) DP_Z(16) DP_Z(17) DP_Z(18) DP_Z(19) DP_Z(20) DP_Z(21) DP_Z(22) DP_Z(23)
        "dec %0\n\t" "jnz 1b\n\t"
        "vzeroupper\n\t"
        : "+r"(k) : : CLOBBER_Z, "cc");
    return (double)rounds * 24 * 16 * 2 * 2;   // 16 lanes, each the sum of 2 bf16 products
}

#else
double ccpu_fma_rounds_avx2(long rounds) { (void)rounds; return 0; }
double ccpu_fma_rounds_avx512(long rounds) { (void)rounds; return 0; }
double ccpu_dpbf16_rounds(long rounds) { (void)rounds; return 0; }
#endif
