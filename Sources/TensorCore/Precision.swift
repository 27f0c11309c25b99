import CBF16
import Synchronization

/// The arithmetic of the numeric core's matrix products. One knob for the whole process, like
/// `ComputeThreads`: `fp32` (the default, bit-reproducible) or `bf16` (issue 23), where every GEMM's
/// operands (inputs, weights, gradients) are rounded to bfloat16 and multiplied with fp32 accumulation
/// on AVX512_BF16 (`vdpbf16ps`). Everything else (weights, optimizer state, GroupNorm, activations,
/// reductions) stays fp32. bf16 keeps 8 significant bits (2^-9 relative rounding per operand), so a
/// dot product is off by about 2^-8 of the sum of |a_i b_i| in the worst case and far less on average
/// (PrecisionTests states the measured error); results stay independent of the thread count.
public enum ComputePrecision: String, Sendable, CaseIterable {
    case fp32, bf16

    private static let current = Atomic<Int>(0)

    /// The precision in use.
    public static var active: ComputePrecision { current.load(ordering: .relaxed) == 1 ? .bf16 : .fp32 }

    /// True when this CPU (and OS) can run the bf16 kernel.
    public static var bf16Available: Bool { cbf16_available() == 1 }

    /// Why `p` cannot run here, or nil when it can.
    public static func unsupportedReason(_ p: ComputePrecision) -> String? {
        guard p == .bf16, !bf16Available else { return nil }
        return "this CPU lacks AVX512_BF16 (vdpbf16ps), which --precision bf16 needs; use --precision fp32"
    }

    /// Sets the precision. Call once at process start (the tools do it from their options), after
    /// checking `unsupportedReason`.
    public static func set(_ p: ComputePrecision) {
        precondition(unsupportedReason(p) == nil, unsupportedReason(p) ?? "")
        current.store(p == .bf16 ? 1 : 0, ordering: .relaxed)
    }

    /// Runs `body` with precision `p`, then restores the previous one (tests and benchmarks; not for
    /// use while other threads compute).
    public static func with<R>(_ p: ComputePrecision, _ body: () throws -> R) rethrows -> R {
        let old = active
        set(p)
        defer { set(old) }
        return try body()
    }
}

/// Rounds every element to the nearest bfloat16 (ties to even), kept as Float: the rounding the bf16
/// GEMM applies to its operands (for reference computations).
public func roundedToBFloat16(_ x: [Float]) -> [Float] {
    var y = x
    y.withUnsafeMutableBufferPointer { cbf16_round($0.baseAddress, $0.count) }
    return y
}
