import TensorCore

/// Improved precision and recall (Kynkäänniemi et al. 2019): the real and generated feature sets
/// each approximate their manifold by balls around every point reaching its k-th nearest neighbour.
/// Precision is the share of generated points inside some real ball (sample quality); recall the share
/// of real points inside some generated ball (coverage). Complements FID, which mixes the two.
///
/// Squared Euclidean distances come from ‖a‖² + ‖b‖² − 2a·b with `sgemm` over row blocks, so 10k × 10k
/// costs four Float GEMMs; rows are split over `ComputeThreads`. Cost is O(N²D): use it when asked for.
public struct PrecisionRecall: Sendable, Equatable {
    public let precision: Double
    public let recall: Double
    /// Neighbourhood size (3 in the paper).
    public let k: Int

    public init(real: Tensor, generated: Tensor, k: Int = 3) throws {
        for (name, t) in [("real features", real), ("generated features", generated)] {
            guard t.rank == 2 else { throw EvalError.badShape(what: name, shape: t.shape, expected: "[N, D]") }
            guard t.isFinite else { throw EvalError.nonFinite(what: name) }
            guard t.shape[0] > k else { throw EvalError.tooFewSamples(needed: k + 1, got: t.shape[0]) }
        }
        guard real.shape[1] == generated.shape[1] else {
            throw EvalError.dimensionMismatch(expected: real.shape[1], got: generated.shape[1])
        }
        self.k = k
        let realRadii = Self.kthNeighbourDistances(real, k: k)
        let genRadii = Self.kthNeighbourDistances(generated, k: k)
        precision = Self.coveredShare(generated, by: real, radii: realRadii)
        recall = Self.coveredShare(real, by: generated, radii: genRadii)
    }

    static let blockRows = 256

    /// Squared distance of each row to its k-th nearest other row of the same set.
    static func kthNeighbourDistances(_ x: Tensor, k: Int) -> [Float] {
        let n = x.shape[0]
        var radii = [Float](repeating: 0, count: n)
        radii.withUnsafeMutableBufferPointer { out in
            let box = UnsafeSendable(out)
            forEachDistanceBlock(x, x) { rows, dist in
                let cols = n
                var best = [Float](repeating: .infinity, count: k + 1)   // ascending, includes self (0)
                for (r, i) in rows.enumerated() {
                    for t in 0...k { best[t] = .infinity }
                    for j in 0..<cols {
                        let d = dist[r * cols + j]
                        if d < best[k] {
                            var p = k
                            while p > 0 && best[p - 1] > d { best[p] = best[p - 1]; p -= 1 }
                            best[p] = d
                        }
                    }
                    box.value[i] = best[k]
                }
            }
        }
        return radii
    }

    /// Share of rows of `x` within radius of at least one row of `centres`.
    static func coveredShare(_ x: Tensor, by centres: Tensor, radii: [Float]) -> Double {
        let m = centres.shape[0]
        var covered = [Bool](repeating: false, count: x.shape[0])
        covered.withUnsafeMutableBufferPointer { out in
            let box = UnsafeSendable(out)
            forEachDistanceBlock(x, centres) { rows, dist in
                for (r, i) in rows.enumerated() {
                    var hit = false
                    for j in 0..<m where dist[r * m + j] <= radii[j] { hit = true; break }
                    box.value[i] = hit
                }
            }
        }
        return Double(covered.filter { $0 }.count) / Double(covered.count)
    }

    /// Calls `body(rows, distances)` for blocks of rows of `a`, with squared distances to every row of
    /// `b` ([rows.count, b.rows] row-major). Blocks are split over the compute threads.
    static func forEachDistanceBlock(_ a: Tensor, _ b: Tensor,
                                     _ body: (_ rows: Range<Int>, _ dist: UnsafeBufferPointer<Float>) -> Void) {
        let (n, m, d) = (a.shape[0], b.shape[0], a.shape[1])
        let normsA = rowNorms(a), normsB = rowNorms(b)
        let blocks = (n + blockRows - 1) / blockRows
        a.data.withUnsafeBufferPointer { ap in
            b.data.withUnsafeBufferPointer { bp in
                parallelChunks(blocks) { _, range in
                    var dist = [Float](repeating: 0, count: blockRows * m)
                    for blk in range {
                        let rows = (blk * blockRows)..<min(n, (blk + 1) * blockRows)
                        dist.withUnsafeMutableBufferPointer { dp in
                            sgemm(transB: true, m: rows.count, n: m, k: d, alpha: -2,
                                  a: ap.baseAddress! + rows.lowerBound * d, b: bp.baseAddress!, c: dp.baseAddress!)
                            for (r, i) in rows.enumerated() {
                                for j in 0..<m { dp[r * m + j] = max(0, dp[r * m + j] + normsA[i] + normsB[j]) }
                            }
                            body(rows, UnsafeBufferPointer(rebasing: dp[0..<(rows.count * m)]))
                        }
                    }
                }
            }
        }
    }

    static func rowNorms(_ x: Tensor) -> [Float] {
        let d = x.shape[1]
        return (0..<x.shape[0]).map { i in
            var s: Float = 0
            for t in 0..<d { let v = x.data[i * d + t]; s += v * v }
            return s
        }
    }
}
