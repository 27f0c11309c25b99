import Foundation

/// SiLU (swish): x * sigmoid(x).
public func silu(_ x: Var) -> Var {
    let xv = x.value
    return x.tape.record(siluForward(xv), parents: [x]) { g, _ in
        // d/dx x*s(x) = s(x) * (1 + x * (1 - s(x)))
        [g.zipMap(xv) { gv, v in
            let s = 1 / (1 + expf(-v))
            return gv * s * (1 + v * (1 - s))
        }]
    }
}

/// SiLU on a plain tensor (inference paths and the kernel behind `silu`).
public func siluForward(_ x: Tensor) -> Tensor {
    var out = [Float](repeating: 0, count: x.count)
    x.data.withUnsafeBufferPointer { xp in
        out.withUnsafeMutableBufferPointer { op in
            let xb = UnsafeSendable(xp.baseAddress!), ob = UnsafeSendable(op.baseAddress!)
            elementwiseChunks(x.count) { r in
                for i in r { ob.value[i] = siluScalar(xb.value[i]) }
            }
        }
    }
    return Tensor(shape: x.shape, data: out)
}

/// ReLU: max(x, 0). The gradient at exactly 0 is 0, as in PyTorch.
public func relu(_ x: Var) -> Var {
    let xv = x.value
    return x.tape.record(xv.map { max($0, 0) }, parents: [x]) { g, _ in
        [g.zipMap(xv) { gv, v in v > 0 ? gv : 0 }]
    }
}
