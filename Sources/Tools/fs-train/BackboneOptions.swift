import ArgumentParser
import Foundation
import NN
import ToolSupport

/// The backbone's size options over the preset's: the UNet's channels and embedding width, the DiT's
/// blocks, width, patch and heads. Options of the other backbone are a usage error.
struct BackboneOptions: ParsableArguments {
    @Option(help: "UNet: override the preset's channels, e.g. 16,32,32.") var channels: String?
    @Option(help: "UNet: override the time/class embedding width (reference 128).") var embedDim: Int?
    @Option(help: "DiT: override the preset's number of blocks.") var depth: Int?
    @Option(help: "DiT: override the preset's token width.") var hiddenSize: Int?
    @Option(help: "DiT: override the preset's patch size (it must divide the image size).") var patchSize: Int?
    @Option(help: "DiT: override the preset's attention heads.") var numHeads: Int?

    func validate() throws {
        if let embedDim, embedDim < 1 { throw ValidationError("--embed-dim must be at least 1, got \(embedDim)") }
        // Checked here, before the store is opened, so a usage error never creates one.
        if let channels { try OptionCheck.inValidate { _ = try Self.parseChannels(channels) } }
        for (flag, v) in [("--depth", depth), ("--hidden-size", hiddenSize), ("--patch-size", patchSize), ("--num-heads", numHeads)] {
            if let v, v < 1 { throw ValidationError("\(flag) must be at least 1, got \(v)") }
        }
    }

    /// The options applied to `config`.
    func apply(to config: ModelConfig) throws -> ModelConfig {
        switch config {
        case .unet(var c):
            if depth != nil || hiddenSize != nil || patchSize != nil || numHeads != nil {
                throw ToolError(.usage, "--depth/--hidden-size/--patch-size/--num-heads are DiT options (this run trains a UNet; add --model dit)")
            }
            if let channels { c.channels = try Self.parseChannels(channels) }
            if let embedDim { c.embedDim = embedDim }
            return .unet(c)
        case .dit(var c):
            if channels != nil || embedDim != nil {
                throw ToolError(.usage, "--channels/--embed-dim are UNet options (this run trains a DiT)")
            }
            if let depth { c.depth = depth }
            if let hiddenSize { c.hiddenSize = hiddenSize }
            if let patchSize { c.patchSize = patchSize }
            if let numHeads { c.numHeads = numHeads }
            return .dit(c)   // validated against the images by `adapt`
        }
    }

    static func parseChannels(_ s: String) throws -> [Int] {
        let c = s.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !c.isEmpty, c.allSatisfy({ $0 != nil && $0! > 0 && $0! % 8 == 0 }) else {
            throw ToolError(.usage, "--channels '\(s)': expected positive multiples of 8, e.g. 16,32,32")
        }
        return c.map { $0! }
    }
}
