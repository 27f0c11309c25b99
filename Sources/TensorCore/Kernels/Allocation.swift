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

    /// Arrays of `counts` floats, all filled by one `fill` (e.g. one gradient per part of a channel concatenation).
    public static func uninitialized(counts: [Int], _ fill: ([UnsafeMutablePointer<Float>]) -> Void) -> [[Float]] {
        precondition(counts.allSatisfy { $0 > 0 }, "uninitialized: empty part in \(counts)")
        func nest(_ i: Int, _ pointers: [UnsafeMutablePointer<Float>]) -> [[Float]] {
            if i == counts.count { fill(pointers); return [] }
            var rest: [[Float]] = []
            let first = [Float].uninitialized(counts[i]) { p in rest = nest(i + 1, pointers + [p]) }
            return [first] + rest
        }
        return nest(0, [])
    }
}
