import NN

/// How to integrate: the sigma grid, one guidance weight for every sample, and the solver.
public struct SamplingPlan: Sendable, Equatable {
    public var sigmas: [Float]
    public var guidance: Float
    public var method: Sampler.Method

    public init(sigmas: [Float], guidance: Float, method: Sampler.Method = .euler) {
        (self.sigmas, self.guidance, self.method) = (sigmas, guidance, method)
    }

    public var steps: Int { sigmas.count - 1 }

    /// The plan a sample set's record describes (fs-sample's metadata: `sigmas`, `cfg`, `method`), nil when one is
    /// missing. A partial run (--start-sigma, --init-tensors) records only the sigmas it integrated.
    public init?(recorded meta: OrderedJSON) {
        guard let sigmas = meta["sigmas"]?.arrayValue?.compactMap({ $0.doubleValue.map(Float.init) }), !sigmas.isEmpty,
              let cfg = meta["cfg"]?.doubleValue, let method = Sampler.Method(rawValue: meta["method"]?.stringValue ?? "")
        else { return nil }
        self.init(sigmas: sigmas, guidance: Float(cfg), method: method)
    }

    /// Network evaluations per sample: one per Euler step, two per Heun step except the last step to 0,
    /// all doubled when guidance is on (w != 1 adds the null-label pass).
    public var evaluationsPerSample: Int {
        var n = steps
        if method == .heun { n += (1..<sigmas.count).filter { sigmas[$0] > 0 }.count }
        return guidance == 1 ? n : 2 * n
    }

    /// The plan as an evaluation records it (fs-eval's JSON and the eval_result's metadata): steps, cfg, NFE, sigmas.
    public var evaluationFields: [String: Any] {
        ["steps": steps, "cfg": Double(guidance), "nfe": evaluationsPerSample, "sigmas": sigmas.map { Double($0) }]
    }
}
