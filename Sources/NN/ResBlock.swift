import TensorCore

/// h = conv1(SiLU(norm1(x))); h += emb_proj(SiLU(e)) per channel; h = conv2(SiLU(norm2(h)));
/// out = skip(x) + h, with `skip` a 1x1 conv only when the channel count changes.
public struct ResBlock: Layer, Sendable {
    public let key: String
    let norm1: GroupNorm, conv1: Conv2d, embProj: Linear, norm2: GroupNorm, conv2: Conv2d
    let skip: Conv2d?

    public init(_ key: String, _ cin: Int, _ cout: Int, embedDim: Int, groups: Int) {
        self.key = key
        norm1 = GroupNorm("\(key).norm1", groups: groups, channels: cin)
        conv1 = Conv2d("\(key).conv1", cin, cout, kernel: 3)
        embProj = Linear("\(key).emb_proj", embedDim, cout)
        norm2 = GroupNorm("\(key).norm2", groups: groups, channels: cout)
        conv2 = Conv2d("\(key).conv2", cout, cout, kernel: 3)
        skip = cin == cout ? nil : Conv2d("\(key).skip", cin, cout, kernel: 1)
    }

    public var parameterSpecs: [ParameterSpec] {
        norm1.parameterSpecs + conv1.parameterSpecs + embProj.parameterSpecs
            + norm2.parameterSpecs + conv2.parameterSpecs + (skip?.parameterSpecs ?? [])
    }

    /// `siluEmb` is SiLU(e), computed once per forward pass and shared by every block.
    public func callAsFunction(_ x: Var, siluEmb: Var, _ p: Parameters) -> Var {
        rest(norm1(x, p, silu: true), residual: { skip.map { $0(x, p) } ?? x }, siluEmb: siluEmb, p)
    }

    /// The block on the channel concatenation of `parts` (a decoder's [upsampled, skip]) without forming it:
    /// norm1 and the 1x1 skip conv read the parts in place, and write their gradients into each part.
    public func callAsFunction(parts: [Var], siluEmb: Var, _ p: Parameters) -> Var {
        guard let skip else {   // the identity residual needs the concatenation itself
            return callAsFunction(parts.dropFirst().reduce(parts[0]) { concatChannels($0, $1) }, siluEmb: siluEmb, p)
        }
        return rest(norm1(parts: parts, p, silu: true), residual: { skip(parts: parts, p) }, siluEmb: siluEmb, p)
    }

    /// conv1, norm2, conv2 + residual, in the tape order of the unfused block (the residual after norm2).
    private func rest(_ n1: Var, residual: () -> Var, siluEmb: Var, _ p: Parameters) -> Var {
        // conv1 adds the time embedding in its own output pass (was: addSampleChannel after it).
        let h = conv1(n1, sampleBias: embProj(siluEmb, p), p)
        // conv2 adds the residual in its own output pass (was: `(skip(x) ?? x) + conv2(...)`).
        let n2 = norm2(h, p, silu: true)
        return conv2(n2, residual: residual(), p)
    }
}
