import TensorCore
import Foundation

/// How a parameter is initialised (PyTorch's defaults, so a fresh model matches `nn.Module` init in law).
public enum Initializer: Sendable {
    /// kaiming_uniform_(a=sqrt(5)) as nn.Linear / nn.Conv2d do: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    case kaimingUniform(fanIn: Int)
    /// The default bias init of nn.Linear / nn.Conv2d: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    case pytorchBias(fanIn: Int)
    case zeros
    case ones
    /// N(0, 1), nn.Embedding's default.
    case normal
    /// N(0, std^2) (DiT's embedding table and timestep MLP weights, std 0.02).
    case normalScaled(std: Float)
    /// xavier_uniform_: U(-a, a), a = sqrt(6 / (fan_in + fan_out)) (DiT's linear and patch-embedding weights).
    case xavierUniform(fanIn: Int, fanOut: Int)
    /// Fixed values, not drawn (DiT's sin-cos `pos_embed`).
    case fixed(Tensor)

    func make(_ shape: [Int], rng: inout SplitMix64) -> Tensor {
        let n = shape.reduce(1, *)
        switch self {
        case .zeros: return Tensor(zeros: shape)
        case .ones: return Tensor(repeating: 1, shape: shape)
        case .normal: return Tensor(shape: shape, data: rng.normals(n))
        case .normalScaled(let std): return Tensor(shape: shape, data: rng.normals(n).map { $0 * std })
        case .xavierUniform(let fanIn, let fanOut):
            let bound = (6 / Float(fanIn + fanOut)).squareRoot()
            return Tensor(shape: shape, data: (0..<n).map { _ in (2 * rng.uniform() - 1) * bound })
        case .fixed(let t):
            precondition(t.shape == shape, "Initializer.fixed: \(t.shape) for \(shape)")
            return t
        case .kaimingUniform(let fanIn), .pytorchBias(let fanIn):
            let bound = 1 / Float(fanIn).squareRoot()
            return Tensor(shape: shape, data: (0..<n).map { _ in (2 * rng.uniform() - 1) * bound })
        }
    }
}

/// One named parameter: its PyTorch key, shape and initialiser.
public struct ParameterSpec: Sendable {
    public let key: String
    public let shape: [Int]
    public let initializer: Initializer
    public init(_ key: String, _ shape: [Int], _ initializer: Initializer) {
        (self.key, self.shape, self.initializer) = (key, shape, initializer)
    }
}

/// Something made of named parameters.
public protocol Layer {
    /// The parameters in PyTorch registration order.
    var parameterSpecs: [ParameterSpec] { get }
}

extension Layer {
    /// Fresh parameters, seeded: each key gets its own stream so adding a layer changes no other init.
    public func initialParameters(seed: UInt64) -> StateDict {
        var sd = StateDict()
        for (i, spec) in parameterSpecs.enumerated() {
            var rng = SplitMix64(seed: streamSeed(seed, StreamPurpose.init_, UInt64(i)))
            sd[spec.key] = spec.initializer.make(spec.shape, rng: &rng)
        }
        return sd
    }

    /// (key, shape) pairs, as `state_dict()` would list them.
    public var parameterShapes: [(key: String, shape: [Int])] { parameterSpecs.map { ($0.key, $0.shape) } }
}

/// Parameters bound to a tape: a Var per key.
public struct Parameters {
    public let vars: [String: Var]
    public let keys: [String]

    /// Parameters from Vars already on a tape (for example ones a transform such as `LoRA.apply` formed).
    public init(vars: [String: Var], keys: [String]) {
        precondition(keys.allSatisfy { vars[$0] != nil }, "Parameters: a key without a Var")
        (self.vars, self.keys) = (vars, keys)
    }

    public subscript(key: String) -> Var {
        guard let v = vars[key] else { preconditionFailure("Parameters: no parameter named '\(key)'") }
        return v
    }

    /// Gradients of every bound parameter, as a StateDict with the same keys (zeros where none flowed).
    public func gradients(_ g: Gradients) -> StateDict {
        var out = StateDict()
        for k in keys { out[k] = g[vars[k]!] }
        return out
    }
}

extension Tape {
    /// Binds every tensor of `weights` to this tape: trainable Vars, or constants (frozen models).
    public func bind(_ weights: StateDict, trainable: Bool = true) -> Parameters {
        var vars: [String: Var] = [:]
        for (k, t) in weights.items { vars[k] = trainable ? variable(t) : constant(t) }
        return Parameters(vars: vars, keys: weights.keys)
    }
}
