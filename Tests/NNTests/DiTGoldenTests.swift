import Foundation
import Testing
import NN
import TensorCore
import TestSupport

/// The transformer ops, one DiT block and a small DiT against PyTorch (fixtures from
/// tools/golden/make_dit_fixtures.py, reference tools/golden/reference_dit.py).
///
/// Tolerance: every compared tensor must satisfy max|swift - torch| <= rtol * max(max|torch|, 1e-3),
/// i.e. the error relative to the tensor's own scale, with rtol = 1e-5 for outputs and gradients of the
/// single ops, 2e-5 for the block and the whole DiT (a chain of float32 GEMMs with different summation
/// orders). Fixed-table forwards (position table, timestep features) use their own absolute bounds.
@Suite struct DiTGoldenTests {
    static func fixture(_ name: String) throws -> SafetensorsFile {
        let url = Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: "safetensors")!
        return try Safetensors.read(path: url.path)
    }

    let ops: SafetensorsFile
    init() throws { ops = try Self.fixture("dit_ops") }

    func t(_ name: String, _ file: SafetensorsFile? = nil) throws -> Tensor {
        try #require((file ?? ops).entry(name), "fixture tensor \(name)").tensor()
    }

    func ints(_ name: String, _ file: SafetensorsFile) throws -> [Int] {
        let e = try #require(file.entry(name))
        return e.bytes.withUnsafeBytes { raw in (0..<(e.bytes.count / 8)).map { Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self))) } }
    }

    /// max|a - e| / max(max|e|, 1e-3): the error relative to the expected tensor's scale.
    static func relativeError(_ a: Tensor, _ e: Tensor) -> Float {
        guard a.count == e.count else { return .infinity }
        var err: Float = 0, scale: Float = 1e-3
        for i in 0..<a.count { err = max(err, abs(a.data[i] - e.data[i])); scale = max(scale, abs(e.data[i])) }
        return err / scale
    }

    func expectClose(_ a: Tensor, _ e: Tensor, rtol: Float, _ what: String) {
        let r = Self.relativeError(a, e)
        #expect(a.shape == e.shape || a.count == e.count, "\(what): shape \(a.shape) vs \(e.shape)")
        #expect(r <= rtol, "\(what): relative error \(r) > \(rtol)")
    }

    /// Runs `f` on variables for `inputs`, seeds backward with `P.r`, checks out and every input's gradient.
    func check(_ p: String, _ inputs: [String], rtol: Float = 1e-5, _ f: ([Var]) -> Var) throws {
        let tape = Tape()
        let vars = try inputs.map { tape.variable(try t("\(p).\($0)")) }
        let out = f(vars)
        expectClose(out.value, try t("\(p).out"), rtol: rtol, "\(p) forward")
        let g = tape.backward(out, seed: try t("\(p).r"))
        for (name, v) in zip(inputs, vars) { expectClose(g[v], try t("\(p).grad_\(name)"), rtol: rtol, "\(p) gradient of \(name)") }
    }

    @Test func rowOps() throws {
        try check("layernorm", ["x"]) { layerNorm($0[0], eps: 1e-6) }
        try check("softmax", ["x"]) { softmax($0[0]) }
        try check("gelu", ["x"]) { gelu($0[0]) }
        try check("bmm", ["a", "b"]) { batchedMatmul($0[0], $0[1]) }
        try check("attention", ["qkv"]) { multiHeadAttention($0[0], heads: 2) }
    }

    @Test func shapeAndConditioningOps() throws {
        try check("patchify", ["x"]) { patchify($0[0], patch: 2) }
        try check("unpatchify", ["x"]) { unpatchify($0[0], patch: 2, channels: 3, height: 4, width: 4) }
        try check("modulate", ["x", "shift", "scale"]) { modulate($0[0], shift: $0[1], scale: $0[2]) }
        try check("gated", ["x", "gate", "y"]) { addGated($0[0], gate: $0[1], $0[2]) }
        try check("chunk", ["x"]) { chunkColumns($0[0], parts: 3, index: 1) }
    }

    @Test func fixedTables() throws {
        // Position table: float64 sin/cos in both, rounded to float32.
        #expect(maxAbsDifference(DiT.positionEmbedding(dim: 48, gridSize: 5), try t("posembed.out")) <= 1e-6)
        // Timestep features: float32 arguments up to 1000 (ulp 6e-5), as the UNet's 64-wide table.
        let sigma = try t("timeembed256.sigma")
        #expect(maxAbsDifference(sinusoidalEmbedding(sigma.data.map { $0 * 1000 }, dim: 256), try t("timeembed256.out")) <= 2e-4)
    }

    @Test func block() throws {
        let config = DiTConfig(inputSize: 8, patchSize: 2, inChannels: 1, hiddenSize: 32, depth: 1, numHeads: 2, mlpRatio: 4, numClasses: 3)
        let dit = DiT(config)
        let keys = ["attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight", "attn.proj.bias", "mlp.fc1.weight", "mlp.fc1.bias",
                    "mlp.fc2.weight", "mlp.fc2.bias", "adaLN_modulation.1.weight", "adaLN_modulation.1.bias"]
        var weights = StateDict()
        for k in keys { weights["blocks.0.\(k)"] = try t("block.\(k)") }
        let tape = Tape()
        let p = tape.bind(weights)
        let x = tape.variable(try t("block.x")), c = tape.variable(try t("block.c"))
        let out = dit.block(0, x, siluC: silu(c), p)
        expectClose(out.value, try t("block.out"), rtol: 2e-5, "block forward")
        let g = tape.backward(out, seed: try t("block.r"))
        expectClose(g[x], try t("block.grad_x"), rtol: 2e-5, "block gradient of x")
        expectClose(g[c], try t("block.grad_c"), rtol: 2e-5, "block gradient of c")
        let grads = p.gradients(g)
        for k in keys { expectClose(grads["blocks.0.\(k)"]!, try t("block.grad_\(k)"), rtol: 2e-5, "block gradient of \(k)") }
    }

    static let small = DiTConfig(inputSize: 8, patchSize: 2, inChannels: 1, hiddenSize: 32, depth: 2, numHeads: 2,
                                 mlpRatio: 4, numClasses: 3, classDropoutProb: 0.1)

    @Test func keysShapesAndConfigMatchPyTorch() throws {
        let url = Bundle.module.url(forResource: "Fixtures/dit_keys", withExtension: "json")!
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let configs = json["configs"] as! [[String: Any]]
        #expect(configs.count == 2)
        for c in configs {
            let configData = try JSONSerialization.data(withJSONObject: c["config"]!, options: [.sortedKeys])
            let config = try JSONDecoder().decode(DiTConfig.self, from: configData)
            // Our JSON has exactly the reference's keys and values.
            let ours = try JSONSerialization.jsonObject(with: Data(config.json.utf8)) as! NSDictionary
            #expect(ours == (c["config"] as! NSDictionary), "config JSON \(config.json)")
            let expected = (c["keys"] as! [[Any]]).map { ($0[0] as! String, $0[1] as! [Int]) }
            let dit = DiT(config)
            #expect(dit.parameterShapes.map(\.key) == expected.map(\.0), "key order for \(config.json)")
            #expect(dit.parameterShapes.map(\.shape) == expected.map(\.1), "shapes for \(config.json)")
            #expect(dit.initialParameters(seed: 0).parameterCount == c["parameter_count"] as! Int)
        }
        #expect(throws: DecodingError.self) { try DiTConfig.fromJSON(Self.small.json.replacingOccurrences(of: "\"learn_sigma\":false", with: "\"learn_sigma\":true")) }
        #expect(throws: DecodingError.self) { try DiTConfig.fromJSON(Self.small.json.replacingOccurrences(of: "\"dit\"", with: "\"unet\"")) }
        #expect(try DiTConfig.fromJSON(Self.small.json) == Self.small)
    }

    @Test func smallDiTForwardGradientsAndGuidanceMatchPyTorch() throws {
        let f = try Self.fixture("dit_small")
        let meta = Dictionary(uniqueKeysWithValues: (f.metadata ?? []).map { ($0.key, $0.value) })
        #expect(try DiTConfig.fromJSON(try #require(meta["config"])) == Self.small)
        let dit = DiT(Self.small)
        var weights = StateDict()
        for (key, _) in dit.parameterShapes { weights[key] = try t(key, f) }
        // The fixed table is the reference's.
        #expect(maxAbsDifference(weights["pos_embed"]!, DiT.positionEmbedding(dim: 32, gridSize: 4).reshaped([1, 16, 32])) <= 1e-6)
        let tape = Tape()
        let p = tape.bind(weights)
        let x = tape.constant(try t("input.x", f)), sigmas = try t("input.sigma", f).data
        let v = dit(x, sigmas: sigmas, labels: try ints("input.labels", f), p)
        expectClose(v.value, try t("output.v", f), rtol: 2e-5, "DiT forward")
        let loss = meanSquaredError(v, target: try t("input.target", f))
        expectClose(loss.value.reshaped([1]), try t("output.loss", f), rtol: 2e-5, "DiT loss")
        let grads = p.gradients(tape.backward(loss))
        for key in weights.keys where !DiT.frozenKeys.contains(key) {
            expectClose(grads[key]!, try t("grad.\(key)", f), rtol: 2e-5, "gradient of \(key)")
        }
        #expect(grads["pos_embed"]!.data.allSatisfy { $0 == 0 }, "pos_embed is not trained")
        // The inference path and classifier-free guidance (null label = num_classes).
        let xv = try t("input.x", f)
        expectClose(dit.forward(xv, sigmas: sigmas, labels: try ints("input.labels", f), weights: weights), try t("output.v", f),
                    rtol: 2e-5, "DiT inference forward")
        let w = try t("cfg.scale", f).data[0]
        let guided = dit.velocity(xv, sigmas: sigmas, labels: try ints("cfg.labels", f), guidance: [w, w, w], weights: weights)
        expectClose(guided, try t("cfg.out", f), rtol: 2e-5, "DiT guided velocity")
    }

    /// Fresh parameters follow the reference's initialize_weights: zero adaLN and final layer (so v = 0),
    /// xavier bounds, std 0.02 embeddings, the fixed position table.
    @Test func initialisation() throws {
        let dit = DiT(Self.small)
        let w = dit.initialParameters(seed: 7)
        for (k, t) in w.items {
            if k.contains("adaLN_modulation") || k.hasPrefix("final_layer") || k.hasSuffix(".bias") {
                #expect(t.data.allSatisfy { $0 == 0 }, "\(k) zero-initialised")
            }
        }
        #expect(w["pos_embed"] == DiT.positionEmbedding(dim: 32, gridSize: 4))
        let qkv = w["blocks.0.attn.qkv.weight"]!, bound = (6 / Float(32 + 96)).squareRoot()
        #expect(qkv.data.allSatisfy { abs($0) <= bound } && qkv.data.map(abs).max()! > 0.9 * bound)
        let table = w["y_embedder.embedding_table.weight"]!
        let std = (table.data.map { $0 * $0 }.reduce(0, +) / Float(table.count)).squareRoot()
        #expect(abs(std - 0.02) < 0.005)
        let x = randomTensor([2, 1, 8, 8], seed: 1)
        #expect(dit.forward(x, sigmas: [0.3, 0.9], labels: [0, 3], weights: w).data.allSatisfy { $0 == 0 })
    }

    /// A fresh DiT learns: Adam steps (lr 1e-2) on one fixed flow-matching batch lower the loss, and
    /// pos_embed never moves.
    @Test func trainingStepsLowerTheLoss() throws {
        let dit = DiT(Self.small)
        var w = dit.initialParameters(seed: 11)
        let x0 = randomTensor([4, 1, 8, 8], seed: 12), noise = randomTensor([4, 1, 8, 8], seed: 13)
        let sigmas: [Float] = [0.1, 0.4, 0.6, 0.9], labels = [0, 1, 2, 3]
        var xt = x0
        for i in 0..<4 { for j in 0..<64 { xt.data[i * 64 + j] = (1 - sigmas[i]) * x0.data[i * 64 + j] + sigmas[i] * noise.data[i * 64 + j] } }
        let target = noise - x0
        var losses: [Float] = []
        var m: [String: [Float]] = [:], v: [String: [Float]] = [:]
        for step in 1...40 {
            let tape = Tape()
            let p = tape.bind(w)
            let loss = meanSquaredError(dit(tape.constant(xt), sigmas: sigmas, labels: labels, p), target: target)
            losses.append(loss.value.scalar)
            let g = p.gradients(tape.backward(loss))
            for k in w.keys where !DiT.frozenKeys.contains(k) {
                var t = w[k]!, mk = m[k] ?? [Float](repeating: 0, count: t.count), vk = v[k] ?? [Float](repeating: 0, count: t.count)
                let gk = g[k]!.data, c1 = 1 - powf(0.9, Float(step)), c2 = 1 - powf(0.999, Float(step))
                for i in 0..<t.count {
                    mk[i] = 0.9 * mk[i] + 0.1 * gk[i]; vk[i] = 0.999 * vk[i] + 0.001 * gk[i] * gk[i]
                    t.data[i] -= 1e-2 * (mk[i] / c1) / ((vk[i] / c2).squareRoot() + 1e-8)
                }
                (w[k], m[k], v[k]) = (t, mk, vk)
            }
        }
        #expect(losses.last! < 0.5 * losses.first!, "losses \(losses)")
        #expect(w["pos_embed"] == DiT.positionEmbedding(dim: 32, gridSize: 4))
    }

    /// Writes a Swift-initialised DiT for tools/golden/check_dit_export.py (strict load into the reference):
    /// `$TMPDIR/flowsteer-dit/{init,perturbed,io}.safetensors`.
    @Test func exportForReferenceCheck() throws {
        let dir = (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/flowsteer-dit"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let dit = DiT(Self.small)
        let meta = [(key: "format", value: "pt"), (key: "config", value: Self.small.json)]
        let initial = dit.initialParameters(seed: 3)
        try Safetensors.write(stateDict: initial, metadata: meta, to: "\(dir)/init.safetensors")
        // Zero-initialised tensors made random so the forward check is not trivially zero.
        var g = SplitMix64(seed: 5)
        let perturbed = initial.mapTensors { k, t in
            t.data.allSatisfy { $0 == 0 } ? Tensor(shape: t.shape, data: g.normals(t.count).map { $0 * 0.05 }) : t
        }
        try Safetensors.write(stateDict: perturbed, metadata: meta, to: "\(dir)/perturbed.safetensors")
        let x = randomTensor([4, 1, 8, 8], seed: 9), sigmas: [Float] = [0.02, 0.3, 0.7, 1], labels = [0, 1, 2, 3]
        let v = dit.forward(x, sigmas: sigmas, labels: labels, weights: perturbed)
        let io = StateDict([("x", x), ("sigma", Tensor(shape: [4], data: sigmas)),
                            ("labels", Tensor(shape: [4], data: labels.map(Float.init))), ("v", v)])
        try Safetensors.write(stateDict: io, metadata: meta, to: "\(dir)/io.safetensors")
        #expect(FileManager.default.fileExists(atPath: "\(dir)/io.safetensors"))
    }
}
