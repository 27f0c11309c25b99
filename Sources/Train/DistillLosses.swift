import TensorCore

/// The loss terms of FlowSteer's objective (paper §5 and §10.6):
///   L_student = L_dist + lambda_adv * L_adv + lambda_fm * L_fm,   L_D = hinge.
public enum DistillLoss {
    /// L_dist = mean((v_theta - v*)^2) over every element (per-element mean, as the pilot).
    public static func distillation(_ v: Var, target: Tensor) -> Var { meanSquaredError(v, target: target) }

    /// The weighted L_dist = mean over samples of w_i * mean((v_i - v*_i)^2): each sample scaled by sqrt(w_i).
    public static func distillation(_ v: Var, target: Tensor, weights: [Float]) -> Var {
        let r = weights.map { $0.squareRoot() }
        return meanSquaredError(scalePerSample(v, r), target: target.scaledPerSample(r))
    }

    /// The discriminator's hinge loss mean(relu(1 - D(real))) + mean(relu(1 + D(fake))).
    public static func hinge(real: Var, fake: Var) -> Var {
        mean(relu(real * -1 + 1)) + mean(relu(fake + 1))
    }

    /// The generator's adversarial term L_adv = -mean(D(fake)).
    public static func generator(fake: Var) -> Var { mean(fake) * -1 }

    /// Feature matching sum_l mean((D_l(fake) - D_l(real))^2): per-element mean per map, summed over maps.
    /// The real features are constants (the teacher's states do not depend on the student).
    public static func featureMatching(fake: [Var], real: [Tensor]) -> Var {
        precondition(!fake.isEmpty && fake.count == real.count, "featureMatching: \(fake.count) vs \(real.count) maps")
        var total = meanSquaredError(fake[0], target: real[0])
        for l in 1..<fake.count { total = total + meanSquaredError(fake[l], target: real[l]) }
        return total
    }

    /// Share of correct discriminator decisions: D(real) > 0 and D(fake) < 0 (ties count as wrong).
    public static func accuracy(real: Tensor, fake: Tensor) -> Float {
        let right = real.data.filter { $0 > 0 }.count + fake.data.filter { $0 < 0 }.count
        return Float(right) / Float(max(1, real.count + fake.count))
    }
}
