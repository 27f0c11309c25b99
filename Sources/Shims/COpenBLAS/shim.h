#pragma once
#include <cblas.h>
// Debian's libopenblas exports LAPACK but ships no LAPACKE header: declare the one routine we use.
// Symmetric eigendecomposition (divide and conquer), Fortran calling convention.
extern void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
                    double *w, double *work, const int *lwork, int *iwork, const int *liwork, int *info);

// glibc allocator tuning for the numeric core (TensorCore's only C import, so it lives here):
// keep activation-sized blocks on the heap instead of mmap/munmap per allocation. The threshold
// alone stops at 32 MB (glibc's maximum), and a batch-128 activation of 96 x 28 x 28 is 38.5 MB, so
// mmap is switched off altogether (M_MMAP_MAX 0); one arena keeps the worker threads' blocks in the
// same never-trimmed heap (a per-thread arena gives freed pages back and faults them in again).
#include <malloc.h>
static inline void fs_keep_allocations_on_heap(void) {
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_TRIM_THRESHOLD, 0x7fffffff);
    mallopt(M_TOP_PAD, 64 << 20);
}

// Debian's OpenBLAS 0.3.21 is built DYNAMIC_ARCH and picks its "Zen" kernel set on AMD Zen; the
// Haswell set in the same library (same AVX2/FMA code, other blocking) is faster on the small,
// low-K GEMMs of the conv layers (docs/performance.md). OPENBLAS_CORETYPE is read only when the
// library loads, so re-run the library's core selection with it set. No-op when the variable is
// already set, on other cores, or when the library lacks the (DYNAMIC_ARCH-only) entry points.
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
static inline int fs_prefer_haswell_blas_kernels(void) {
    if (getenv("OPENBLAS_CORETYPE") != NULL) return 0;
    const char *core = openblas_get_corename();
    if (core == NULL || strcasecmp(core, "zen") != 0) return 0;
    void (*quit)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "gotoblas_dynamic_quit");
    void (*init)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "gotoblas_dynamic_init");
    if (quit == NULL || init == NULL) return 0;
    setenv("OPENBLAS_CORETYPE", "Haswell", 1);
    quit();
    init();
    return 1;
}
