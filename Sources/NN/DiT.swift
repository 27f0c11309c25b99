import Foundation
import TensorCore

/// The class-conditional DiT velocity backbone (Peebles & Xie, facebookresearch/DiT `models.py`,
/// learn_sigma = False), with the reference's state-dict names, shapes, order and initialisation.
///
/// Same seam as `UNet`: input x [n, C, S, S] at noise level sigma (fed as t = 1000 sigma into the
/// 256-frequency [cos, sin] embedding), labels 0..<num_classes or the null label num_classes;
/// output v ≈ eps - x0 with the shape of x.
///
///     x  -> patchify -> x_embedder (the stride-p conv as one GEMM) + pos_embed      [n, T, D]
///     c  =  t_embedder(1000 sigma) + y_embedder(label)                              [n, D]
///     blocks.i: shift/scale/gate (x2) = adaLN_modulation(SiLU(c)).chunk(6)
///               x += gate_msa * attn(modulate(LN(x), shift_msa, scale_msa))
///               x += gate_mlp * mlp(modulate(LN(x), shift_mlp, scale_mlp))      (LN: no affine, eps 1e-6)
///     final_layer: linear(modulate(LN(x), shift, scale)) -> unpatchify               [n, C, S, S]
///
/// `pos_embed` is the fixed 2-D sin-cos table; it is in the state dict (as in the reference) but not
/// trained: the forward uses it as a constant, so its gradient is zero, and trainers must skip
/// `frozenKeys` (AdamW's weight decay would otherwise shrink it).
public struct DiT: Layer, Sendable {
    public let config: DiTConfig
    /// State-dict keys that hold fixed buffers, not trainable parameters.
    public static let frozenKeys: Set<String> = ["pos_embed"]
    /// LayerNorm epsilon of every norm (norm1, norm2, norm_final).
    public static let normEps: Float = 1e-6
    /// Width of the sinusoidal timestep features (`frequency_embedding_size`).
    public static let frequencyEmbeddingSize = 256

    public init(_ config: DiTConfig) {
        do { try config.validate() } catch { preconditionFailure("\(error)") }
        self.config = config
    }

    // MARK: Parameters

    public var parameterSpecs: [ParameterSpec] {
        let c = config, d = c.hiddenSize, p = c.patchSize, f = Self.frequencyEmbeddingSize
        func linear(_ key: String, _ inF: Int, _ outF: Int, zero: Bool = false, std: Float? = nil) -> [ParameterSpec] {
            let w: Initializer = zero ? .zeros : std.map { .normalScaled(std: $0) } ?? .xavierUniform(fanIn: inF, fanOut: outF)
            return [.init("\(key).weight", [outF, inF], w), .init("\(key).bias", [outF], .zeros)]
        }
        var s: [ParameterSpec] = [
            .init("pos_embed", [1, c.tokens, d], .fixed(Self.positionEmbedding(dim: d, gridSize: c.gridSize))),
            .init("x_embedder.proj.weight", [d, c.inChannels, p, p], .xavierUniform(fanIn: c.inChannels * p * p, fanOut: d)),
            .init("x_embedder.proj.bias", [d], .zeros),
        ]
        s += linear("t_embedder.mlp.0", f, d, std: 0.02) + linear("t_embedder.mlp.2", d, d, std: 0.02)
        s.append(.init("y_embedder.embedding_table.weight", [c.numClasses + 1, d], .normalScaled(std: 0.02)))
        for i in 0..<c.depth {
            let b = "blocks.\(i)"
            s += linear("\(b).attn.qkv", d, 3 * d) + linear("\(b).attn.proj", d, d)
            s += linear("\(b).mlp.fc1", d, c.mlpHidden) + linear("\(b).mlp.fc2", c.mlpHidden, d)
            s += linear("\(b).adaLN_modulation.1", d, 6 * d, zero: true)
        }
        s += linear("final_layer.linear", d, p * p * c.inChannels, zero: true)
        s += linear("final_layer.adaLN_modulation.1", d, 2 * d, zero: true)
        return s
    }

    /// The reference's `get_2d_sincos_pos_embed(dim, grid)` as [1, grid², dim]: token m = i grid + j;
    /// the first half encodes the column j, the second the row i (numpy's meshgrid puts w first), each
    /// half [sin(pos ω), cos(pos ω)] with ω_k = 10000^(-k / (dim/4)), in float64, stored as float32.
    public static func positionEmbedding(dim: Int, gridSize g: Int) -> Tensor {
        precondition(dim % 4 == 0, "positionEmbedding: dim \(dim) not a multiple of 4")
        let q = dim / 4
        let omega = (0..<q).map { 1 / pow(10000.0, Double($0) / Double(q)) }
        var out = [Float](repeating: 0, count: g * g * dim)
        for i in 0..<g { for j in 0..<g {
            let row = (i * g + j) * dim
            for k in 0..<q {
                let a = Double(j) * omega[k], b = Double(i) * omega[k]
                out[row + k] = Float(sin(a)); out[row + q + k] = Float(cos(a))
                out[row + 2 * q + k] = Float(sin(b)); out[row + 3 * q + k] = Float(cos(b))
            }
        } }
        return Tensor(shape: [1, g * g, dim], data: out)
    }

    // MARK: Forward on the tape

    /// c = t_embedder(timestep_embedding(1000 sigma, 256)) + y_embedder(label)  [n, D].
    public func conditioning(sigmas: [Float], labels: [Int], _ p: Parameters, tape: Tape) -> Var {
        precondition(sigmas.count == labels.count, "DiT: \(sigmas.count) sigmas for \(labels.count) labels")
        let t = tape.constant(sinusoidalEmbedding(sigmas.map { $0 * 1000 }, dim: Self.frequencyEmbeddingSize))
        let h = silu(linear(t, weight: p["t_embedder.mlp.0.weight"], bias: p["t_embedder.mlp.0.bias"]))
        let temb = linear(h, weight: p["t_embedder.mlp.2.weight"], bias: p["t_embedder.mlp.2.bias"])
        return temb + embedding(p["y_embedder.embedding_table.weight"], indices: labels)
    }

    /// Patch embedding plus the fixed position table: [n, T, D].
    public func embedPatches(_ x: Var, _ p: Parameters) -> Var {
        let c = config
        let w = reshape(p["x_embedder.proj.weight"], [c.hiddenSize, c.inChannels * c.patchSize * c.patchSize])
        let tokens = linearRows(patchify(x, patch: c.patchSize), weight: w, bias: p["x_embedder.proj.bias"])
        return addBroadcastSamples(tokens, x.tape.constant(p["pos_embed"].value))
    }

    /// One adaLN-Zero block; `siluC` is SiLU(c), shared by every block.
    public func block(_ i: Int, _ x: Var, siluC: Var, _ p: Parameters) -> Var {
        let b = "blocks.\(i)"
        func lin(_ key: String, _ v: Var) -> Var { linearRows(v, weight: p["\(b).\(key).weight"], bias: p["\(b).\(key).bias"]) }
        let m = chunkColumns(lin("adaLN_modulation.1", siluC), parts: 6)   // shift, scale, gate (msa), then (mlp)
        // Fused where it saves passes: LayerNorm with modulate, the gated residual add with attn.proj, the
        // MLP (fc1, GELU, fc2 and its gated residual) as one op (same bits as the separate ops).
        func gatedResidual(_ key: String, _ v: Var, onto r: Var, gate: Var) -> Var {
            linearRowsGatedResidual(v, weight: p["\(b).\(key).weight"], bias: p["\(b).\(key).bias"], residual: r, gate: gate)
        }
        let attn = multiHeadAttention(lin("attn.qkv", layerNormModulate(x, eps: Self.normEps, shift: m[0], scale: m[1])),
                                      heads: config.numHeads)
        let h = gatedResidual("attn.proj", attn, onto: x, gate: m[2])
        return mlpGatedResidual(layerNormModulate(h, eps: Self.normEps, shift: m[3], scale: m[4]),
                                fc1: (p["\(b).mlp.fc1.weight"], p["\(b).mlp.fc1.bias"]),
                                fc2: (p["\(b).mlp.fc2.weight"], p["\(b).mlp.fc2.bias"]), residual: h, gate: m[5])
    }

    /// The final layer and unpatchify: [n, T, D] -> [n, C, S, S].
    public func finalLayer(_ x: Var, siluC: Var, _ p: Parameters) -> Var {
        let c = config
        let m = chunkColumns(linearRows(siluC, weight: p["final_layer.adaLN_modulation.1.weight"],
                                        bias: p["final_layer.adaLN_modulation.1.bias"]), parts: 2)
        let h = layerNormModulate(x, eps: Self.normEps, shift: m[0], scale: m[1])
        let out = linearRows(h, weight: p["final_layer.linear.weight"], bias: p["final_layer.linear.bias"])
        return unpatchify(out, patch: c.patchSize, channels: c.inChannels, height: c.inputSize, width: c.inputSize)
    }

    /// The velocity prediction v(x, sigma, label) on the tape (same signature as `UNet.callAsFunction`).
    public func callAsFunction(_ x: Var, sigmas: [Float], labels: [Int], _ p: Parameters) -> Var {
        let c = config
        precondition(x.shape == [sigmas.count, c.inChannels, c.inputSize, c.inputSize],
                     "DiT: input \(x.shape) for \(sigmas.count) sigmas (want [n, \(c.inChannels), \(c.inputSize), \(c.inputSize)])")
        let siluC = silu(conditioning(sigmas: sigmas, labels: labels, p, tape: x.tape))
        var h = embedPatches(x, p)
        for i in 0..<c.depth { h = block(i, h, siluC: siluC, p) }
        return finalLayer(h, siluC: siluC, p)
    }

    // MARK: Inference

    /// One forward pass without gradients.
    public func forward(_ x: Tensor, sigmas: [Float], labels: [Int], weights: StateDict) -> Tensor {
        let tape = Tape(recordsPullbacks: false)
        return self(tape.constant(x), sigmas: sigmas, labels: labels, tape.bind(weights, trainable: false)).value
    }

    /// v with classifier-free guidance w per sample, as `VelocityModel.velocity` does for the UNet:
    /// v_null + w (v_cond - v_null); samples with w == 1 cost one evaluation, the others are batched
    /// with their null-label twins.
    public func velocity(_ x: Tensor, sigmas: [Float], labels: [Int], guidance: [Float], weights: StateDict) -> Tensor {
        guidedVelocity(x, sigmas: sigmas, labels: labels, guidance: guidance, nullLabel: config.nullLabel) {
            forward($0, sigmas: $1, labels: $2, weights: weights)
        }
    }
}

extension DiT: VelocityNetwork {
    public var modelConfig: ModelConfig { .dit(config) }
    public var numClasses: Int { config.numClasses }
    public var inChannels: Int { config.inChannels }
    public var frozenKeys: Set<String> { Self.frozenKeys }

    /// Exactly input_size x input_size images (the position table is fixed to that grid).
    public func checkInput(channels: Int, height: Int, width: Int) throws {
        guard channels == config.inChannels else {
            throw NetworkInputError("images have \(channels) channels, but the DiT takes \(config.inChannels) (in_channels)")
        }
        guard height == config.inputSize, width == config.inputSize else {
            throw NetworkInputError("images are \(height)x\(width), but the DiT takes \(config.inputSize)x\(config.inputSize) (input_size)")
        }
    }

    /// The tokens after each of the first `blocks` blocks (default `defaultEncoderBlocks`), [n, T, D] each.
    public func encoderFeatures(_ x: Var, sigmas: [Float], labels: [Int], blocks: Int?, _ p: Parameters) -> [Var] {
        let k = blocks ?? defaultEncoderBlocks
        precondition((1...config.depth).contains(k), "DiT: \(k) encoder blocks of \(config.depth)")
        let siluC = silu(conditioning(sigmas: sigmas, labels: labels, p, tape: x.tape))
        var h = embedPatches(x, p), features: [Var] = []
        for i in 0..<k { h = block(i, h, siluC: siluC, p); features.append(h) }
        return features
    }

    /// Half the blocks, rounded up: deep enough to judge structure, cheaper than the whole teacher.
    public var defaultEncoderBlocks: Int { (config.depth + 1) / 2 }

    public func isEncoderKey(_ key: String, blocks: Int?) -> Bool {
        if key == "pos_embed" || key.hasPrefix("x_embedder.") || key.hasPrefix("t_embedder.") || key.hasPrefix("y_embedder.") {
            return true
        }
        guard key.hasPrefix("blocks."), let i = Int(key.dropFirst(7).prefix { $0 != "." }) else { return false }
        return i < (blocks ?? defaultEncoderBlocks)
    }

    public func encoderFeatureLayouts(blocks: Int?) -> [FeatureLayout] {
        Array(repeating: .tokens(width: config.hiddenSize), count: blocks ?? defaultEncoderBlocks)
    }

    public var maxEncoderBlocks: Int? { config.depth }

    /// The mean over tokens of SiLU(tokens): [n, D].
    public func pooledFeature(_ last: Var) -> Var { meanTokens(silu(last)) }

    public var featureWidth: Int { config.hiddenSize }
    /// No: a token GEMM of a few samples (K = 32..49, M = 16 rows per sample) takes OpenBLAS's
    /// small-matrix kernel, whose bits differ from the blocked kernel's, so partial groups stay padded.
    public var rowsIndependentOfCount: Bool { false }
}
