#pragma once

/// 1 when this CPU and OS run AVX-512F and BMI2 code (cpuid and the OS saving zmm state), else 0.
int cconv_available(void);

/// Winograd F(m x m, 3 x 3) data transforms of one image, m = 2 or 4, in AVX-512: the same operations in the
/// same order as TensorCore's Swift transforms (bit-identical results), with the zero padding read as masked
/// loads instead of a padded copy. Tiles are numbered ty * tilesW + tx, tilesW = ceil(w / m).
/// Only call when cconv_available() is 1.

/// v[xi * xiStride + c * ld + col0 + tile] = (Bᵀ d B)[xi] for the alpha x alpha tiles (pad 1) of x[c][h][w].
void cwino_input(const float *x, int channels, int h, int w, int m,
                 float *v, long xiStride, long ld, long col0);

/// out[c][h][w] = Aᵀ M A (rows and columns past the image dropped) for mm[xi * xiStride + c * tiles + tile],
/// then, with `bias`: (value + bias[c]) + sampleBias[c] and residual[c] + that (each optional, NULL to skip),
/// rounded as TensorCore's conv epilogue. Without `bias` the value is stored as it is.
void cwino_output(const float *mm, int channels, int h, int w, int m, long xiStride,
                  const float *bias, const float *sampleBias, const float *residual, float *out);

/// out[xi * xiStride + c * ld + col0 + tile] = (A dy Aᵀ)[xi] for the m x m tiles of dy[c][h][w] (zero past it).
void cwino_grad(const float *dy, int channels, int h, int w, int m,
                float *out, long xiStride, long ld, long col0);

/// im2col of one image x[cin][h][w] for a k x k conv with stride 1 or 2 and padding `pad`:
/// cols[(c * k + i) * k + j][oh * wo + ow] = x[c][oh * stride - pad + i][ow * stride - pad + j] (0 outside),
/// rows `ld` floats apart (TensorCore's `im2col`, same values). Only call when cconv_available() is 1.
void cconv_im2col(const float *x, int cin, int h, int w, int k, int stride, int pad, float *cols, long ld);

/// The adjoint: dx[c][ih][iw] += cols[...] for every column that read it, in the order of TensorCore's
/// `col2imAdd` (c, i, j, oh), so every element receives the same additions in the same order (same bits).
void cconv_col2im_add(const float *cols, int cin, int h, int w, int k, int stride, int pad, float *dx, long ld);

/// o[i] = SiLU(x[i] * a + b) for i < count: TensorCore's `normSiluRow` (GroupNorm's apply pass with its SiLU),
/// the same operations per element (bit-identical). Only call when cconv_available() is 1.
void cconv_norm_silu_row(const float *x, float *o, long count, float a, float b);

/// dz[i] = dy[i] * e * (1 + z * (1 - e)), e = sigmoid(z), z = ((x[i] - mean) * rstd) * gamma + beta: TensorCore's
/// `siluGradRow` (bit-identical). Only call when cconv_available() is 1.
void cconv_silu_grad_row(const float *x, const float *dy, float *dz, long count, float mean, float rstd,
                         float gamma, float beta);

/// 1 when this CPU and OS run AVX2 code, else 0.
int cwino2_available(void);

/// cwino_input, cwino_output and cwino_grad in AVX2 (winograd_avx2.c): the same contracts and the same bits.
/// Only call when cwino2_available() is 1.
void cwino2_input(const float *x, int channels, int h, int w, int m,
                  float *v, long xiStride, long ld, long col0);
void cwino2_output(const float *mm, int channels, int h, int w, int m, long xiStride,
                   const float *bias, const float *sampleBias, const float *residual, float *out);
void cwino2_grad(const float *dy, int channels, int h, int w, int m,
                 float *out, long xiStride, long ld, long col0);

/// 1 when this CPU and OS run AVX2 and FMA code, else 0.
int cwino2_gemm_available(void);

/// C[m][n] = A[m][k] · B[k][n], row-major and dense (lda = k, ldb = ldc = n), every element one fused
/// multiply-add chain over k in order from zero (winograd_gemm_avx2.c). `at` is A transposed ([k][m]), read
/// only when n % 8 != 0. Only call when cwino2_gemm_available() is 1.
void cwino2_gemm(long m, long n, long k, const float *a, const float *at, const float *b, float *c);

/// dst[c * rows + r] = src[r * cols + c] (8 x 8 blocks in registers where the CPU has AVX2).
void cwino2_transpose(long rows, long cols, const float *src, float *dst);
