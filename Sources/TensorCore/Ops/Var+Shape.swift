import Foundation

/// The same values under a new shape.
public func reshape(_ x: Var, _ shape: [Int]) -> Var {
    let old = x.shape
    return x.tape.record(x.value.reshaped(shape), parents: [x]) { g, _ in [g.reshaped(old)] }
}

/// Concatenation of [n, ca, h, w] and [n, cb, h, w] along channels (UNet skips). Copies are split
/// over samples: serial copies between the parallel kernels left a core idle.
public func concatChannels(_ a: Var, _ b: Var) -> Var {
    let (av, bv) = (a.value, b.value)
    precondition(av.rank == 4 && bv.rank == 4 && av.shape[0] == bv.shape[0] && av.shape[2...] == bv.shape[2...],
                 "concatChannels: \(av.shape) and \(bv.shape)")
    let n = av.shape[0], sa = av.count / n, sb = bv.count / n
    let out = [Float].uninitialized(av.count + bv.count) { o in
        av.data.withUnsafeBufferPointer { ap in
            bv.data.withUnsafeBufferPointer { bp in
                let (ob, aa, bb) = (UnsafeSendable(o), UnsafeSendable(ap.baseAddress!), UnsafeSendable(bp.baseAddress!))
                parallelChunks(n) { _, r in
                    for i in r {
                        (ob.value + i * (sa + sb)).update(from: aa.value + i * sa, count: sa)
                        (ob.value + i * (sa + sb) + sa).update(from: bb.value + i * sb, count: sb)
                    }
                }
            }
        }
    }
    let shape = [n, av.shape[1] + bv.shape[1], av.shape[2], av.shape[3]]
    return a.tape.record(Tensor(shape: shape, data: out), parents: [a, b]) { g, needs in
        /// The `part` (0: a, 1: b) of every sample of g.
        func slice(_ part: Int) -> [Float] {
            let (off, len) = part == 0 ? (0, sa) : (sa, sb)
            return [Float].uninitialized(n * len) { o in
                g.data.withUnsafeBufferPointer { gp in
                    let (ob, gb) = (UnsafeSendable(o), UnsafeSendable(gp.baseAddress!))
                    parallelChunks(n) { _, r in
                        for i in r { (ob.value + i * len).update(from: gb.value + i * (sa + sb) + off, count: len) }
                    }
                }
            }
        }
        return [needs[0] ? Tensor(shape: av.shape, data: slice(0)) : nil,
                needs[1] ? Tensor(shape: bv.shape, data: slice(1)) : nil]
    }
}

/// Source index of PyTorch's `interpolate(mode="nearest", size=)`: floor(dst * in/out) in float32.
@inline(__always) func nearestSource(_ dst: Int, inSize: Int, outSize: Int) -> Int {
    let scale = Float(inSize) / Float(outSize)
    return min(Int(floorf(Float(dst) * scale)), inSize - 1)
}

/// Nearest-neighbour resize of [n, c, h, w] to [n, c, outH, outW] (2x upsampling included), split over samples.
public func resizeNearest(_ x: Var, height outH: Int, width outW: Int) -> Var {
    let xv = x.value
    precondition(xv.rank == 4, "resizeNearest: \(xv.shape)")
    let (n, c, h, w) = (xv.shape[0], xv.shape[1], xv.shape[2], xv.shape[3])
    let rows = (0..<outH).map { nearestSource($0, inSize: h, outSize: outH) }
    let cols = (0..<outW).map { nearestSource($0, inSize: w, outSize: outW) }
    if outH == h && outW == w { return x }
    // Every output element is written.
    let out = [Float].uninitialized(n * c * outH * outW) { op in
        xv.data.withUnsafeBufferPointer { xp in
            let (xb, ob) = (UnsafeSendable(xp.baseAddress!), UnsafeSendable(op))
            parallelChunks(n) { _, r in
                for p in (r.lowerBound * c)..<(r.upperBound * c) {
                    let src = xb.value + p * h * w, dst = ob.value + p * outH * outW
                    for i in 0..<outH { for j in 0..<outW { dst[i * outW + j] = src[rows[i] * w + cols[j]] } }
                }
            }
        }
    }
    return x.tape.record(Tensor(shape: [n, c, outH, outW], data: out), parents: [x]) { g, _ in
        var gx = [Float](repeating: 0, count: xv.count)
        g.data.withUnsafeBufferPointer { gp in
            gx.withUnsafeMutableBufferPointer { xp in
                let (gb, xb) = (UnsafeSendable(gp.baseAddress!), UnsafeSendable(xp.baseAddress!))
                parallelChunks(n) { _, r in
                    for p in (r.lowerBound * c)..<(r.upperBound * c) {
                        let src = gb.value + p * outH * outW, dst = xb.value + p * h * w
                        for i in 0..<outH { for j in 0..<outW { dst[rows[i] * w + cols[j]] += src[i * outW + j] } }
                    }
                }
            }
        }
        return [Tensor(shape: xv.shape, data: gx)]
    }
}

/// Rows of `weight` [vocab, dim] picked by `indices`: [indices.count, dim] (PyTorch `nn.Embedding`).
public func embedding(_ weight: Var, indices: [Int]) -> Var {
    let wv = weight.value
    precondition(wv.rank == 2, "embedding: weight \(wv.shape)")
    let (vocab, dim) = (wv.shape[0], wv.shape[1])
    var out = [Float](repeating: 0, count: indices.count * dim)
    for (i, idx) in indices.enumerated() {
        precondition(idx >= 0 && idx < vocab, "embedding: index \(idx) outside 0..<\(vocab)")
        for j in 0..<dim { out[i * dim + j] = wv.data[idx * dim + j] }
    }
    return weight.tape.record(Tensor(shape: [indices.count, dim], data: out), parents: [weight]) { g, _ in
        var gw = [Float](repeating: 0, count: wv.count)
        for (i, idx) in indices.enumerated() { for j in 0..<dim { gw[idx * dim + j] += g.data[i * dim + j] } }
        return [Tensor(shape: wv.shape, data: gw)]
    }
}

/// Sinusoidal embedding of timesteps t (= 1000 * sigma): [cos(t f_i), sin(t f_i)] with
/// f_i = exp(-ln(10000) * i / half), i = 0..<half, cos first. Computed in float32 like the PyTorch reference.
public func sinusoidalEmbedding(_ t: [Float], dim: Int) -> Tensor {
    precondition(dim % 2 == 0, "sinusoidalEmbedding: odd dim \(dim)")
    let half = dim / 2
    let lnBase = Float(log(10000.0))
    let freqs = (0..<half).map { expf(-lnBase * Float($0) / Float(half)) }
    var out = [Float](repeating: 0, count: t.count * dim)
    for (i, ti) in t.enumerated() {
        for j in 0..<half {
            let a = ti * freqs[j]
            out[i * dim + j] = cosf(a)
            out[i * dim + half + j] = sinf(a)
        }
    }
    return Tensor(shape: [t.count, dim], data: out)
}
