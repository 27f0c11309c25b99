// One cpuid probe for every shim that picks a kernel at run time (SHA-NI, AVX-512 conv, AVX512_BF16).
#include "ccpu.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <cpuid.h>

static unsigned probe(void) {
    unsigned a, b, c, d, f = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (c & (1u << 9)) f |= CCPU_SSSE3;
    if (c & (1u << 19)) f |= CCPU_SSE41;
    int zmmState = 0, ymmState = 0;
    if (c & (1u << 27)) {                                    // OSXSAVE: XCR0 is readable
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        zmmState = (lo & 0xe6u) == 0xe6u;                    // XMM, YMM, opmask, ZMM saved by the OS
        ymmState = (lo & 0x6u) == 0x6u;                      // XMM, YMM
    }
    if (ymmState && (c & (1u << 12))) f |= CCPU_FMA;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        if (b & (1u << 29)) f |= CCPU_SHA;
        if (b & (1u << 8)) f |= CCPU_BMI2;
        if (ymmState && (b & (1u << 5))) f |= CCPU_AVX2;
        if (zmmState && (b & (1u << 16))) f |= CCPU_AVX512F;
        if (zmmState && (b & (1u << 30))) f |= CCPU_AVX512BW;
        if (zmmState && __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 5))) f |= CCPU_AVX512_BF16;
    }
    return f;
}

unsigned ccpu_features(void) {
    static int cached = -1;   // benign race: every thread computes the same value
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v >= 0) return (unsigned)v;
    unsigned f = probe();
    __atomic_store_n(&cached, (int)f, __ATOMIC_RELAXED);
    return f;
}
#else
unsigned ccpu_features(void) { return 0; }
#endif
