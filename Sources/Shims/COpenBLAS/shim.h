#pragma once
#include <cblas.h>
// Debian's libopenblas exports LAPACK but ships no LAPACKE header: declare the one routine we use.
// Symmetric eigendecomposition (divide and conquer), Fortran calling convention.
extern void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
                    double *w, double *work, const int *lwork, int *iwork, const int *liwork, int *info);
