import CBF16
import COpenBLAS

/// C = alpha * op(A) * op(B) + beta * C, row-major, on raw buffers, always in fp32 (OpenBLAS).
/// op(A) is [m, k], op(B) is [k, n], C is [m, n]; `lda`, `ldb`, `ldc` default to packed rows.
/// The numeric core's layers call `gemm`, which honours `ComputePrecision`; this stays fp32 for code
/// whose numbers must not change with it (distances in Eval, the sgemm benchmark).
@inline(__always)
public func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                  alpha: Float = 1, a: UnsafePointer<Float>, lda: Int? = nil,
                  b: UnsafePointer<Float>, ldb: Int? = nil,
                  beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int? = nil) {
    let la = lda ?? (transA ? m : k)
    let lb = ldb ?? (transB ? k : n)
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(la), b, Int32(lb), beta, c, Int32(ldc ?? n))
}

/// `sgemm`'s contract in the active `ComputePrecision`: fp32 through OpenBLAS, or bf16 operands with
/// fp32 accumulation through the AVX512_BF16 kernel (`cbf16_gemm`) when the shape can use it: at least 8
/// rows and 16 columns and a depth of 16 (measured: with fewer, the kernel's 8x32 tile and operand packing
/// cost more than the halved multiply time; the UNet's 1-channel conv_in / conv_out GEMMs ran 2-7x slower).
/// The choice may only depend on dimensions that do not change with the thread count: call sites that split
/// the rows over threads pass `rowsSplit` (then `m` is not consulted).
@inline(__always)
public func gemm(rowsSplit: Bool = false, transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                 alpha: Float = 1, a: UnsafePointer<Float>, lda: Int? = nil,
                 b: UnsafePointer<Float>, ldb: Int? = nil,
                 beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int? = nil) {
    if ComputePrecision.active == .fp32 || n < 16 || k < 16 || (!rowsSplit && m < 8) {
        sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
              beta: beta, c: c, ldc: ldc)
        return
    }
    bf16gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
             beta: beta, c: c, ldc: ldc)
}

/// `sgemm`'s contract with bf16-rounded operands and fp32 accumulation (needs `ComputePrecision.bf16Available`).
public func bf16gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                     alpha: Float = 1, a: UnsafePointer<Float>, lda: Int? = nil,
                     b: UnsafePointer<Float>, ldb: Int? = nil,
                     beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int? = nil) {
    let la = lda ?? (transA ? m : k)
    let lb = ldb ?? (transB ? k : n)
    cbf16_gemm(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, a, Int32(la), b, Int32(lb),
               beta, c, Int32(ldc ?? n))
}
