import Foundation

/// A LoRA adapter setting as PEFT's `LoraConfig` names it: rank `r`, `lora_alpha`, `target_modules`.
///
/// A module is targeted as PEFT matches a list of targets: its name equals a target or ends with
/// "." + target ("attn.qkv" matches "blocks.3.attn.qkv"), so the names written to `target_modules`
/// select the same layers in PyTorch. Only linear layers are adapted (see `LoRA`).
public struct LoRAConfig: Codable, Equatable, Sendable {
    public var rank: Int
    public var alpha: Double
    public var targets: [String]

    /// The DiT's linears of every block and the final layer, the adaLN ones included (issue 21).
    public static let ditTargets = ["attn.qkv", "attn.proj", "mlp.fc1", "mlp.fc2",
                                    "adaLN_modulation.1", "final_layer.linear"]

    /// The UNet's linears: the timestep MLP and every ResBlock's embedding projection (its convolutions
    /// are not adapted).
    public static let unetTargets = ["time_embed.0", "time_embed.2", "emb_proj"]

    /// The default targets for a model: the DiT's when it has them, else the UNet's.
    public static func defaultTargets(base: [ParameterSpec]) -> [String] {
        base.contains { $0.key.hasSuffix(".attn.qkv.weight") } ? ditTargets : unetTargets
    }

    /// `alpha` defaults to the rank (scaling 1), PEFT's own default pairing (r 8, lora_alpha 8).
    public init(rank: Int, alpha: Double? = nil, targets: [String] = LoRAConfig.ditTargets) {
        (self.rank, self.alpha, self.targets) = (rank, alpha ?? Double(rank), targets)
    }

    /// alpha / r, rounded once to float32 (PyTorch multiplies a float32 tensor by the Python float).
    public var scaling: Float { Float(alpha / Double(rank)) }

    public func matches(module name: String) -> Bool {
        targets.contains { name == $0 || name.hasSuffix("." + $0) }
    }

    public func validate() throws {
        guard rank >= 1 else { throw LoRAError("LoRA rank must be at least 1, got \(rank)") }
        guard alpha.isFinite, alpha > 0 else { throw LoRAError("LoRA alpha must be finite and positive, got \(alpha)") }
        guard !targets.isEmpty else { throw LoRAError("LoRA needs at least one target module") }
        if let bad = targets.first(where: { $0.isEmpty || $0.hasPrefix(".") || $0.hasSuffix(".") }) {
            throw LoRAError("LoRA target '\(bad)' is not a module name")
        }
    }

    enum CodingKeys: String, CodingKey { case rank = "r", alpha = "lora_alpha", targets = "target_modules" }
}

public struct LoRAError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
