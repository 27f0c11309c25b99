#pragma once
#include <cblas.h>
// Debian's libopenblas exports LAPACK but ships no LAPACKE header: declare the one routine we use.
// Symmetric eigendecomposition (divide and conquer), Fortran calling convention.
extern void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
                    double *w, double *work, const int *lwork, int *iwork, const int *liwork, int *info);

// glibc allocator tuning for the numeric core (TensorCore's only C import, so it lives here):
// keep activation-sized blocks on the heap instead of mmap/munmap per allocation.
#include <malloc.h>
static inline void fs_keep_allocations_on_heap(void) {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);   /* glibc's maximum on 64-bit */
    mallopt(M_TRIM_THRESHOLD, 0x7fffffff);
    mallopt(M_TOP_PAD, 64 << 20);
}
