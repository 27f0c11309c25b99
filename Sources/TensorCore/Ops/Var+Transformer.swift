// Tape ops of the transformer backbone (DiT): each has one pullback, checked by finite differences in
// Tests/TensorCoreTests/TransformerGradientTests.swift and against PyTorch in Tests/NNTests/DiTGoldenTests.swift.

import CGEMM

/// LayerNorm over the last axis without affine parameters (`nn.LayerNorm(d, elementwise_affine=False, eps=eps)`).
public func layerNorm(_ x: Var, eps: Float) -> Var {
    let (y, rstd) = layerNormForward(x.value, eps: eps)
    return x.tape.record(y, parents: [x]) { g, _ in [layerNormBackward(y, g, rstd: rstd)] }
}

/// Softmax over the last axis.
public func softmax(_ x: Var) -> Var {
    let y = softmaxForward(x.value)
    return x.tape.record(y, parents: [x]) { g, _ in [softmaxBackward(y, g)] }
}

/// GELU with the tanh approximation, PyTorch `gelu(x, approximate="tanh")`.
public func gelu(_ x: Var) -> Var {
    let xv = x.value
    return x.tape.record(geluForward(xv), parents: [x]) { g, _ in [geluBackward(xv, g)] }
}

/// Batched matrix product: a [b, m, k] (or [b, k, m] with `transposeA`) times b [b, k, n] (or [b, n, k]
/// with `transposeB`): [b, m, n] (`torch.bmm` / `@` on 3-D tensors).
public func batchedMatmul(_ a: Var, _ b: Var, transposeA: Bool = false, transposeB: Bool = false) -> Var {
    let (av, bv) = (a.value, b.value)
    precondition(av.rank == 3 && bv.rank == 3 && av.shape[0] == bv.shape[0], "batchedMatmul: \(av.shape) x \(bv.shape)")
    let batch = av.shape[0]
    let (m, k) = transposeA ? (av.shape[2], av.shape[1]) : (av.shape[1], av.shape[2])
    let (kb, n) = transposeB ? (bv.shape[2], bv.shape[1]) : (bv.shape[1], bv.shape[2])
    precondition(k == kb, "batchedMatmul: \(av.shape) x \(bv.shape) (transposeA \(transposeA), transposeB \(transposeB))")
    let out = batchedGemm(av, bv, transA: transposeA, transB: transposeB, batch: batch, m: m, n: n, k: k)
    return a.tape.record(out, parents: [a, b]) { g, needs in
        // C = op(A) op(B): d op(A) = G op(B)ᵀ, d op(B) = op(A)ᵀ G, transposed back where A or B was.
        let da: Tensor? = !needs[0] ? nil : transposeA
            ? batchedGemm(bv, g, transA: transposeB, transB: true, batch: batch, m: k, n: m, k: n)
            : batchedGemm(g, bv, transA: false, transB: !transposeB, batch: batch, m: m, n: k, k: n)
        let db: Tensor? = !needs[1] ? nil : transposeB
            ? batchedGemm(g, av, transA: true, transB: transposeA, batch: batch, m: n, n: k, k: m)
            : batchedGemm(av, g, transA: !transposeA, transB: false, batch: batch, m: k, n: n, k: m)
        return [da.map { $0.reshaped(av.shape) }, db.map { $0.reshaped(bv.shape) }]
    }
}

/// Multi-head self-attention on packed projections qkv [n, T, 3 D] (q | k | v, each `heads` slices of
/// D / heads): softmax(q kᵀ / sqrt(D / heads)) v per head, heads concatenated: [n, T, D]. One kernel:
/// for the backward it keeps the probabilities when they take at most `storedProbabilities` floats,
/// else the row log-sum-exps, from which the backward recomputes them (see AttentionKernels.swift).
public func multiHeadAttention(_ qkv: Var, heads: Int, storedProbabilities: Int = attentionStoredProbabilityLimit) -> Var {
    let qv = qkv.value
    let probabilities = qv.shape.count == 3 ? qv.shape[0] * heads * qv.shape[1] * qv.shape[1] : 0
    let keep: AttentionSaved = !qkv.tape.recordsPullbacks ? .none : probabilities <= storedProbabilities ? .probabilities : .logSumExp
    let (out, saved) = attentionForward(qv, heads: heads, keep: keep)
    return qkv.tape.record(out, parents: [qkv]) { g, _ in
        [attentionBackward(qv, out: out, saved: saved, kept: keep, g, heads: heads)]
    }
}

/// The mean over the tokens of x [n, T, D]: [n, D] (a batched product with a 1/T row, so the pullback is that op's).
public func meanTokens(_ x: Var) -> Var {
    let n = x.shape[0], t = x.shape[1], d = x.shape[2]
    let weights = x.tape.constant(Tensor(repeating: 1 / Float(t), shape: [n, 1, t]))
    return reshape(batchedMatmul(weights, x), [n, d])
}

/// y = x Wᵀ + b on every row of x [..., in] (`nn.Linear` on a token tensor), rows split over samples.
public func linearRows(_ x: Var, weight: Var, bias: Var?) -> Var {
    let (xv, wv) = (x.value, weight.value)
    let out = linearRowsForward(xv, wv, bias?.value)
    let parents = bias.map { [x, weight, $0] } ?? [x, weight]
    return x.tape.record(out, parents: parents) { g, needs in
        let r = linearRowsBackward(xv, wv, g, needInput: needs[0], needWeight: needs[1], needBias: needs.count > 2 && needs[2])
        return needs.count > 2 ? [r.input, r.weight, r.bias] : [r.input, r.weight]
    }
}

/// gelu(x Wᵀ + b) on every row of x [..., in]: `gelu(linearRows(x, ...))` in one op, GELU applied to each
/// block of rows right after its GEMM (same bits as the two ops; the pullback is theirs, chained).
public func linearRowsGELU(_ x: Var, weight: Var, bias: Var?) -> Var {
    let (xv, wv) = (x.value, weight.value)
    let (pre, out) = linearRowsGELUForward(xv, wv, bias?.value, keepPreactivation: x.tape.recordsPullbacks)
    let parents = bias.map { [x, weight, $0] } ?? [x, weight]
    return x.tape.record(out, parents: parents) { g, needs in
        let dpre = geluBackward(pre!, g)
        let r = linearRowsBackward(xv, wv, dpre, needInput: needs[0], needWeight: needs[1], needBias: needs.count > 2 && needs[2])
        return needs.count > 2 ? [r.input, r.weight, r.bias] : [r.input, r.weight]
    }
}

/// Images [n, c, h, w] to patch tokens [n, (h/p)(w/p), c p p], features in a stride-p conv weight's
/// order (c, a, b), tokens row-major over the patch grid: `conv(x).flatten(2).transpose(1, 2)` equals
/// `patchify(x) · W.reshape(out, -1)ᵀ`.
public func patchify(_ x: Var, patch p: Int) -> Var {
    let xv = x.value
    precondition(xv.rank == 4 && xv.shape[2] % p == 0 && xv.shape[3] % p == 0, "patchify: \(xv.shape) with patch \(p)")
    let (n, c, h, w) = (xv.shape[0], xv.shape[1], xv.shape[2], xv.shape[3])
    let map = patchifyMap(channels: c, height: h, width: w, patch: p)
    let out = gatherSamples(xv, map, outShape: [n, (h / p) * (w / p), c * p * p])
    return x.tape.record(out, parents: [x]) { g, _ in [gatherSamples(g, invertPermutation(map), outShape: xv.shape)] }
}

/// DiT's unpatchify: tokens [n, T, p p c] (features ordered (a, b, c)) to images [n, c, h, w] with
/// T = (h/p)(w/p): `x.reshape(n, h/p, w/p, p, p, c)`, einsum nhwpqc->nchpwq, reshape.
public func unpatchify(_ x: Var, patch p: Int, channels c: Int, height h: Int, width w: Int) -> Var {
    let xv = x.value
    precondition(xv.rank == 3 && xv.shape[1] == (h / p) * (w / p) && xv.shape[2] == p * p * c,
                 "unpatchify: \(xv.shape) to [\(c), \(h), \(w)] with patch \(p)")
    let map = unpatchifyMap(channels: c, height: h, width: w, patch: p)
    let out = gatherSamples(xv, map, outShape: [xv.shape[0], c, h, w])
    return x.tape.record(out, parents: [x]) { g, _ in [gatherSamples(g, invertPermutation(map), outShape: xv.shape)] }
}

/// (n, rows per sample, d) of x [n, ..., d] against a per-sample vector e [n, d].
@inline(__always)
func tokenLayout(_ x: Tensor, _ e: Tensor, _ what: String) -> (n: Int, t: Int, d: Int) {
    let n = x.shape[0], d = x.shape.last!
    precondition(x.rank >= 2 && e.shape == [n, d], "\(what): \(x.shape) with per-sample \(e.shape)")
    return (n, x.count / (n * d), d)
}

/// Applies `f(row, e_n, out)` to every token row of sample n, blocks of samples taken by the threads.
@inline(__always)
func forEachTokenRow(_ n: Int, _ t: Int, _ d: Int, _ f: (_ sample: Int, _ row: Int) -> Void) {
    func body(_ r: Range<Int>) { for s in r { for i in 0..<t { f(s, (s * t + i) * d) } } }
    if n * t * d < 1 << 14 || ComputeThreads.count == 1 { body(0..<n) } else { dynamicBlocks(n, block: max(1, blockFloats / (t * d)), body) }
}

/// Every token row of g [n, T, d] times its sample's vector a [n, d]: the pullback of a per-sample gate.
func tokenRowsScaled(_ g: Tensor, by a: Tensor, n: Int, t: Int, d: Int) -> Tensor {
    let data = [Float].uninitialized(g.count) { op in
        g.data.withUnsafeBufferPointer { gp in a.data.withUnsafeBufferPointer { ap in
            let (gb, ab, ob) = (UnsafeSendable(gp.baseAddress!), UnsafeSendable(ap.baseAddress!), UnsafeSendable(op))
            forEachTokenRow(n, t, d) { s, row in
                let (gr, o, ar) = (gb.value + row, ob.value + row, ab.value + s * d)
                for j in 0..<d { o[j] = gr[j] * ar[j] }
            }
        }}
    }
    return Tensor(shape: g.shape, data: data)
}

/// The gated residual's pullback to its gate and its linear branch y in one pass over g: d gate = per-sample
/// sums of g y (`tokenSums`) and d y = g gate (`tokenRowsScaled`), each only when asked, same bits.
func gatedPullback(_ g: Tensor, linear y: Tensor, gate a: Tensor, n: Int, t: Int, d: Int, needGate: Bool, needLinear: Bool)
    -> (gate: Tensor?, linear: Tensor?) {
    var dgate = [Float](repeating: 0, count: needGate ? n * d : 0)
    var dy = needLinear ? [Float].uninitialized(g.count) { _ in } : []
    dy.withUnsafeMutableBufferPointer { dyp in
        let op = dyp.baseAddress
        g.data.withUnsafeBufferPointer { gp in y.data.withUnsafeBufferPointer { yp in a.data.withUnsafeBufferPointer { ap in
        dgate.withUnsafeMutableBufferPointer { dp in
            let (gb, yb, ab) = (UnsafeSendable(gp.baseAddress!), UnsafeSendable(yp.baseAddress!), UnsafeSendable(ap.baseAddress!))
            let (ob, db) = (UnsafeSendable(needLinear ? op : nil), UnsafeSendable(needGate ? dp.baseAddress : nil))
            forEachTokenRow(n, t, d) { s, row in
                let (gr, ar) = (gb.value + row, ab.value + s * d)
                if let dg = db.value { accumulateRow(dg + s * d, gr, times: yb.value + row, d) }
                if let o = ob.value.map({ $0 + row }) {
                    if rowPassesInC { crow_multiply(gr, ar, o, d) } else { for j in 0..<d { o[j] = gr[j] * ar[j] } }
                }
            }
        }}}}
    }
    return (needGate ? Tensor(shape: [n, d], data: dgate) : nil, needLinear ? Tensor(shape: g.shape, data: dy) : nil)
}

/// Sums token rows per sample: [n, T, d] -> [n, d] (optionally of g ∘ y).
func tokenSums(_ g: Tensor, times y: Tensor?, n: Int, t: Int, d: Int) -> Tensor {
    let out = [Float].uninitialized(n * d) { op in
        g.data.withUnsafeBufferPointer { gp in
            (y?.data ?? []).withUnsafeBufferPointer { yp in
                let (gb, yb, ob) = (UnsafeSendable(gp.baseAddress!), UnsafeSendable(y == nil ? nil : yp.baseAddress), UnsafeSendable(op))
                let body = { (r: Range<Int>) in
                    for s in r {
                        let o = ob.value + s * d
                        for j in 0..<d { o[j] = 0 }
                        for i in 0..<t { accumulateRow(o, gb.value + (s * t + i) * d, times: yb.value.map { $0 + (s * t + i) * d }, d) }
                    }
                }
                if n * t * d < 1 << 14 || ComputeThreads.count == 1 { body(0..<n) } else { dynamicBlocks(n, block: max(1, blockFloats / (t * d)), body) }
            }
        }
    }
    return Tensor(shape: [n, d], data: out)
}

/// adaLN modulation, DiT's `modulate`: x * (1 + scale) + shift with x [n, T, d] and per-sample
/// shift, scale [n, d] broadcast over the tokens.
public func modulate(_ x: Var, shift: Var, scale: Var) -> Var {
    let (xv, sh, sc) = (x.value, shift.value, scale.value)
    let (n, t, d) = tokenLayout(xv, sh, "modulate")
    precondition(sc.shape == sh.shape, "modulate: scale \(sc.shape) vs shift \(sh.shape)")
    let out = [Float].uninitialized(xv.count) { op in
        xv.data.withUnsafeBufferPointer { xp in sh.data.withUnsafeBufferPointer { hp in sc.data.withUnsafeBufferPointer { cp in
            let (xb, hb, cb, ob) = (UnsafeSendable(xp.baseAddress!), UnsafeSendable(hp.baseAddress!),
                                    UnsafeSendable(cp.baseAddress!), UnsafeSendable(op))
            forEachTokenRow(n, t, d) { s, row in
                let (xr, o, hr, cr) = (xb.value + row, ob.value + row, hb.value + s * d, cb.value + s * d)
                for j in 0..<d { o[j] = xr[j] * (1 + cr[j]) + hr[j] }
            }
        }}}
    }
    return x.tape.record(Tensor(shape: xv.shape, data: out), parents: [x, shift, scale]) { g, needs in
        var dx: Tensor? = nil
        if needs[0] {
            let data = [Float].uninitialized(g.count) { op in
                g.data.withUnsafeBufferPointer { gp in sc.data.withUnsafeBufferPointer { cp in
                    let (gb, cb, ob) = (UnsafeSendable(gp.baseAddress!), UnsafeSendable(cp.baseAddress!), UnsafeSendable(op))
                    forEachTokenRow(n, t, d) { s, row in
                        let (gr, o, cr) = (gb.value + row, ob.value + row, cb.value + s * d)
                        for j in 0..<d { o[j] = gr[j] * (1 + cr[j]) }
                    }
                }}
            }
            dx = Tensor(shape: xv.shape, data: data)
        }
        return [dx, needs[1] ? tokenSums(g, times: nil, n: n, t: t, d: d) : nil,
                needs[2] ? tokenSums(g, times: xv, n: n, t: t, d: d) : nil]
    }
}

/// `modulate(layerNorm(x, eps: eps), shift:, scale:)` as one op (one row pass each way, same bits):
/// DiT's adaLN input to the attention and the MLP.
public func layerNormModulate(_ x: Var, eps: Float, shift: Var, scale: Var) -> Var {
    let (sh, sc) = (shift.value, scale.value)
    let (out, xhat, rstd) = layerNormModulateForward(x.value, eps: eps, shift: sh, scale: sc, keepNormalized: x.tape.recordsPullbacks)
    return x.tape.record(out, parents: [x, shift, scale]) { g, needs in
        let r = layerNormModulateBackward(xhat!, g, rstd: rstd, scale: sc, needInput: needs[0], needShift: needs[1], needScale: needs[2])
        return [r.input, r.shift, r.scale]
    }
}

/// `addGated(residual, gate: gate, linearRows(x, weight:, bias:))` as one op: the gated residual add
/// runs on each block of rows right after its GEMM (same bits; the pullback is the two ops', chained).
public func linearRowsGatedResidual(_ x: Var, weight: Var, bias: Var?, residual: Var, gate: Var) -> Var {
    let (xv, wv, rv, gv) = (x.value, weight.value, residual.value, gate.value)
    let (y, out) = linearRowsGatedResidualForward(xv, wv, bias?.value, residual: rv, gate: gv, keepLinear: x.tape.recordsPullbacks)
    let (n, t, d) = tokenLayout(out, gv, "linearRowsGatedResidual")
    let parents = [residual, gate, x, weight] + (bias.map { [$0] } ?? [])
    return x.tape.record(out, parents: parents) { g, needs in
        // d residual = g; d gate = per-sample sums of g y; d y = g * gate, then the linear pullback.
        var lin: (input: Tensor?, weight: Tensor?, bias: Tensor?) = (nil, nil, nil)
        let needBias = needs.count > 4 && needs[4]
        let (dgate, dy) = gatedPullback(g, linear: y!, gate: gv, n: n, t: t, d: d, needGate: needs[1], needLinear: needs[2] || needs[3] || needBias)
        if let dy { lin = linearRowsBackward(xv, wv, dy, needInput: needs[2], needWeight: needs[3], needBias: needBias) }
        return [needs[0] ? g : nil, dgate, lin.input, lin.weight] + (needs.count > 4 ? [lin.bias] : [])
    }
}

/// residual + gate * (gelu(x W1ᵀ + b1) W2ᵀ + b2): DiT's MLP with its gated residual as one op. The forward
/// is `linearRowsGELU` then `linearRowsGatedResidual`; the backward applies GELU' to each block of fc2's
/// input gradient right after its GEMM wrote it (in cache, in place) instead of in a separate pass over a
/// fresh array. Same bits as the two ops.
public func mlpGatedResidual(_ x: Var, fc1: (weight: Var, bias: Var), fc2: (weight: Var, bias: Var), residual: Var, gate: Var) -> Var {
    let (xv, w1, b1, w2, b2) = (x.value, fc1.weight.value, fc1.bias.value, fc2.weight.value, fc2.bias.value)
    let (rv, gv) = (residual.value, gate.value)
    let recording = x.tape.recordsPullbacks
    let (pre, hidden) = linearRowsGELUForward(xv, w1, b1, keepPreactivation: recording)
    let (y, out) = linearRowsGatedResidualForward(hidden, w2, b2, residual: rv, gate: gv, keepLinear: recording)
    let (n, t, d) = tokenLayout(out, gv, "mlpGatedResidual")
    let parents = [residual, gate, x, fc1.weight, fc1.bias, fc2.weight, fc2.bias]
    return x.tape.record(out, parents: parents) { g, needs in
        let needHidden = needs[2] || needs[3] || needs[4]
        var second: (input: Tensor?, weight: Tensor?, bias: Tensor?) = (nil, nil, nil), first = second
        let (dgate, dyOrNil) = gatedPullback(g, linear: y!, gate: gv, n: n, t: t, d: d, needGate: needs[1],
                                             needLinear: needHidden || needs[5] || needs[6])
        if let dy = dyOrNil {
            second = pre!.data.withUnsafeBufferPointer { pp in
                let pb = UnsafeSendable(pp.baseAddress!)
                return linearRowsBackward(hidden, w2, dy, needInput: needHidden, needWeight: needs[5], needBias: needs[6]) { dh, r in
                    geluBackwardRange(pb.value, dh, dh, r)
                }
            }
        }
        if needHidden { first = linearRowsBackward(xv, w1, second.input!, needInput: needs[2], needWeight: needs[3], needBias: needs[4]) }
        return [needs[0] ? g : nil, dgate, first.input, first.weight, first.bias, second.weight, second.bias]
    }
}

/// DiT's gated residual: x + gate * y with x, y [n, T, d] and a per-sample gate [n, d].
public func addGated(_ x: Var, gate: Var, _ y: Var) -> Var {
    let (xv, gv, yv) = (x.value, gate.value, y.value)
    let (n, t, d) = tokenLayout(xv, gv, "addGated")
    precondition(yv.shape == xv.shape, "addGated: \(xv.shape) + gate * \(yv.shape)")
    let out = [Float].uninitialized(xv.count) { op in
        xv.data.withUnsafeBufferPointer { xp in gv.data.withUnsafeBufferPointer { ap in yv.data.withUnsafeBufferPointer { yp in
            let (xb, ab, yb, ob) = (UnsafeSendable(xp.baseAddress!), UnsafeSendable(ap.baseAddress!),
                                    UnsafeSendable(yp.baseAddress!), UnsafeSendable(op))
            forEachTokenRow(n, t, d) { s, row in
                let (xr, yr, o, ar) = (xb.value + row, yb.value + row, ob.value + row, ab.value + s * d)
                for j in 0..<d { o[j] = xr[j] + ar[j] * yr[j] }
            }
        }}}
    }
    return x.tape.record(Tensor(shape: xv.shape, data: out), parents: [x, gate, y]) { g, needs in
        [needs[0] ? g : nil, needs[1] ? tokenSums(g, times: yv, n: n, t: t, d: d) : nil,
         needs[2] ? tokenRowsScaled(g, by: gv, n: n, t: t, d: d) : nil]
    }
}

/// Columns [k d, (k + 1) d) of x [n, parts d]: chunk k of `x.chunk(parts, dim=1)`.
public func chunkColumns(_ x: Var, parts: Int, index k: Int) -> Var {
    let xv = x.value
    precondition(xv.rank == 2 && xv.shape[1] % parts == 0 && k >= 0 && k < parts, "chunkColumns: \(xv.shape) part \(k) of \(parts)")
    let (n, w) = (xv.shape[0], xv.shape[1]), d = w / parts
    var out = [Float](repeating: 0, count: n * d)
    for i in 0..<n { for j in 0..<d { out[i * d + j] = xv.data[i * w + k * d + j] } }
    return x.tape.record(Tensor(shape: [n, d], data: out), parents: [x]) { g, _ in
        var gx = [Float](repeating: 0, count: n * w)
        for i in 0..<n { for j in 0..<d { gx[i * w + k * d + j] = g.data[i * d + j] } }
        return [Tensor(shape: xv.shape, data: gx)]
    }
}

/// All `parts` chunks of x [n, parts d] along the columns (`x.chunk(parts, dim=1)`).
public func chunkColumns(_ x: Var, parts: Int) -> [Var] {
    (0..<parts).map { chunkColumns(x, parts: parts, index: $0) }
}

/// x [n, ...] + b [1, ...] broadcast over the leading axis (DiT's `x + pos_embed`).
public func addBroadcastSamples(_ x: Var, _ b: Var) -> Var {
    let (xv, bv) = (x.value, b.value)
    precondition(bv.shape.first == 1 && Array(bv.shape.dropFirst()) == Array(xv.shape.dropFirst()),
                 "addBroadcastSamples: \(xv.shape) + \(bv.shape)")
    let n = xv.shape[0], inner = bv.count
    var out = xv.data
    out.withUnsafeMutableBufferPointer { op in
        bv.data.withUnsafeBufferPointer { bp in
            let (ob, bb) = (UnsafeSendable(op.baseAddress!), UnsafeSendable(bp.baseAddress!))
            forEachTokenRow(n, 1, inner) { _, row in
                let o = ob.value + row
                for j in 0..<inner { o[j] += bb.value[j] }
            }
        }
    }
    return x.tape.record(Tensor(shape: xv.shape, data: out), parents: [x, b]) { g, needs in
        var gb: Tensor? = nil
        if needs[1] {
            var s = [Float](repeating: 0, count: inner)
            for i in 0..<n { for j in 0..<inner { s[j] += g.data[i * inner + j] } }
            gb = Tensor(shape: bv.shape, data: s)
        }
        return [needs[0] ? g : nil, gb]
    }
}
