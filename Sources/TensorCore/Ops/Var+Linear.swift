/// Matrix product of [m, k] and [k, n] (or [n, k] with `transposeB`).
public func matmul(_ a: Var, _ b: Var, transposeB: Bool = false) -> Var {
    let (av, bv) = (a.value, b.value)
    precondition(av.rank == 2 && bv.rank == 2, "matmul: \(av.shape) x \(bv.shape)")
    let (m, k) = (av.shape[0], av.shape[1])
    let n = transposeB ? bv.shape[0] : bv.shape[1]
    precondition((transposeB ? bv.shape[1] : bv.shape[0]) == k, "matmul: \(av.shape) x \(bv.shape) (transposeB: \(transposeB))")
    let out = matmulKernel(av, bv, transA: false, transB: transposeB, m: m, n: n, k: k)
    return a.tape.record(out, parents: [a, b]) { g, needs in
        // dA = g·op(B)^T ; dB = A^T·g (or g^T·A when B was transposed)
        let da = needs[0] ? matmulKernel(g, bv, transA: false, transB: !transposeB, m: m, n: k, k: n) : nil
        let db: Tensor? = needs[1]
            ? (transposeB ? matmulKernel(g, av, transA: true, transB: false, m: n, n: k, k: m)
                          : matmulKernel(av, g, transA: true, transB: false, m: k, n: n, k: m))
            : nil
        return [da, db]
    }
}

/// y = x·Wᵀ + b, PyTorch `nn.Linear` layout: weight [out, in], bias [out].
/// Fewer than `linearMinimumRows` rows are multiplied as that many (zero rows appended, dropped after).
public func linear(_ x: Var, weight: Var, bias: Var?) -> Var {
    let y = x.value.rank == 2 && x.value.shape[0] < linearMinimumRows
        ? matmulPaddedRows(x, weight) : matmul(x, weight, transposeB: true)
    return bias.map { addBias(y, $0) } ?? y
}

/// The fewest rows a linear layer's product runs on. A sample's row must have the same bits alone as in a
/// full group of 8 (`VelocityModel` evaluates a partial group without padding samples): BLAS picks its
/// kernel by the row count, and `gemm` sends fewer than 8 rows to fp32 in the bf16 mode, so products of
/// 1...7 rows are computed as 8. Costs nothing measurable (the embedding MLPs are ~2% of a lone sample).
public let linearMinimumRows = 8

/// x·Wᵀ for x with fewer than `linearMinimumRows` rows, computed on that many rows; the pullback is
/// `matmul`'s (the padding rows carry no gradient).
func matmulPaddedRows(_ x: Var, _ weight: Var) -> Var {
    let (xv, wv) = (x.value, weight.value)
    let (m, k, n) = (xv.shape[0], xv.shape[1], wv.shape[0])
    precondition(wv.rank == 2 && wv.shape[1] == k, "linear: \(xv.shape) x \(wv.shape)ᵀ")
    let padded = Tensor(shape: [linearMinimumRows, k], data: xv.data + [Float](repeating: 0, count: (linearMinimumRows - m) * k))
    let full = matmulKernel(padded, wv, transA: false, transB: true, m: linearMinimumRows, n: n, k: k)
    let out = Tensor(shape: [m, n], data: Array(full.data[0..<(m * n)]))
    return x.tape.record(out, parents: [x, weight]) { g, needs in
        let da = needs[0] ? matmulKernel(g, wv, transA: false, transB: false, m: m, n: k, k: n) : nil
        let db = needs[1] ? matmulKernel(g, xv, transA: true, transB: false, m: n, n: k, k: m) : nil
        return [da, db]
    }
}

func matmulKernel(_ a: Tensor, _ b: Tensor, transA: Bool, transB: Bool, m: Int, n: Int, k: Int) -> Tensor {
    var out = [Float](repeating: 0, count: m * n)
    a.data.withUnsafeBufferPointer { ap in
        b.data.withUnsafeBufferPointer { bp in
            out.withUnsafeMutableBufferPointer { op in
                gemm(transA: transA, transB: transB, m: m, n: n, k: k,
                      a: ap.baseAddress!, b: bp.baseAddress!, c: op.baseAddress!)
            }
        }
    }
    return Tensor(shape: [m, n], data: out)
}
