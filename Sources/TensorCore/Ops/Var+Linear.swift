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
public func linear(_ x: Var, weight: Var, bias: Var?) -> Var {
    let y = matmul(x, weight, transposeB: true)
    return bias.map { addBias(y, $0) } ?? y
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
