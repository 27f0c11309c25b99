import COpenBLAS

/// The eigendecomposition A = Σ_k λ_k v_k v_kᵀ of a real symmetric n×n matrix, via LAPACK `dsyevd`
/// (divide and conquer; OpenBLAS bundles it).
///
/// Why symmetric eigendecompositions and not a general matrix square root: covariances are symmetric
/// positive semidefinite, so their eigenvalues are real and their eigenvectors orthonormal. That avoids
/// the complex arithmetic and "imaginary component" failures of `scipy.linalg.sqrtm` on the
/// non-symmetric product Σ1·Σ2 (pytorch-fid #13, #100).
struct SymmetricEigen {
    /// Eigenvalues in ascending order.
    let values: [Double]
    /// Eigenvectors, one per row: v_k is `vectors[k*n ..< (k+1)*n]` (empty when not requested).
    let vectors: [Double]
    let n: Int

    /// Decomposes `matrix` (n×n, row-major; only symmetry is assumed, both triangles must agree).
    /// With `vectors: false` only the eigenvalues are computed, which is cheaper.
    init(_ matrix: [Double], n: Int, vectors wantVectors: Bool = true) throws {
        precondition(matrix.count == n * n, "SymmetricEigen: \(matrix.count) values for n = \(n)")
        self.n = n
        if n == 0 { values = []; vectors = []; return }
        var a = matrix
        var w = [Double](repeating: 0, count: n)
        var jobz: CChar = wantVectors ? 86 /* V */ : 78 /* N */
        var uplo: CChar = 85 /* U */
        var nn = Int32(n), lda = Int32(n), info: Int32 = 0
        // Workspace query first (lwork = liwork = -1), then the real call.
        var lworkQ = Int32(-1), liworkQ = Int32(-1)
        var workQ = [Double](repeating: 0, count: 1), iworkQ = [Int32](repeating: 0, count: 1)
        dsyevd_(&jobz, &uplo, &nn, &a, &lda, &w, &workQ, &lworkQ, &iworkQ, &liworkQ, &info)
        guard info == 0 else { throw EvalError.lapack(routine: "dsyevd (workspace query)", info: Int(info)) }
        var lwork = Int32(max(1, Int(workQ[0].rounded(.up))))
        var liwork = max(1, iworkQ[0])
        var work = [Double](repeating: 0, count: Int(lwork))
        var iwork = [Int32](repeating: 0, count: Int(liwork))
        dsyevd_(&jobz, &uplo, &nn, &a, &lda, &w, &work, &lwork, &iwork, &liwork, &info)
        guard info == 0 else { throw EvalError.lapack(routine: "dsyevd", info: Int(info)) }
        values = w
        // LAPACK is column-major: column k of the result is v_k, which in memory is row k here.
        vectors = wantVectors ? a : []
    }
}
