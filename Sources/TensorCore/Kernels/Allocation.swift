extension Array where Element == Float {
    /// An array whose every element the caller overwrites: skips the zero fill that
    /// `[Float](repeating: 0, count:)` pays (memset was ~3 % of a training step).
    @inline(__always)
    public static func uninitialized(_ count: Int, _ fill: (UnsafeMutablePointer<Float>) -> Void) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buf, n in
            if count > 0 { fill(buf.baseAddress!) }
            n = count
        }
    }
}
