import Foundation

// Elementwise kernels on raw buffers. Large arrays are split over `ComputeThreads`.

/// Calls `body(range)` over `0..<count`, in parallel chunks when the array is large enough to pay.
@inline(__always)
func elementwiseChunks(_ count: Int, _ body: (Range<Int>) -> Void) {
    if count < 1 << 16 || ComputeThreads.count == 1 { body(0..<count); return }
    parallelChunks(count) { _, r in body(r) }
}

extension Tensor {
    /// self += other (same shape).
    public mutating func add(_ other: Tensor, scale s: Float = 1) {
        precondition(shape == other.shape, "Tensor.add: \(shape) vs \(other.shape)")
        let n = count
        other.data.withUnsafeBufferPointer { o in
            data.withUnsafeMutableBufferPointer { d in
                let op = UnsafeSendable(o.baseAddress!), dp = UnsafeSendable(d.baseAddress!)
                elementwiseChunks(n) { r in
                    let a = dp.value, b = op.value
                    if s == 1 { for i in r { a[i] += b[i] } } else { for i in r { a[i] += s * b[i] } }
                }
            }
        }
    }

    /// Elementwise map into a new tensor of the same shape (parallel for large tensors).
    @inline(__always)
    public func map(_ f: (Float) -> Float) -> Tensor {
        let n = count
        let out = [Float].uninitialized(n) { y in
            data.withUnsafeBufferPointer { x in
                let (xb, yb) = (UnsafeSendable(x.baseAddress!), UnsafeSendable(y))
                elementwiseChunks(n) { r in for i in r { yb.value[i] = f(xb.value[i]) } }
            }
        }
        return Tensor(shape: shape, data: out)
    }

    /// Elementwise combination of two same-shaped tensors (parallel for large tensors).
    @inline(__always)
    public func zipMap(_ other: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        precondition(shape == other.shape, "Tensor.zipMap: \(shape) vs \(other.shape)")
        let n = count
        let out = [Float].uninitialized(n) { y in
            data.withUnsafeBufferPointer { x in
                other.data.withUnsafeBufferPointer { z in
                    let (xb, zb, yb) = (UnsafeSendable(x.baseAddress!), UnsafeSendable(z.baseAddress!), UnsafeSendable(y))
                    elementwiseChunks(n) { r in for i in r { yb.value[i] = f(xb.value[i], zb.value[i]) } }
                }
            }
        }
        return Tensor(shape: shape, data: out)
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { a.zipMap(b, +) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { a.zipMap(b, -) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { a.zipMap(b, *) }
    public static func * (a: Tensor, s: Float) -> Tensor { a.map { $0 * s } }

    /// Sum of all elements, accumulated in Double.
    public func sum() -> Double {
        data.withUnsafeBufferPointer { p in
            var s = 0.0
            for v in p { s += Double(v) }
            return s
        }
    }

    /// Each sample (leading-axis row) scaled by its own factor: out[i, ...] = x[i, ...] * s[i].
    public func scaledPerSample(_ s: [Float]) -> Tensor {
        precondition(shape.first == s.count, "scaledPerSample: \(shape) vs \(s.count) factors")
        let inner = count / max(1, s.count)
        var out = data
        out.withUnsafeMutableBufferPointer { y in
            for i in 0..<s.count { for j in 0..<inner { y[i * inner + j] *= s[i] } }
        }
        return Tensor(shape: shape, data: out)
    }
}

/// x * sigmoid(x), computed stably.
@inline(__always) func siluScalar(_ x: Float) -> Float { x / (1 + expf(-x)) }
