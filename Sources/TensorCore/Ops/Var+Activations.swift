import Foundation

/// SiLU (swish): x * sigmoid(x).
public func silu(_ x: Var) -> Var {
    let xv = x.value
    return x.tape.record(siluForward(xv), parents: [x]) { g, _ in
        // d/dx x*s(x) = s(x) * (1 + x * (1 - s(x)))
        let n = xv.count
        let dx = [Float].uninitialized(n) { out in
            xv.data.withUnsafeBufferPointer { xp in
                g.data.withUnsafeBufferPointer { gp in
                    let (xb, gb, ob) = (UnsafeSendable(xp.baseAddress!), UnsafeSendable(gp.baseAddress!), UnsafeSendable(out))
                    elementwiseChunks(n) { r in siluBackwardRange(xb.value, gb.value, ob.value, r) }
                }
            }
        }
        return [Tensor(shape: xv.shape, data: dx)]
    }
}

/// SiLU on a plain tensor (inference paths and the kernel behind `silu`).
public func siluForward(_ x: Tensor) -> Tensor {
    let n = x.count
    let out = [Float].uninitialized(n) { op in
        x.data.withUnsafeBufferPointer { xp in
            let (xb, ob) = (UnsafeSendable(xp.baseAddress!), UnsafeSendable(op))
            elementwiseChunks(n) { r in siluRange(xb.value, ob.value, r) }
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
