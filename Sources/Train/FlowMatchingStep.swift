import NN
import TensorCore

/// One flow-matching training step's loss: MSE(v_theta(x_sigma, sigma, y), eps - x0).
public func flowMatchingLoss(_ network: any VelocityNetwork, _ p: Parameters, x0: Tensor, noise: Tensor,
                             sigmas: [Float], labels: [Int], tape: Tape) -> Var {
    let xt = FlowMatching.interpolate(x0: x0, noise: noise, sigmas: sigmas)
    let v = network(tape.constant(xt), sigmas: sigmas, labels: labels, p)
    return meanSquaredError(v, target: FlowMatching.velocityTarget(x0: x0, noise: noise))
}

/// Forward, backward, clip and AdamW update on a batch; returns (loss, grad norm).
public func trainStep(_ network: any VelocityNetwork, weights: inout StateDict, optimizer: inout AdamW, lr: Float, clip: Float,
                      x0: Tensor, noise: Tensor, sigmas: [Float], labels: [Int]) -> (loss: Float, gradNorm: Float) {
    let tape = Tape()
    let p = tape.bind(weights)
    let loss = flowMatchingLoss(network, p, x0: x0, noise: noise, sigmas: sigmas, labels: labels, tape: tape)
    var grads = p.gradients(tape.backward(loss))
    let norm = clipGradientNorm(&grads, maxNorm: clip)
    optimizer.update(&weights, grads: grads, lr: lr, frozen: network.frozenKeys)
    return (loss.value.scalar, norm)
}
