import TensorCore

/// The class-conditional velocity UNet (issue 2's binding spec; PyTorch names and layouts).
///
/// Input x [n, 1, 28, 28] at noise level sigma (fed as t = 1000 sigma), labels 0..9 or the null
/// label 10; output v ≈ eps - x0, same shape as x.
public struct UNet: Layer, Sendable {
    public let config: UNetConfig
    let timeIn: Linear, timeOut: Linear, classEmbed: Embedding, convIn: Conv2d
    let downsample: [Conv2d?], downBlocks: [ResBlock], mid: ResBlock, upBlocks: [ResBlock]
    let normOut: GroupNorm, convOut: Conv2d

    public init(_ config: UNetConfig) {
        self.config = config
        let c = config.channels, e = config.embedDim, g = config.groups
        precondition(!c.isEmpty, "UNet: no channel levels")
        timeIn = Linear("time_embed.0", config.timeFeatures, e)
        timeOut = Linear("time_embed.2", e, e)
        classEmbed = Embedding("class_embed", count: config.numClasses + 1, dim: e)
        convIn = Conv2d("conv_in", config.inChannels, c[0], kernel: 3)
        downsample = c.indices.map { i in i == 0 ? nil : Conv2d("down.\(i).downsample", c[i - 1], c[i - 1], kernel: 3, stride: 2) }
        downBlocks = c.indices.map { i in ResBlock("down.\(i).block", i == 0 ? c[0] : c[i - 1], c[i], embedDim: e, groups: g) }
        mid = ResBlock("mid", c.last!, c.last!, embedDim: e, groups: g)
        upBlocks = c.indices.map { i in
            let prev = i == c.count - 1 ? c.last! : c[i + 1]
            return ResBlock("up.\(i).block", prev + c[i], c[i], embedDim: e, groups: g)
        }
        normOut = GroupNorm("norm_out", groups: g, channels: c[0])
        // Zero-initialised output: a fresh model predicts v = 0 (DiT's final-layer init).
        convOut = Conv2d("conv_out", c[0], config.inChannels, kernel: 3, zeroInit: true)
    }

    public var parameterSpecs: [ParameterSpec] {
        var s = timeIn.parameterSpecs + timeOut.parameterSpecs + classEmbed.parameterSpecs + convIn.parameterSpecs
        for i in config.channels.indices {
            s += downsample[i]?.parameterSpecs ?? []
            s += downBlocks[i].parameterSpecs
        }
        s += mid.parameterSpecs
        for b in upBlocks { s += b.parameterSpecs }
        return s + normOut.parameterSpecs + convOut.parameterSpecs
    }

    /// e = time_embed(sinusoidal(1000 sigma)) + class_embed(label).
    public func embedding(sigmas: [Float], labels: [Int], _ p: Parameters, tape: Tape) -> Var {
        precondition(sigmas.count == labels.count, "UNet: \(sigmas.count) sigmas for \(labels.count) labels")
        let t = tape.constant(sinusoidalEmbedding(sigmas.map { $0 * 1000 }, dim: config.timeFeatures))
        return timeOut(silu(timeIn(t, p)), p) + classEmbed(labels, p)
    }

    /// The encoder half: the output of every down block and of the middle block (discriminator features).
    public func encode(_ x: Var, siluEmb: Var, _ p: Parameters) -> [Var] {
        var h = convIn(x, p)
        var features: [Var] = []
        for i in config.channels.indices {
            if let ds = downsample[i] { h = ds(h, p) }
            h = downBlocks[i](h, siluEmb: siluEmb, p)
            features.append(h)
        }
        features.append(mid(h, siluEmb: siluEmb, p))
        return features
    }

    /// The velocity prediction v(x, sigma, label).
    public func callAsFunction(_ x: Var, sigmas: [Float], labels: [Int], _ p: Parameters) -> Var {
        precondition(x.shape.count == 4 && x.shape[0] == sigmas.count, "UNet: input \(x.shape) for \(sigmas.count) sigmas")
        let siluEmb = silu(embedding(sigmas: sigmas, labels: labels, p, tape: x.tape))
        let features = encode(x, siluEmb: siluEmb, p)
        var h = features.last!
        for i in config.channels.indices.reversed() {
            let skip = features[i]
            h = resizeNearest(h, height: skip.shape[2], width: skip.shape[3])
            // [h, skip] read in place by the block: no concatenated copy, forward or backward
            h = upBlocks[i](parts: [h, skip], siluEmb: siluEmb, p)
        }
        return convOut(normOut(h, p, silu: true), p)
    }
}

extension UNet: VelocityNetwork {
    public var modelConfig: ModelConfig { .unet(config) }
    public var numClasses: Int { config.numClasses }
    public var inChannels: Int { config.inChannels }

    /// Any size the downsampling divides: each level after the first halves the image.
    public func checkInput(channels: Int, height: Int, width: Int) throws {
        let levels = config.channels.count, factor = 1 << (levels - 1)
        guard channels == config.inChannels else {
            throw NetworkInputError("images have \(channels) channels, but the UNet takes \(config.inChannels)")
        }
        guard height > 0, width > 0, height % factor == 0, width % factor == 0 else {
            throw NetworkInputError("images are \(height)x\(width), but a UNet with \(levels) levels halves them "
                                    + "\(levels - 1) times: the size must be a multiple of \(factor) (choose fewer "
                                    + "--channels levels, or resize the images)")
        }
    }

    /// Every down block and the middle block; the UNet's encoder depth is fixed (`blocks` must be nil).
    public func encoderFeatures(_ x: Var, sigmas: [Float], labels: [Int], blocks: Int?, _ p: Parameters) -> [Var] {
        precondition(blocks == nil, "UNet: the encoder depth is fixed (no block count)")
        return encode(x, siluEmb: silu(embedding(sigmas: sigmas, labels: labels, p, tape: x.tape)), p)
    }

    public func isEncoderKey(_ key: String, blocks: Int?) -> Bool {
        key.hasPrefix("time_embed.") || key.hasPrefix("class_embed.") || key.hasPrefix("conv_in.")
            || key.hasPrefix("down.") || key.hasPrefix("mid.")
    }

    /// One map per down block (its channels), then the middle block's.
    public func encoderFeatureLayouts(blocks: Int?) -> [FeatureLayout] {
        (config.channels + [config.channels.last!]).map { .maps(channels: $0) }
    }

    public var maxEncoderBlocks: Int? { nil }
    /// Global average pooling of SiLU(middle block): [n, c_last].
    public func pooledFeature(_ last: Var) -> Var { meanSpatial(silu(last)) }
    public var featureWidth: Int { config.channels.last! }
    /// Convs, norms and resizes work per sample, and `linear` multiplies at least 8 rows.
    public var rowsIndependentOfCount: Bool { true }
}
