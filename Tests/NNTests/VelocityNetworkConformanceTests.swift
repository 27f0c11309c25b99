import Foundation
import Testing
@testable import NN
import TensorCore
import TestSupport

/// The suite every `VelocityNetwork` passes (docs/design.md: a new backbone adds its tiny config to
/// `cases`): shapes, zero-initialised output, a finite-difference gradient check of the whole network,
/// a safetensors save/load round trip under PyTorch names, and the config JSON round trip.
@Suite struct VelocityNetworkConformanceTests {
    /// Tiny configurations of every backbone, on 8x8 images with 2 channels and 3 classes.
    static let cases: [ModelConfig] = [
        .unet({ var c = UNetConfig(channels: [8, 16], embedDim: 16); c.timeFeatures = 8; c.numClasses = 3; c.inChannels = 2; return c }()),
        .dit(DiTConfig(inputSize: 8, patchSize: 4, inChannels: 2, hiddenSize: 16, depth: 2, numHeads: 2, mlpRatio: 2, numClasses: 3)),
    ]
    static let shape = [3, 2, 8, 8]
    static let sigmas: [Float] = [0.9, 0.5, 0.1], labels = [0, 2, 3]   // 3: the null label

    /// Initial weights with every tensor perturbed (zero-initialised layers would hide most of the
    /// gradient), fixed buffers kept.
    static func perturbed(_ net: any VelocityNetwork) -> StateDict {
        var w = net.initialParameters(seed: 1)
        for (i, (k, t)) in w.items.enumerated() where !net.frozenKeys.contains(k) {
            w[k] = t + randomTensor(t.shape, seed: UInt64(100 + i), scale: 0.1)
        }
        return w
    }

    @Test(arguments: cases) func shapesAndGeometry(_ config: ModelConfig) throws {
        let net = config.makeNetwork()
        let w = net.initialParameters(seed: 0)
        #expect(w.keys == net.parameterShapes.map(\.key))
        for (k, s) in net.parameterShapes { #expect(w[k]!.shape == s, "\(k)") }
        #expect(net.modelConfig == config && net.nullLabel == 3 && net.inChannels == 2)
        let v = net.forward(randomTensor(Self.shape, seed: 2), sigmas: Self.sigmas, labels: Self.labels, weights: Self.perturbed(net))
        #expect(v.shape == Self.shape && v.isFinite)
        try net.checkInput(channels: 2, height: 8, width: 8)
        #expect(throws: NetworkInputError.self) { try net.checkInput(channels: 3, height: 8, width: 8) }
        #expect(throws: NetworkInputError.self) { try net.checkInput(channels: 2, height: 7, width: 8) }
        // fitted(...) adapts to a dataset or names why it cannot.
        let fitted = try config.fitted(channels: 1, height: 16, width: 16, classes: 5)
        #expect(fitted.inChannels == 1 && fitted.numClasses == 5)
        try fitted.makeNetwork().checkInput(channels: 1, height: 16, width: 16)
        #expect(throws: NetworkInputError.self) { try config.fitted(channels: 1, height: 9, width: 9, classes: 5) }
    }

    /// The encoder's features have the layouts the seam declares (what discriminator heads are built for).
    @Test(arguments: cases) func encoderFeaturesMatchTheirLayouts(_ config: ModelConfig) {
        let net = config.makeNetwork()
        let tape = Tape(recordsPullbacks: false)
        let f = net.encoderFeatures(tape.constant(randomTensor(Self.shape, seed: 5)), sigmas: Self.sigmas, labels: Self.labels,
                                    blocks: nil, tape.bind(Self.perturbed(net), trainable: false))
        let layouts = net.encoderFeatureLayouts(blocks: nil)
        #expect(f.count == layouts.count && !f.isEmpty)
        for (v, l) in zip(f, layouts) {
            switch l {
            case .maps(let c): #expect(v.shape.count == 4 && v.shape[0] == 3 && v.shape[1] == c, "\(v.shape)")
            case .tokens(let d): #expect(v.shape.count == 3 && v.shape[0] == 3 && v.shape[2] == d, "\(v.shape)")
            }
        }
        #expect(net.featureWidth == { switch layouts.last! { case .maps(let c): c; case .tokens(let d): d } }())
    }

    /// Both backbones zero-initialise their output layer (DiT's adaLN-Zero, the UNet's conv_out): v = 0.
    @Test(arguments: cases) func freshNetworkPredictsZero(_ config: ModelConfig) {
        let net = config.makeNetwork()
        let v = net.forward(randomTensor(Self.shape, seed: 3), sigmas: Self.sigmas, labels: Self.labels,
                            weights: net.initialParameters(seed: 4))
        #expect(v.data.allSatisfy { $0 == 0 })
    }

    /// d v / d (x, every trainable parameter) against central differences; fixed buffers are constants
    /// (their numeric gradient is not zero, so a buffer that leaked into training would fail here).
    @Test(arguments: cases) func gradientMatchesFiniteDifferences(_ config: ModelConfig) {
        let net = config.makeNetwork()
        let w = Self.perturbed(net)
        let trainable = w.keys.filter { !net.frozenKeys.contains($0) }
        let x = randomTensor(Self.shape, seed: 5)
        let worst = gradCheck([x] + trainable.map { w[$0]! }, probes: 6, step: 1e-2) { vars in
            let tape = vars[0].tape
            var bound: [String: Var] = [:]
            for (k, v) in zip(trainable, vars.dropFirst()) { bound[k] = v }
            for k in net.frozenKeys { bound[k] = tape.constant(w[k]!) }
            return net(vars[0], sigmas: Self.sigmas, labels: Self.labels, Parameters(vars: bound, keys: w.keys))
        }
        #expect(worst < 2e-2, "\(config.kind): worst relative error \(worst)")
    }

    /// The encoder (discriminator features) reads only the keys `isEncoderKey` names.
    @Test(arguments: cases) func encoderFeaturesUseOnlyEncoderKeys(_ config: ModelConfig) {
        let net = config.makeNetwork()
        let blocks = net.maxEncoderBlocks.map { _ in 1 }
        let w = Self.perturbed(net)
        let tape = Tape(recordsPullbacks: false)
        var bound: [String: Var] = [:]
        for (k, t) in w.items where net.isEncoderKey(k, blocks: blocks) { bound[k] = tape.constant(t) }
        #expect(bound.count < w.count)
        let f = net.encoderFeatures(tape.constant(randomTensor(Self.shape, seed: 6)), sigmas: Self.sigmas, labels: Self.labels,
                                    blocks: blocks, Parameters(vars: bound, keys: Array(bound.keys)))
        #expect(!f.isEmpty && f.allSatisfy { $0.shape[0] == 3 && $0.value.isFinite })
        #expect(net.pooledFeature(f.last!).shape == [3, net.featureWidth])
    }

    /// Weights and config survive safetensors (PyTorch names, `config` JSON string in `__metadata__`)
    /// and give the same bits.
    @Test(arguments: cases) func safetensorsRoundTrip(_ config: ModelConfig) throws {
        let net = config.makeNetwork()
        let w = Self.perturbed(net)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("conformance-\(config.kind)-\(getpid()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Safetensors.write(stateDict: w, metadata: [("config", config.json)], to: path)
        let (read, meta) = try Safetensors.readStateDict(path: path)
        #expect(Set(read.keys) == Set(net.parameterShapes.map(\.key)))
        try read.validate(against: net.parameterShapes)
        let again = try ModelConfig.fromJSON(try #require(meta.first { $0.key == "config" }).value)
        #expect(again == config)
        let x = randomTensor(Self.shape, seed: 7)
        let a = net.forward(x, sigmas: Self.sigmas, labels: Self.labels, weights: w)
        let b = again.makeNetwork().forward(x, sigmas: Self.sigmas, labels: Self.labels, weights: read)
        #expect(a.data == b.data)
    }

    @Test(arguments: cases) func configJSONRoundTrip(_ config: ModelConfig) throws {
        let text = config.json
        #expect(try ModelConfig.fromJSON(text) == config)
        #expect(try OrderedJSON.parse(text)["model"]?.stringValue == config.kind)
    }

    /// Checkpoints made before the seam record a bare UNet config: it decodes as a UNet, keys unchanged.
    @Test func untaggedConfigIsUNet() throws {
        let old = #"{"channels":[16,32,32],"embed_dim":128,"groups":8,"in_channels":1,"num_classes":10,"time_features":64}"#
        guard case .unet(let u) = try ModelConfig.fromJSON(old) else { Issue.record("not a UNet"); return }
        #expect(u == UNetConfig(channels: [16, 32, 32]))
        #expect(ModelConfig.unet(u).json
                == #"{"channels":[16,32,32],"embed_dim":128,"groups":8,"in_channels":1,"model":"unet","num_classes":10,"time_features":64}"#)
        #expect(throws: (any Error).self) { try ModelConfig.fromJSON(#"{"model":"vit","depth":2}"#) }
        let dit = try OrderedJSON.parse(ModelConfig.dit(DiTConfig()).json)
        #expect(dit.objectValue!.map(\.0).sorted() == ["class_dropout_prob", "depth", "hidden_size", "in_channels", "input_size",
                                                        "learn_sigma", "mlp_ratio", "model", "num_classes", "num_heads", "patch_size"])
    }
}
