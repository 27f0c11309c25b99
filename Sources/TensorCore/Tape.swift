/// Reverse-mode automatic differentiation on a tape (a Wengert list).
///
/// Every op appends its output value and a pullback closure that maps the output's gradient to
/// its inputs' gradients. Recording order is already topological, so `backward` is one reverse
/// loop that sums gradients into a slot per node. Pullbacks capture `Tensor` values, never a
/// `Var`, so the tape never forms a retain cycle and is freed with its last `Var`.
///
/// One tape per step (training) or per model call (sampling). There is no global grad mode:
/// a tape made with `recordsPullbacks: false` stores no closures at all.
public final class Tape {
    /// Maps the output gradient to one gradient per parent (nil where `needs[i]` is false).
    public typealias Pullback = (_ gradOutput: Tensor, _ needs: [Bool]) -> [Tensor?]

    public let recordsPullbacks: Bool
    @usableFromInline var values: [Tensor] = []
    var requiresGrad: [Bool] = []
    var parents: [[Int]] = []
    var pullbacks: [Pullback?] = []

    public init(recordsPullbacks: Bool = true) { self.recordsPullbacks = recordsPullbacks }

    /// Number of recorded nodes.
    public var count: Int { values.count }

    /// A constant input (data, targets). Gradients are never computed for it.
    public func constant(_ value: Tensor) -> Var { append(value, grad: false, parents: [], pullback: nil) }

    /// A differentiable input (a parameter, or an input whose gradient a test checks).
    public func variable(_ value: Tensor) -> Var {
        append(value, grad: recordsPullbacks, parents: [], pullback: nil)
    }

    /// Records an op's output. The pullback is kept only when some parent needs a gradient.
    public func record(_ value: Tensor, parents ps: [Var], pullback: @escaping Pullback) -> Var {
        let needs = ps.map { requiresGrad[$0.id] }
        let any = recordsPullbacks && needs.contains(true)
        return append(value, grad: any, parents: any ? ps.map(\.id) : [], pullback: any ? pullback : nil)
    }

    private func append(_ value: Tensor, grad: Bool, parents ps: [Int], pullback: Pullback?) -> Var {
        values.append(value)
        requiresGrad.append(grad)
        parents.append(ps)
        pullbacks.append(pullback)
        return Var(tape: self, id: values.count - 1)
    }

    /// Gradients of a scalar `loss` (or of `sum(loss * seed)` when a seed is given) with respect to
    /// every node that requires one. Returns the gradients of the leaves; interior gradients are
    /// released as soon as they have been propagated.
    public func backward(_ loss: Var, seed: Tensor? = nil) -> Gradients {
        precondition(loss.tape === self, "backward: the loss belongs to another tape")
        let s = seed ?? Tensor(repeating: 1, shape: loss.value.shape)
        precondition(s.shape == loss.value.shape, "backward: seed shape \(s.shape) vs loss \(loss.value.shape)")
        var grads = [Tensor?](repeating: nil, count: values.count)
        grads[loss.id] = s
        for id in stride(from: loss.id, through: 0, by: -1) {
            guard let g = grads[id], let pb = pullbacks[id] else { continue }
            let ps = parents[id]
            let needs = ps.map { requiresGrad[$0] }
            let gs = pb(g, needs)
            precondition(gs.count == ps.count, "backward: pullback of node \(id) returned \(gs.count) grads")
            for (p, gp) in zip(ps, gs) where requiresGrad[p] {
                guard let gp else { continue }
                precondition(gp.shape == values[p].shape,
                             "backward: gradient \(gp.shape) for node of shape \(values[p].shape)")
                if grads[p] == nil { grads[p] = gp } else { grads[p]!.add(gp) }
            }
            grads[id] = nil   // interior gradient no longer needed
        }
        return Gradients(storage: grads)
    }
}

/// A handle to a value recorded on a `Tape`.
public struct Var {
    public let tape: Tape
    public let id: Int
    public var value: Tensor { tape.values[id] }
    public var shape: [Int] { tape.values[id].shape }
}

/// Gradients by node, as returned by `Tape.backward`.
public struct Gradients {
    var storage: [Tensor?]
    /// The gradient of `v`, or zeros when nothing flowed into it.
    public subscript(v: Var) -> Tensor { storage[v.id] ?? Tensor(zeros: v.shape) }
    /// The gradient of `v`, nil when nothing flowed into it.
    public func ifPresent(_ v: Var) -> Tensor? { storage[v.id] }
}
