import COpenBLAS

/// C = alpha * op(A) * op(B) + beta * C, row-major, on raw buffers.
/// op(A) is [m, k], op(B) is [k, n], C is [m, n]; `lda`, `ldb`, `ldc` default to packed rows.
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
