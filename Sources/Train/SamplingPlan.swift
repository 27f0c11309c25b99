/// How to integrate: the sigma grid, one guidance weight for every sample, and the solver.
public struct SamplingPlan: Sendable, Equatable {
    public var sigmas: [Float]
    public var guidance: Float
    public var method: Sampler.Method

    public init(sigmas: [Float], guidance: Float, method: Sampler.Method = .euler) {
        (self.sigmas, self.guidance, self.method) = (sigmas, guidance, method)
    }

    public var steps: Int { sigmas.count - 1 }

    /// Network evaluations per sample: one per Euler step, two per Heun step except the last step to 0,
    /// all doubled when guidance is on (w != 1 adds the null-label pass).
    public var evaluationsPerSample: Int {
        var n = steps
        if method == .heun { n += (1..<sigmas.count).filter { sigmas[$0] > 0 }.count }
        return guidance == 1 ? n : 2 * n
    }
}
