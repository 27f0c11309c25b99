import Foundation
import Testing
import TensorCore
import TestSupport

/// The transformer ops' pullbacks against central finite differences (float32; tolerance as GradientTests).
@Suite struct TransformerGradientTests {
    let tol: Float = 2e-2

    @Test func layerNormAndSoftmax() {
        let x = randomTensor([2, 5, 12], seed: 31, scale: 1.5)
        #expect(gradCheck([x], probes: 40) { layerNorm($0[0], eps: 1e-6) } < tol)
        // Row statistics: zero mean, unit variance.
        let y = layerNormForward(x, eps: 1e-6).out
        for r in 0..<10 {
            let row = y.data[(r * 12)..<((r + 1) * 12)]
            let m = row.reduce(0, +) / 12, v = row.reduce(0) { $0 + ($1 - m) * ($1 - m) } / 12
            #expect(abs(m) < 1e-5 && abs(v - 1) < 1e-4)
        }
        #expect(gradCheck([x], probes: 40) { softmax($0[0]) } < tol)
        let s = softmaxForward(x)
        for r in 0..<10 { #expect(abs(s.data[(r * 12)..<((r + 1) * 12)].reduce(0, +) - 1) < 1e-5) }
    }

    @Test func geluTanh() {
        let x = randomTensor([3, 37], seed: 32, scale: 2)
        #expect(gradCheck([x], probes: 40) { gelu($0[0]) } < tol)
        let y = geluForward(x)
        for i in 0..<x.count {
            let v = Double(x.data[i])
            let ref = 0.5 * v * (1 + tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)))
            #expect(abs(Double(y.data[i]) - ref) < 2e-6 * max(1, abs(ref)))
        }
    }

    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func batchedProducts(transposeA: Bool, transposeB: Bool) {
        let a = randomTensor(transposeA ? [3, 4, 5] : [3, 5, 4], seed: 33)
        let b = randomTensor(transposeB ? [3, 6, 4] : [3, 4, 6], seed: 34)
        #expect(gradCheck([a, b]) { TensorCore.batchedMatmul($0[0], $0[1], transposeA: transposeA, transposeB: transposeB) } < tol)
    }

    /// The fused attention kernel against the same computation composed from separate ops.
    @Test func attention() {
        let (n, t, d, heads) = (2, 5, 8, 2)
        let qkv = randomTensor([n, t, 3 * d], seed: 35)
        #expect(gradCheck([qkv], probes: 60) { multiHeadAttention($0[0], heads: heads) } < tol)
        // The backward that recomputes P from the log-sum-exps (P too big to keep) and the one that
        // keeps P: gradients of each against finite differences, and the same forward bits.
        #expect(gradCheck([qkv], probes: 60) { multiHeadAttention($0[0], heads: heads, storedProbabilities: 0) } < tol)
        let tape = Tape()
        let v = tape.variable(qkv)
        let (kept, recomputed) = (multiHeadAttention(v, heads: heads), multiHeadAttention(v, heads: heads, storedProbabilities: 0))
        #expect(kept.value.data == recomputed.value.data)
        let r = randomTensor([n, t, d], seed: 36)
        #expect(maxAbsDifference(tape.backward(kept, seed: r)[v], tape.backward(recomputed, seed: r)[v]) < 1e-5)
    }

    @Test func attentionComposed() {
        let (n, t, d, heads) = (2, 5, 8, 2)
        let qkv = randomTensor([n, t, 3 * d], seed: 35)
        let tape = Tape()
        let v = tape.variable(qkv)
        let fused = multiHeadAttention(v, heads: heads)
        let composed = composedAttention(v, heads: heads)
        #expect(maxAbsDifference(fused.value, composed.value) < 1e-5)
        let r = randomTensor([n, t, d], seed: 36)
        let g1 = tape.backward(fused, seed: r)[v], g2 = tape.backward(composed, seed: r)[v]
        #expect(maxAbsDifference(g1, g2) < 1e-5)
    }

    /// softmax(q kᵀ / sqrt(hd)) v from reshapes, batched products and softmax.
    func composedAttention(_ qkv: Var, heads: Int) -> Var {
        let (n, t, d) = (qkv.shape[0], qkv.shape[1], qkv.shape[2] / 3), hd = d / heads
        func head(_ part: Int, _ h: Int) -> Var {   // [n, T, hd] of q/k/v, head h
            let cols = chunkColumns(reshape(qkv, [n * t, 3 * d]), parts: 3 * heads, index: part * heads + h)
            return reshape(cols, [n, t, hd])
        }
        var outs: [Var] = []
        for h in 0..<heads {
            let s = batchedMatmul(head(0, h), head(1, h), transposeB: true) * (1 / Float(hd).squareRoot())
            outs.append(reshape(batchedMatmul(softmax(s), head(2, h)), [n * t, hd]))
        }
        // Concatenate heads along the features: [n T, d].
        var cat = outs[0]
        for h in 1..<heads {
            cat = reshape(concatChannels(reshape(cat, [n * t, h * hd, 1, 1]), reshape(outs[h], [n * t, hd, 1, 1])), [n * t, (h + 1) * hd])
        }
        return reshape(cat, [n, t, d])
    }

    @Test func linearRowsAndPatches() {
        let x = randomTensor([3, 4, 6], seed: 37), w = randomTensor([5, 6], seed: 38), b = randomTensor([5], seed: 39)
        #expect(gradCheck([x, w, b]) { linearRows($0[0], weight: $0[1], bias: $0[2]) } < tol)
        #expect(gradCheck([x, w]) { linearRows($0[0], weight: $0[1], bias: nil) } < tol)
        // Same values as the rank-2 linear.
        let tape = Tape(recordsPullbacks: false)
        let a = linearRows(tape.constant(x), weight: tape.constant(w), bias: tape.constant(b)).value
        let c = linear(tape.constant(x.reshaped([12, 6])), weight: tape.constant(w), bias: tape.constant(b)).value
        #expect(maxAbsDifference(a.reshaped([12, 5]), c) < 1e-5)

        let img = randomTensor([2, 3, 4, 6], seed: 40)
        #expect(gradCheck([img], probes: 40) { patchify($0[0], patch: 2) } < tol)
        let tok = randomTensor([2, 6, 12], seed: 41)
        #expect(gradCheck([tok], probes: 40) { unpatchify($0[0], patch: 2, channels: 3, height: 4, width: 6) } < tol)
        // patchify · conv weight = the stride-p conv.
        let wc = randomTensor([5, 3, 2, 2], seed: 42), bc = randomTensor([5], seed: 43)
        let conv = conv2d(tape.constant(img), weight: tape.constant(wc), bias: tape.constant(bc), stride: 2, padding: 0).value
        let viaTokens = linearRows(patchify(tape.constant(img), patch: 2), weight: tape.constant(wc.reshaped([5, 12])),
                                   bias: tape.constant(bc)).value   // [2, 6, 5]
        for n in 0..<2 { for t in 0..<6 { for o in 0..<5 {
            #expect(abs(conv.data[(n * 5 + o) * 6 + t] - viaTokens.data[(n * 6 + t) * 5 + o]) < 1e-5)
        } } }
    }

    @Test func conditioningOps() {
        let x = randomTensor([2, 4, 6], seed: 44), y = randomTensor([2, 4, 6], seed: 45)
        let sh = randomTensor([2, 6], seed: 46), sc = randomTensor([2, 6], seed: 47)
        #expect(gradCheck([x, sh, sc]) { modulate($0[0], shift: $0[1], scale: $0[2]) } < tol)
        #expect(gradCheck([x, sc, y]) { addGated($0[0], gate: $0[1], $0[2]) } < tol)
        let m = randomTensor([2, 18], seed: 48)
        #expect(gradCheck([m]) { chunkColumns($0[0], parts: 3, index: 1) } < tol)
        #expect(gradCheck([m]) { chunkColumns($0[0], parts: 3)[0] * chunkColumns($0[0], parts: 3)[2] } < tol)
        let pos = randomTensor([1, 4, 6], seed: 49)
        #expect(gradCheck([x, pos]) { addBroadcastSamples($0[0], $0[1]) } < tol)
    }

    /// Large enough that every kernel takes its parallel path; results equal the one-thread ones.
    @Test func parallelPathsMatchSerial() {
        let qkv = randomTensor([4, 64, 96], seed: 50), x = randomTensor([4, 64, 32], seed: 51)
        let w = randomTensor([48, 32], seed: 52), b = randomTensor([48], seed: 53), r = randomTensor([4, 64, 32], seed: 54)
        func run() -> [Tensor] {
            let tape = Tape()
            let (q, xv, wv, bv) = (tape.variable(qkv), tape.variable(x), tape.variable(w), tape.variable(b))
            let out = layerNorm(gelu(multiHeadAttention(q, heads: 2)), eps: 1e-6) + softmax(xv)
            let lin = linearRows(out, weight: wv, bias: bv)
            let loss = meanSquaredError(lin, target: Tensor(zeros: lin.shape)) + mean(out * tape.constant(r))
            let g = tape.backward(loss)
            return [lin.value, g[q], g[xv], g[wv], g[bv]]
        }
        let before = ComputeThreads.count
        ComputeThreads.set(1); let serial = run()
        ComputeThreads.set(2); let parallel = run()
        ComputeThreads.set(before)
        for (a, b) in zip(serial, parallel) { #expect(maxAbsDifference(a, b) <= 1e-6 * max(1, b.data.map(abs).max()!)) }
    }

    /// The fused DiT ops (session 14): finite differences, and the same bits as the ops they replace,
    /// on a shape large enough for the parallel paths, with and without a recording tape.
    @Test func fusedOpsMatchTheirComposition() {
        let x = randomTensor([2, 4, 6], seed: 60), w = randomTensor([5, 6], seed: 61), b = randomTensor([5], seed: 62)
        #expect(gradCheck([x, w, b]) { linearRowsGELU($0[0], weight: $0[1], bias: $0[2]) } < tol)
        let sh = randomTensor([2, 6], seed: 63), sc = randomTensor([2, 6], seed: 64)
        #expect(gradCheck([x, sh, sc], probes: 40) { layerNormModulate($0[0], eps: 1e-6, shift: $0[1], scale: $0[2]) } < tol)

        let (n, t, d, f) = (4, 96, 48, 160)
        let xs = randomTensor([n, t, d], seed: 65, scale: 1.5), ws = randomTensor([f, d], seed: 66), bs = randomTensor([f], seed: 67)
        let shs = randomTensor([n, d], seed: 68), scs = randomTensor([n, d], seed: 69), r = randomTensor([n, t, f], seed: 70)
        func run(fused: Bool) -> [Tensor] {
            let tape = Tape()
            let (xv, wv, bv, hv, cv) = (tape.variable(xs), tape.variable(ws), tape.variable(bs), tape.variable(shs), tape.variable(scs))
            let m = fused ? layerNormModulate(xv, eps: 1e-6, shift: hv, scale: cv) : modulate(layerNorm(xv, eps: 1e-6), shift: hv, scale: cv)
            let y = fused ? linearRowsGELU(m, weight: wv, bias: bv) : gelu(linearRows(m, weight: wv, bias: bv))
            let g = tape.backward(y, seed: r)
            let inference = Tape(recordsPullbacks: false)
            let (xc, wc, bc, hc, cc) = (inference.constant(xs), inference.constant(ws), inference.constant(bs),
                                        inference.constant(shs), inference.constant(scs))
            let yi = fused ? linearRowsGELU(layerNormModulate(xc, eps: 1e-6, shift: hc, scale: cc), weight: wc, bias: bc)
                           : gelu(linearRows(modulate(layerNorm(xc, eps: 1e-6), shift: hc, scale: cc), weight: wc, bias: bc))
            return [y.value, yi.value, g[xv], g[wv], g[bv], g[hv], g[cv]]
        }
        let (a, c) = (run(fused: true), run(fused: false))
        for (p, q) in zip(a, c) { #expect(p.shape == q.shape && p.data == q.data) }

        // The gated residual fused with its linear layer.
        let res = randomTensor([2, 4, 5], seed: 71), gate = randomTensor([2, 5], seed: 72)
        #expect(gradCheck([x, w, b, res, gate]) {
            linearRowsGatedResidual($0[0], weight: $0[1], bias: $0[2], residual: $0[3], gate: $0[4])
        } < tol)
        let (ress, gates) = (randomTensor([n, t, f], seed: 73), randomTensor([n, f], seed: 74))
        func gated(fused: Bool, record: Bool) -> [Tensor] {
            let tape = Tape(recordsPullbacks: record)
            let vars = [xs, ws, bs, ress, gates].map { record ? tape.variable($0) : tape.constant($0) }
            let y = fused ? linearRowsGatedResidual(vars[0], weight: vars[1], bias: vars[2], residual: vars[3], gate: vars[4])
                          : addGated(vars[3], gate: vars[4], linearRows(vars[0], weight: vars[1], bias: vars[2]))
            guard record else { return [y.value] }
            let g = tape.backward(y, seed: r)
            return [y.value] + vars.map { g[$0] }
        }
        for record in [false, true] {
            for (p, q) in zip(gated(fused: true, record: record), gated(fused: false, record: record)) {
                #expect(p.shape == q.shape && p.data == q.data)
            }
        }

        // The whole MLP with its gated residual (session 15: GELU' in fc2's dx blocks): finite differences,
        // and the bits of the ops it replaces, with and without a tape.
        let w2 = randomTensor([6, 5], seed: 75), b2 = randomTensor([6], seed: 76)
        let res6 = randomTensor([2, 4, 6], seed: 77), gate6 = randomTensor([2, 6], seed: 78)
        #expect(gradCheck([x, w, b, w2, b2, res6, gate6], probes: 40) {
            mlpGatedResidual($0[0], fc1: ($0[1], $0[2]), fc2: ($0[3], $0[4]), residual: $0[5], gate: $0[6])
        } < tol)
        let (w2s, b2s, resd, gated) = (randomTensor([d, f], seed: 79), randomTensor([d], seed: 80),
                                       randomTensor([n, t, d], seed: 81), randomTensor([n, d], seed: 82))
        let rd = randomTensor([n, t, d], seed: 83)
        func mlp(fused: Bool, record: Bool) -> [Tensor] {
            let tape = Tape(recordsPullbacks: record)
            let v = [xs, ws, bs, w2s, b2s, resd, gated].map { record ? tape.variable($0) : tape.constant($0) }
            let y = fused ? mlpGatedResidual(v[0], fc1: (v[1], v[2]), fc2: (v[3], v[4]), residual: v[5], gate: v[6])
                          : linearRowsGatedResidual(linearRowsGELU(v[0], weight: v[1], bias: v[2]), weight: v[3], bias: v[4],
                                                    residual: v[5], gate: v[6])
            guard record else { return [y.value] }
            let g = tape.backward(y, seed: rd)
            return [y.value] + v.map { g[$0] }
        }
        for record in [false, true] {
            for (p, q) in zip(mlp(fused: true, record: record), mlp(fused: false, record: record)) {
                #expect(p.shape == q.shape && p.data == q.data)
            }
        }

        // GELU stays finite where exp overflows: -> -0 for very negative x, x for very positive.
        let big = geluForward(Tensor(shape: [4], data: [-1000, -30, 30, 1000])).data
        #expect(big.allSatisfy { $0.isFinite } && abs(big[0]) < 1e-30 && abs(big[1]) < 1e-30 && big[2] == 30 && big[3] == 1000)
    }
}
