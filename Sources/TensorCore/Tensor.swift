/// A dense float32 tensor: a shape and contiguous row-major storage (NCHW for images).
///
/// A value type: copy-on-write comes from `Array`. There are no strides, views or dtypes;
/// reshape changes metadata only, anything else that moves data makes a copy.
public struct Tensor: Sendable, Equatable {
    public private(set) var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count,
                     "Tensor: shape \(shape) needs \(shape.reduce(1, *)) values, got \(data.count)")
        self.shape = shape
        self.data = data
    }

    public init(zeros shape: [Int]) {
        self.init(shape: shape, data: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    public init(repeating value: Float, shape: [Int]) {
        self.init(shape: shape, data: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    /// A rank-0 tensor holding one value.
    public init(scalar: Float) { self.init(shape: [], data: [scalar]) }

    public var count: Int { data.count }
    public var rank: Int { shape.count }
    /// The single value of a one-element tensor (losses, metrics).
    public var scalar: Float {
        precondition(data.count == 1, "Tensor.scalar: tensor has shape \(shape)")
        return data[0]
    }

    /// The same values under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, data: data)
    }

    /// Rows `range` of the leading axis (for example samples of a batch).
    public func slice(_ range: Range<Int>) -> Tensor {
        precondition(!shape.isEmpty && range.lowerBound >= 0 && range.upperBound <= shape[0],
                     "Tensor.slice: \(range) out of bounds for shape \(shape)")
        let inner = shape.dropFirst().reduce(1, *)
        var s = shape; s[0] = range.count
        return Tensor(shape: s, data: Array(data[(range.lowerBound * inner)..<(range.upperBound * inner)]))
    }

    /// Concatenates tensors along the leading axis; all other dimensions must agree.
    public static func stack(rows parts: [Tensor]) -> Tensor {
        precondition(!parts.isEmpty, "Tensor.stack: nothing to stack")
        let inner = Array(parts[0].shape.dropFirst())
        var data: [Float] = []
        data.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        var n = 0
        for p in parts {
            precondition(Array(p.shape.dropFirst()) == inner, "Tensor.stack: \(p.shape) vs inner \(inner)")
            data += p.data; n += p.shape[0]
        }
        return Tensor(shape: [n] + inner, data: data)
    }

    /// True when every value is finite (no NaN or infinity).
    public var isFinite: Bool {
        data.withUnsafeBufferPointer { p in
            for v in p where !v.isFinite { return false }
            return true
        }
    }
}
