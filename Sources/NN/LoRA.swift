import TensorCore

/// LoRA adapters on a model's linear layers, as PEFT defines them (huggingface/peft, tuners/lora):
/// for a linear `{m}` with weight W [out, in], `{m}.lora_A.weight` A [r, in] (kaiming-uniform with
/// a = sqrt(5), i.e. U(±1/sqrt(in)), nn.Linear's default) and `{m}.lora_B.weight` B [out, r] (zeros),
/// effective weight W + (alpha / r) B A. B = 0 makes a fresh adapter the base model exactly.
///
/// The adapters act on the bound parameters, not on the network: `apply` swaps each targeted weight
/// for W + s B A formed on the tape, so any backbone's forward runs unchanged and gradients reach only
/// A and B when the base is bound as constants. `merged` forms the same sums with the same kernels,
/// so a merged model computes exactly what base + adapters compute.
public struct LoRA: Layer, Sendable {
    /// One adapted linear: its module name and weight shape.
    public struct Module: Equatable, Sendable {
        public let name: String, inFeatures: Int, outFeatures: Int
    }

    public let config: LoRAConfig
    public let modules: [Module]

    /// Adapts every linear of `base` that `config` targets. A linear is a module with a 2-D
    /// `{m}.weight` and a `{m}.bias` (an embedding table has no bias, a conv a 4-D weight).
    /// Throws if a target matches no linear, so a typo never trains nothing.
    public init(_ config: LoRAConfig, base: [ParameterSpec]) throws {
        try config.validate()
        let keys = Set(base.map(\.key))
        var modules: [Module] = []
        for s in base where s.key.hasSuffix(".weight") && s.shape.count == 2 {
            let m = String(s.key.dropLast(".weight".count))
            if keys.contains(m + ".bias"), config.matches(module: m) {
                modules.append(Module(name: m, inFeatures: s.shape[1], outFeatures: s.shape[0]))
            }
        }
        for t in config.targets where !modules.contains(where: { $0.name == t || $0.name.hasSuffix("." + t) }) {
            throw LoRAError("LoRA target '\(t)' matches no linear layer of the model")
        }
        (self.config, self.modules) = (config, modules)
    }

    /// The same, with the base given by its weights (the names and shapes are all LoRA needs).
    public init(_ config: LoRAConfig, baseWeights: StateDict) throws {
        try self.init(config, base: baseWeights.items.map { ParameterSpec($0.0, $0.1.shape, .zeros) })
    }

    public static func aKey(_ module: String) -> String { module + ".lora_A.weight" }
    public static func bKey(_ module: String) -> String { module + ".lora_B.weight" }

    /// A then B per module, in the base's parameter order (the order PEFT registers them).
    public var parameterSpecs: [ParameterSpec] {
        modules.flatMap { m in
            [ParameterSpec(Self.aKey(m.name), [config.rank, m.inFeatures], .kaimingUniform(fanIn: m.inFeatures)),
             ParameterSpec(Self.bKey(m.name), [m.outFeatures, config.rank], .zeros)]
        }
    }

    /// Throws unless `adapters` holds exactly this LoRA's keys and shapes.
    public func validate(adapters: StateDict) throws {
        do { try adapters.validate(against: parameterShapes) } catch let e as StateDictMismatch {
            throw LoRAError("LoRA adapters (rank \(config.rank)): \(e.summary())")
        }
    }

    /// The base parameters with every targeted weight replaced by W + s B A on the tape.
    /// Bind the base with `trainable: false` and the adapters with `trainable: true` to train A and B only.
    public func apply(_ base: Parameters, _ adapters: Parameters) -> Parameters {
        var vars = base.vars
        for m in modules {
            vars[m.name + ".weight"] = Self.effectiveWeight(base[m.name + ".weight"], a: adapters[Self.aKey(m.name)],
                                                            b: adapters[Self.bKey(m.name)], scaling: config.scaling)
        }
        return Parameters(vars: vars, keys: base.keys)
    }

    /// W + s (B A), in PEFT's order of operations (the product, then the scaling, then the sum).
    public static func effectiveWeight(_ w: Var, a: Var, b: Var, scaling: Float) -> Var {
        matmul(b, a) * scaling + w
    }

    /// The merged weights: the base with W + (alpha / r) B A for every adapted module, every other
    /// tensor unchanged (a plain model of the base's architecture).
    public func merged(base: StateDict, adapters: StateDict) -> StateDict {
        let tape = Tape(recordsPullbacks: false)
        let effective = apply(tape.bind(base, trainable: false), tape.bind(adapters, trainable: false))
        var out = base
        for m in modules { out[m.name + ".weight"] = effective[m.name + ".weight"].value }
        return out
    }
}
