import COpenBLAS
import TensorCore

/// Bootstrap replicates of KID over the generated samples, against the fixed reference features.
///
/// A replicate holds sample i c_i times. Recomputing the 100-subset KID per replicate would cost 200
/// KIDs, so each replicate instead evaluates the full-set unbiased MMD² (the quantity the subset
/// average estimates) in closed form from the counts:
///
///     xx* = (cᵀ K c − Σ c_i K_ii) / (N(N−1))   (pairs of distinct draws, duplicates included)
///     xy* = Σ c_i r_i / (N M),  r_i = Σ_r k(x_i, y_r)
///
/// and MMD²* = xx* − 2 xy* + yy, where yy does not change between replicates and cancels in the
/// centred interval. All replicates share one pass over K: row blocks of K (fixed size, Float64) are
/// multiplied by the N×B count matrix. The point estimate is the subset average, whose own subset
/// noise (std / √subsets, given the features) is added to each replicate as a seeded normal draw.
public struct KIDBootstrap: Sendable {
    public let interval: BootstrapInterval
    /// xx* − 2 xy* per replicate, before the subset noise (for tests).
    let statistics: [Double]

    /// Rows of K per block: fixed, because it sets the summation order.
    static let blockRows = 128
    static let noisePurpose: UInt64 = 0x4B49_445F_4E4F_4953 // "KID_NOIS"

    public init(features x: Tensor, reference y: Tensor, kid: KernelInceptionDistance,
                replicates: Int = BootstrapResampling.defaultReplicates, seed: UInt64, level: Double = 0.95) throws {
        guard x.rank == 2, y.rank == 2, x.shape[1] == y.shape[1] else {
            throw EvalError.badShape(what: "KID bootstrap features", shape: x.shape, expected: "[N, D] beside reference \(y.shape)")
        }
        let n = x.shape[0], m = y.shape[0], d = x.shape[1], nb = replicates
        guard n >= 2, m >= 1 else { throw EvalError.tooFewSamples(needed: 2, got: min(n, m)) }
        guard nb >= 1 else { throw EvalError.badShape(what: "bootstrap replicates", shape: [nb], expected: "at least 1") }
        let xd = x.data.map { Double($0) }, yd = y.data.map { Double($0) }
        // counts[i * nb + b]: how often replicate b drew sample i.
        var counts = [Double](repeating: 0, count: n * nb)
        counts.withUnsafeMutableBufferPointer { buf in
            let box = UnsafeSendable(buf)
            parallelItems(nb) { b in
                let c = BootstrapResampling.counts(items: n, replicate: b, seed: seed)
                for i in 0..<n { box.value[i * nb + b] = Double(c[i]) }
            }
        }
        let blocks = (n + Self.blockRows - 1) / Self.blockRows
        // partial[k * nb + b] = block k's share of xx* and xy* sums, reduced in block order below.
        var pxx = [Double](repeating: 0, count: blocks * nb), pxy = pxx
        pxx.withUnsafeMutableBufferPointer { a in
            pxy.withUnsafeMutableBufferPointer { c in
                let box = UnsafeSendable((a, c))
                parallelItems(blocks) { k in
                    let lo = k * Self.blockRows, rows = min(Self.blockRows, n - lo)
                    let (xx, xy) = Self.block(xd, yd, counts: counts, lo: lo, rows: rows, n: n, m: m, d: d, nb: nb)
                    for b in 0..<nb { box.value.0[k * nb + b] = xx[b]; box.value.1[k * nb + b] = xy[b] }
                }
            }
        }
        var stats = [Double](repeating: 0, count: nb)
        for b in 0..<nb {
            var xx = 0.0, xy = 0.0
            for k in 0..<blocks { xx += pxx[k * nb + b]; xy += pxy[k * nb + b] }
            stats[b] = xx / (Double(n) * Double(n - 1)) - 2 * xy / (Double(n) * Double(m))
        }
        statistics = stats
        var g = SplitMix64(seed: streamSeed(seed, Self.noisePurpose))
        let noise = g.normals(nb)
        let subsetNoise = kid.std / Double(kid.subsetValues.count).squareRoot()
        let values = (0..<nb).map { stats[$0] + Double(noise[$0]) * subsetNoise }
        interval = BootstrapInterval(estimate: kid.mean, replicates: values, level: level)
    }

    /// Kernel k(a, b) = (a·b / D + 1)³ applied in place to Gram entries.
    static func kernel(_ g: inout [Double], d: Int) {
        let inv = 1.0 / Double(d)
        for i in g.indices { let t = g[i] * inv + 1; g[i] = t * t * t }
    }

    /// Rows lo..<lo+rows: Σ_i c_ib (K c_b)_i − Σ_i c_ib K_ii and Σ_i c_ib r_i for every replicate b.
    static func block(_ x: [Double], _ y: [Double], counts: [Double], lo: Int, rows: Int,
                      n: Int, m: Int, d: Int, nb: Int) -> (xx: [Double], xy: [Double]) {
        var kx = [Double](repeating: 0, count: rows * n)
        x.withUnsafeBufferPointer { xp in
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(n), Int32(d),
                        1.0, xp.baseAddress! + lo * d, Int32(d), xp.baseAddress!, Int32(d), 0.0, &kx, Int32(n))
        }
        kernel(&kx, d: d)
        var t = [Double](repeating: 0, count: rows * nb)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(nb), Int32(n),
                    1.0, kx, Int32(n), counts, Int32(nb), 0.0, &t, Int32(nb))
        var ky = [Double](repeating: 0, count: rows * m)
        x.withUnsafeBufferPointer { xp in
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(m), Int32(d),
                        1.0, xp.baseAddress! + lo * d, Int32(d), y, Int32(d), 0.0, &ky, Int32(m))
        }
        kernel(&ky, d: d)
        var xx = [Double](repeating: 0, count: nb), xy = xx
        for r in 0..<rows {
            let i = lo + r
            let kii = kx[r * n + i]
            var ri = 0.0
            for j in 0..<m { ri += ky[r * m + j] }
            for b in 0..<nb {
                let c = counts[i * nb + b]
                xx[b] += c * (t[r * nb + b] - kii)
                xy[b] += c * ri
            }
        }
        return (xx, xy)
    }
}
