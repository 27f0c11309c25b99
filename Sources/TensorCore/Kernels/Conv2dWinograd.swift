import CConv
import Foundation
import Synchronization

// Winograd F(m x m, 3 x 3) for 3x3 stride-1 pad-1 convolutions, m = 2 (4x4 tiles) or m = 4 (6x6 tiles)
// (Lavin & Gray 2015). One image at a time: its channels are copied into a zero-padded buffer covering
// every tile, each overlapping alpha x alpha tile (alpha = m + 2, tiles m apart) is transformed (Bᵀ d B)
// straight into the GEMM layout V[xi][c][tile], and the conv is alpha² GEMMs, one per transform position xi:
// M[xi] = U[xi] · V[xi] ([cout, cin] x [cin, tiles]) with U[xi] the transformed weights (G g Gᵀ, once per
// call). The output transform (Aᵀ M A) writes an m-aligned grid, dropped to h x w while the bias is added
// (the same rounding as the other lowerings). Multiplies per output pixel and channel pair: 9 direct,
// 16/4 = 4 with m = 2, 36/16 = 2.25 with m = 4.
//
// Input gradient: the conv of dY with the weights rotated 180° and in/out channels swapped, on the same
// forward kernel. Weight gradient: dW = Gᵀ [ sum over tiles (A dY Aᵀ) ⊙ (Bᵀ x B) ] G, i.e. alpha² GEMMs
// per fixed chunk of 8 samples whose reduction dimension runs over all tiles of the chunk's samples
// (dY tiles are m x m, not overlapping, zero past the image); the chunks' transformed partials are added in
// chunk order and then transformed back, so the bits do not depend on the thread count. As in the tap path,
// a forward GEMM holds one image, so a sample's bits do not depend on its neighbours.

/// Whether `.automatic` may use Winograd: `FS_CONV_WINOGRAD` = `auto` (default: the per-shape table,
/// `ConvGeometry.preferredWinograd`), `off` (the tap / im2col lowerings as before issue 23), `2` or `4`
/// (that tile on every 3x3 stride-1 pad-1 conv; for comparisons). A process-wide setting, read once by the
/// tools at start-up: the choice never depends on timings taken at run time.
public enum WinogradSelection: Int, Sendable {
    case auto = 0, off = 1, f2 = 2, f4 = 4

    private static let current = Atomic<Int>(0)
    public static var mode: WinogradSelection {
        get { WinogradSelection(rawValue: current.load(ordering: .relaxed)) ?? .auto }
        set { current.store(newValue.rawValue, ordering: .relaxed) }
    }

    /// Reads `FS_CONV_WINOGRAD` (auto, off, 2, 4); unknown values leave the mode as it is.
    public static func applyEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) {
        switch env["FS_CONV_WINOGRAD"]?.lowercased() {
        case "auto": mode = .auto
        case "off", "0", "no": mode = .off
        case "2": mode = .f2
        case "4": mode = .f4
        default: break
        }
    }
}

extension ConvGeometry {
    var supportsWinograd: Bool { k == 3 && stride == 1 && pad == 1 }

    /// The tile (m of F(m x m, 3 x 3)) for this pass, or nil for the tap / im2col lowerings.
    func winogradTile(_ a: ConvAlgorithm, backward: Bool) -> Int? {
        switch a {
        case .im2col, .taps: return nil
        case .winograd2, .winograd4:
            precondition(supportsWinograd, "conv2d: Winograd needs a 3x3 kernel, stride 1 and pad 1")
            return a == .winograd2 ? 2 : 4
        case .automatic:
            guard supportsWinograd else { return nil }
            switch WinogradSelection.mode {
            case .off: return nil
            case .f2: return 2
            case .f4: return 4
            case .auto: return preferredWinograd(backward: backward)
            }
        }
    }

    /// The fixed selection table (issue 23), from `fs-bench --only conv` (batch 128, 1 and 2 threads, three runs on
    /// the shared 2-core Zen 4 host, 2026-12-05; forward / backward ms, taps vs F(2x2) vs F(4x4), 1 thread):
    /// 28x28 96->32 107/267, 78/210, 58/174; 28x28 32->32 36/84, 32/87, 24/51; 14x14 128->64 89/187, 43/129,
    /// 84/154; 14x14 64->64 38/94, 25/64, 40/103; 14x14 32->64 19/48, 20/36, 17/66; 7x7 128->64 28/59, 25/56,
    /// 23/51 and 7x7 64->64 8/29, 15/34, 11/62 (7x7: within the noise of each other, taps kept: 2x2 tiles
    /// pad 7 to 8, 4x4 tiles to 8, and per-image GEMMs of 16 or 4 columns). F(4x4) needs the size to be a
    /// multiple of 4 (14x14 padded to 16x16 wastes 31%); conv_out (32->1) and conv_in (1->32) stay as they were.
    /// The same tile forward and backward. Only channel counts measured (>= 32 in and out): on the tiny preset
    /// (8 and 16 channels, batch 16) the table would have made a 200-step fs-train 4.4 -> 4.5-5.9 s.
    /// Session 14: with the AVX-512 transforms (`VectorConvKernels`), F(2x2) also wins at 7x7 (two runs, 1 thread,
    /// batch 128, ms forward / backward: 64->64 taps 9.6/21.8, 10.0/17.5 vs F(2x2) 5.9/13.3, 5.8/17.0; 128->64
    /// taps 19.8/38.0, 16.2/42.8 vs F(2x2) 13.6/31.9, 14.4/39.1), so F(2x2) runs from 7x7 (49 pixels). With the
    /// Swift transforms the two were within noise at 7x7, so the table does not depend on which transforms run.
    func preferredWinograd(backward: Bool) -> Int? {
        guard cin >= 32 && cout >= 32 else { return nil }
        if h % 4 == 0 && w % 4 == 0 && h * w >= 400 { return 4 }
        if h * w >= 49 { return 2 }
        return nil
    }
}

/// Transform matrices of F(m x m, 3 x 3), in Double (used for the weights; the hot data transforms below
/// are written out).
enum WinogradMatrices {
    /// G (alpha x 3).
    static func g(_ m: Int) -> [[Double]] {
        if m == 2 { return [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]] }
        let s: Double = 1.0 / 6, t: Double = 1.0 / 12, q: Double = 1.0 / 24
        let rows: [[Double]] = [[0.25, 0, 0], [-s, -s, -s], [-s, s, -s], [q, t, s], [q, -t, s], [0, 0, 1]]
        return rows
    }
}

/// Geometry of the tiling of one conv.
struct WinogradPlan {
    let g: ConvGeometry
    let m: Int
    var alpha: Int { m + 2 }
    var positions: Int { alpha * alpha }
    var tilesH: Int { (g.h + m - 1) / m }
    var tilesW: Int { (g.w + m - 1) / m }
    var tiles: Int { tilesH * tilesW }
    /// Padded input rows (pad 1 on the top, zeros past the last tile), and the floats of one padded row: its
    /// columns x (pad 1 on the left) are stored split by phase, x % m, into m runs of `phaseW` floats (column
    /// x at (x % m) * phaseW + x / m), so that a tile's column c is run c % m at offset tile + c / m: the row
    /// pass of the input transform then reads contiguous runs (it vectorizes over the tiles).
    var padH: Int { tilesH * m + 2 }
    var phaseW: Int { tilesW + 1 }
    var padW: Int { m * phaseW }
    var padPlane: Int { padH * padW }
    /// Output grid rows x row width (m-aligned).
    var gridH: Int { tilesH * m }
    var gridW: Int { tilesW * m }
    var gridPlane: Int { gridH * gridW }

    init(_ g: ConvGeometry, m: Int) {
        precondition(g.k == 3 && g.stride == 1 && g.pad == 1 && (m == 2 || m == 4), "winograd: 3x3 stride 1 pad 1, m 2 or 4")
        (self.g, self.m) = (g, m)
    }
}

/// Transformed weights U[xi][co][ci] = (G w[co, ci] Gᵀ)[xi]; with `flipped`, the weights of the input
/// gradient: U[xi][ci][co] from w[co, ci] rotated 180°.
func winogradWeights(_ w: [Float], cout: Int, cin: Int, m: Int, flipped: Bool = false) -> [Float] {
    let G = WinogradMatrices.g(m), a = m + 2
    let (rows, cols) = flipped ? (cin, cout) : (cout, cin)
    return [Float].uninitialized(a * a * cout * cin) { out in
        w.withUnsafeBufferPointer { wp in
            var t = [Double](repeating: 0, count: a * 3)
            for co in 0..<cout {
                for ci in 0..<cin {
                    let k = wp.baseAddress! + (co * cin + ci) * 9
                    @inline(__always) func kw(_ r: Int, _ c: Int) -> Double {
                        Double(flipped ? k[(2 - r) * 3 + (2 - c)] : k[r * 3 + c])
                    }
                    for i in 0..<a { for c in 0..<3 { t[i * 3 + c] = G[i][0] * kw(0, c) + G[i][1] * kw(1, c) + G[i][2] * kw(2, c) } }
                    let (r, c) = flipped ? (ci, co) : (co, ci)
                    for i in 0..<a {
                        for j in 0..<a {
                            let v = t[i * 3] * G[j][0] + t[i * 3 + 1] * G[j][1] + t[i * 3 + 2] * G[j][2]
                            out[((i * a + j) * rows + r) * cols + c] = Float(v)
                        }
                    }
                }
            }
        }
    }
}

/// dW[co, ci, 3, 3] = Gᵀ X[., co, ci] G from the transformed-domain sums X[xi][co][ci].
func winogradWeightGradient(_ x: UnsafePointer<Float>, cout: Int, cin: Int, m: Int, into out: UnsafeMutablePointer<Float>) {
    let G = WinogradMatrices.g(m), a = m + 2, pc = cout * cin
    var t = [Double](repeating: 0, count: 3 * a)
    for co in 0..<cout {
        for ci in 0..<cin {
            let s = x + co * cin + ci
            for r in 0..<3 {
                for j in 0..<a {
                    var v = 0.0
                    for i in 0..<a { v += G[i][r] * Double(s[(i * a + j) * pc]) }
                    t[r * a + j] = v
                }
            }
            for r in 0..<3 {
                for c in 0..<3 {
                    var v = 0.0
                    for j in 0..<a { v += t[r * a + j] * G[j][c] }
                    out[(co * cin + ci) * 9 + r * 3 + c] = Float(v)
                }
            }
        }
    }
}

// MARK: 1-D transforms (`s`: input stride, `o`: output stride)

/// Bᵀ d, F(2, 3).
@inline(__always)
func winogradBT4(_ d: UnsafePointer<Float>, _ s: Int, _ o: UnsafeMutablePointer<Float>, _ os: Int) {
    let (d0, d1, d2, d3) = (d[0], d[s], d[2 * s], d[3 * s])
    o[0] = d0 - d2; o[os] = d1 + d2; o[2 * os] = d2 - d1; o[3 * os] = d1 - d3
}

/// Bᵀ d, F(4, 3).
@inline(__always)
func winogradBT6(_ d: UnsafePointer<Float>, _ s: Int, _ o: UnsafeMutablePointer<Float>, _ os: Int) {
    let (d0, d1, d2, d3, d4, d5) = (d[0], d[s], d[2 * s], d[3 * s], d[4 * s], d[5 * s])
    o[0] = (d4 - 5 * d2) + 4 * d0
    let p = d4 - 4 * d2, q = d3 - 4 * d1
    o[os] = p + q
    o[2 * os] = p - q
    let u = d4 - d2, v = 2 * (d3 - d1)
    o[3 * os] = u + v
    o[4 * os] = u - v
    o[5 * os] = (d5 - 5 * d3) + 4 * d1
}

/// Aᵀ y (alpha -> m), F(2, 3).
@inline(__always)
func winogradAT4(_ d: UnsafePointer<Float>, _ s: Int, _ o: UnsafeMutablePointer<Float>, _ os: Int) {
    let (d0, d1, d2, d3) = (d[0], d[s], d[2 * s], d[3 * s])
    o[0] = d0 + d1 + d2; o[os] = d1 - d2 - d3
}

/// Aᵀ y (alpha -> m), F(4, 3).
@inline(__always)
func winogradAT6(_ d: UnsafePointer<Float>, _ s: Int, _ o: UnsafeMutablePointer<Float>, _ os: Int) {
    let (d0, d1, d2, d3, d4, d5) = (d[0], d[s], d[2 * s], d[3 * s], d[4 * s], d[5 * s])
    let p = d1 + d2, q = d1 - d2, r = d3 + d4, t = d3 - d4
    o[0] = d0 + p + r
    o[os] = q + 2 * t
    o[2 * os] = p + 4 * r
    o[3 * os] = (q + 8 * t) + d5
}

/// A y (m -> alpha), F(2, 3): the transform of an output-gradient tile.
@inline(__always)
func winogradA4(_ d: UnsafePointer<Float>, _ s: Int, _ o: UnsafeMutablePointer<Float>, _ os: Int) {
    let (d0, d1) = (d[0], d[s])
    o[0] = d0; o[os] = d0 + d1; o[2 * os] = d0 - d1; o[3 * os] = -d1
}

/// A y (m -> alpha), F(4, 3).
@inline(__always)
func winogradA6(_ d: UnsafePointer<Float>, _ s: Int, _ o: UnsafeMutablePointer<Float>, _ os: Int) {
    let (d0, d1, d2, d3) = (d[0], d[s], d[2 * s], d[3 * s])
    let e = d0 + d2, f = d1 + d3, e4 = d0 + 4 * d2, f8 = 2 * d1 + 8 * d3
    o[0] = d0; o[os] = e + f; o[2 * os] = e - f; o[3 * os] = e4 + f8; o[4 * os] = e4 - f8; o[5 * os] = d3
}

// MARK: tile transforms

// Each transform runs per row of tiles in two passes: along the columns over whole rows (contiguous, the
// loops vectorize), then along the rows with the tile index innermost (contiguous stores into the GEMM layout).

/// V[xi * xiStride + c * ld + col0 + tile] = (Bᵀ d B)[xi] for every tile of the `channels` padded planes at `p`.
func winogradInputTransform(_ p: UnsafePointer<Float>, channels: Int, _ w: WinogradPlan,
                            _ v: UnsafeMutablePointer<Float>, xiStride: Int, ld: Int, col0: Int) {
    let (a, m, pw, tw, qw) = (w.alpha, w.m, w.padW, w.tilesW, w.phaseW)
    let band = UnsafeMutablePointer<Float>.allocate(capacity: a * pw)
    defer { band.deallocate() }
    for c in 0..<channels {
        let plane = p + c * w.padPlane
        for ty in 0..<w.tilesH {
            let rows = plane + ty * m * pw
            let o = v + c * ld + col0 + ty * tw
            // Column pass over whole padded rows (phase layout kept), then the row pass: tile tx's columns
            // 0..<alpha are phase runs c % m at tx + c / m.
            if m == 2 {
                for x in 0..<pw { winogradBT4(rows + x, pw, band + x, pw) }
                for i in 0..<4 {
                    let b0 = UnsafePointer(band + i * pw), b1 = b0 + qw, oi = o + i * 4 * xiStride
                    let (o1, o2, o3) = (oi + xiStride, oi + 2 * xiStride, oi + 3 * xiStride)
                    // The compiler cannot prove these runs disjoint, so the vectors are explicit.
                    @inline(__always) func run<V: SIMD>(_ tx: Int, _: V.Type) where V.Scalar == Float {
                        let d0 = wLoad(V.self, b0 + tx), d1 = wLoad(V.self, b1 + tx), d2 = wLoad(V.self, b0 + tx + 1), d3 = wLoad(V.self, b1 + tx + 1)
                        wStore(d0 - d2, oi + tx); wStore(d1 + d2, o1 + tx); wStore(d2 - d1, o2 + tx); wStore(d1 - d3, o3 + tx)
                    }
                    var tx = 0
                    while tx + 8 <= tw { run(tx, SIMD8<Float>.self); tx += 8 }
                    while tx + 4 <= tw { run(tx, SIMD4<Float>.self); tx += 4 }
                    while tx < tw {
                        let (d0, d1, d2, d3) = (b0[tx], b1[tx], b0[tx + 1], b1[tx + 1])
                        oi[tx] = d0 - d2; o1[tx] = d1 + d2; o2[tx] = d2 - d1; o3[tx] = d1 - d3
                        tx += 1
                    }
                }
            } else {
                for x in 0..<pw { winogradBT6(rows + x, pw, band + x, pw) }
                for i in 0..<6 {
                    let b0 = UnsafePointer(band + i * pw), b1 = b0 + qw, b2 = b1 + qw, b3 = b2 + qw
                    let oi = o + i * 6 * xiStride
                    let (o1, o2, o3, o4, o5) = (oi + xiStride, oi + 2 * xiStride, oi + 3 * xiStride,
                                                oi + 4 * xiStride, oi + 5 * xiStride)
                    @inline(__always) func run<V: SIMD>(_ tx: Int, _: V.Type) where V.Scalar == Float {
                        let d0 = wLoad(V.self, b0 + tx), d1 = wLoad(V.self, b1 + tx), d2 = wLoad(V.self, b2 + tx)
                        let d3 = wLoad(V.self, b3 + tx), d4 = wLoad(V.self, b0 + tx + 1), d5 = wLoad(V.self, b1 + tx + 1)
                        // winogradBT6, written out (the same operations in the same order)
                        wStore((d4 - 5 * d2) + 4 * d0, oi + tx)
                        let p = d4 - 4 * d2, q = d3 - 4 * d1
                        wStore(p + q, o1 + tx)
                        wStore(p - q, o2 + tx)
                        let u = d4 - d2, v = 2 * (d3 - d1)
                        wStore(u + v, o3 + tx)
                        wStore(u - v, o4 + tx)
                        wStore((d5 - 5 * d3) + 4 * d1, o5 + tx)
                    }
                    var tx = 0
                    while tx + 8 <= tw { run(tx, SIMD8<Float>.self); tx += 8 }
                    while tx + 4 <= tw { run(tx, SIMD4<Float>.self); tx += 4 }
                    while tx < tw {
                        let (d0, d1, d2, d3, d4, d5) = (b0[tx], b1[tx], b2[tx], b3[tx], b0[tx + 1], b1[tx + 1])
                        oi[tx] = (d4 - 5 * d2) + 4 * d0
                        let p = d4 - 4 * d2, q = d3 - 4 * d1
                        o1[tx] = p + q
                        o2[tx] = p - q
                        let u = d4 - d2, v = 2 * (d3 - d1)
                        o3[tx] = u + v
                        o4[tx] = u - v
                        o5[tx] = (d5 - 5 * d3) + 4 * d1
                        tx += 1
                    }
                }
            }
        }
    }
}

@inline(__always)
private func wLoad<V: SIMD>(_: V.Type, _ p: UnsafePointer<Float>) -> V where V.Scalar == Float {
    UnsafeRawPointer(p).loadUnaligned(as: V.self)
}

@inline(__always)
private func wStore<V: SIMD>(_ v: V, _ p: UnsafeMutablePointer<Float>) where V.Scalar == Float {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
}

/// grid[c][gridH][gridW] = Aᵀ M A for every tile of `channels` channels, M[xi * xiStride + c * tiles + tile].
func winogradOutputTransform(_ mm: UnsafePointer<Float>, channels: Int, _ w: WinogradPlan, xiStride: Int,
                             _ grid: UnsafeMutablePointer<Float>) {
    let (a, m, gw, nt, tw) = (w.alpha, w.m, w.gridW, w.tiles, w.tilesW)
    let band = UnsafeMutablePointer<Float>.allocate(capacity: a * gw)   // [alpha][gridW]: Aᵀ along each tile row
    defer { band.deallocate() }
    for c in 0..<channels {
        for ty in 0..<w.tilesH {
            let s = mm + c * nt + ty * tw
            let d = grid + c * w.gridPlane + ty * m * gw
            if m == 2 {
                for i in 0..<4 {
                    let si = s + i * 4 * xiStride, bi = band + i * gw
                    for tx in 0..<tw { winogradAT4(si + tx, xiStride, bi + 2 * tx, 1) }
                }
                for x in 0..<gw { winogradAT4(band + x, gw, d + x, gw) }
            } else {
                for i in 0..<6 {
                    let si = s + i * 6 * xiStride, bi = band + i * gw
                    for tx in 0..<tw { winogradAT6(si + tx, xiStride, bi + 4 * tx, 1) }
                }
                for x in 0..<gw { winogradAT6(band + x, gw, d + x, gw) }
            }
        }
    }
}

/// D[xi * xiStride + c * ld + col0 + tile] = (A dy Aᵀ)[xi] for the m x m tiles of the grid planes at `dy`.
func winogradGradTransform(_ dy: UnsafePointer<Float>, channels: Int, _ w: WinogradPlan,
                           _ out: UnsafeMutablePointer<Float>, xiStride: Int, ld: Int, col0: Int) {
    let (a, m, gw, tw) = (w.alpha, w.m, w.gridW, w.tilesW)
    let band = UnsafeMutablePointer<Float>.allocate(capacity: a * gw)   // [alpha][gridW]: A along the columns
    defer { band.deallocate() }
    for c in 0..<channels {
        for ty in 0..<w.tilesH {
            let rows = dy + c * w.gridPlane + ty * m * gw
            let o = out + c * ld + col0 + ty * tw
            if m == 2 {
                for x in 0..<gw { winogradA4(rows + x, gw, band + x, gw) }
                for i in 0..<4 {
                    let bi = band + i * gw, oi = o + i * 4 * xiStride
                    for tx in 0..<tw { winogradA4(bi + 2 * tx, 1, oi + tx, xiStride) }
                }
            } else {
                for x in 0..<gw { winogradA6(rows + x, gw, band + x, gw) }
                for i in 0..<6 {
                    let bi = band + i * gw, oi = o + i * 6 * xiStride
                    for tx in 0..<tw { winogradA6(bi + 4 * tx, 1, oi + tx, xiStride) }
                }
            }
        }
    }
}

/// Copies `channels` planes [h, w] from `src` into the interior of the padded planes (phase layout, `WinogradPlan.padW`).
@inline(__always)
func winogradSpreadPadded(_ src: UnsafePointer<Float>, _ channels: Int, _ w: WinogradPlan, _ dst: UnsafeMutablePointer<Float>) {
    let (h, wd, m, qw) = (w.g.h, w.g.w, w.m, w.phaseW)
    for c in 0..<channels {
        for r in 0..<h {
            let s = src + (c * h + r) * wd, d = dst + c * w.padPlane + (r + 1) * w.padW
            // padded column x = j + 1 goes to run x % m at x / m
            if m == 2 {
                for j in 0..<wd { d[((j + 1) & 1) * qw + ((j + 1) >> 1)] = s[j] }
            } else {
                for j in 0..<wd { d[((j + 1) & 3) * qw + ((j + 1) >> 2)] = s[j] }
            }
        }
    }
}

/// Copies `channels` planes [h, w] from `src` into planes `plane` floats apart with rows `row` apart, from `offset`.
@inline(__always)
func winogradSpread(_ src: UnsafePointer<Float>, _ channels: Int, h: Int, w: Int,
                    _ dst: UnsafeMutablePointer<Float>, plane: Int, row: Int, offset: Int) {
    for c in 0..<channels {
        for r in 0..<h {
            (dst + c * plane + offset + r * row).update(from: src + (c * h + r) * w, count: w)
        }
    }
}

// MARK: kernels

/// The transformed-domain GEMMs: F(2x2) in the active `ComputePrecision`, F(4x4) always in fp32. F(4x4)'s
/// transforms spread values over a wide range (coefficients up to 8 and 1/24) before the bf16 rounding:
/// measured 7e-2 relative error against fp32 on the UNet shapes, vs 5.5e-3 for F(2x2) (BF16Tests).
@inline(__always)
func winogradGemm(_ w: WinogradPlan, transB: Bool = false, m: Int, n: Int, k: Int, a: UnsafePointer<Float>,
                  b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>) {
    if w.m == 4 {
        sgemm(transB: transB, m: m, n: n, k: k, a: a, b: b, c: c)
    } else {
        gemm(transB: transB, m: m, n: n, k: k, a: a, b: b, c: c)
    }
}

/// The forward's (and input gradient's) per-image products M[xi] = U[xi] · V[xi], [cout, cin] x [cin, tiles]:
/// `cwino2_gemm` where `VectorConvKernels.winogradGemmAVX2` holds and the product runs in fp32, else
/// `winogradGemm`. The AVX2 kernel also reads Uᵀ for the tiles past the last multiple of 8: `operands` then
/// appends it to U, once per set of weights (kept with U by `PackedWeights` in inference: a sampler calls each
/// conv once per row group of 8).
struct WinogradProducts {
    let plan: WinogradPlan
    let u: UnsafePointer<Float>, ut: UnsafePointer<Float>?
    let rows: Int, depth: Int, avx2: Bool

    static func avx2(_ plan: WinogradPlan) -> Bool {
        VectorConvKernels.winogradGemmAVX2 && (plan.m == 4 || ComputePrecision.active == .fp32)
    }

    /// U (`winogradWeights`, [positions][rows][depth]), followed by each position's Uᵀ when the AVX2 kernel
    /// will need it.
    static func operands(_ u: [Float], _ plan: WinogradPlan, rows: Int, depth: Int) -> [Float] {
        guard avx2(plan) && plan.tiles % 8 != 0 else { return u }
        let per = rows * depth
        return [Float].uninitialized(2 * u.count) { out in
            u.withUnsafeBufferPointer { up in
                out.update(from: up.baseAddress!, count: u.count)
                for xi in 0..<plan.positions {
                    cwino2_transpose(rows, depth, up.baseAddress! + xi * per, out + u.count + xi * per)
                }
            }
        }
    }

    /// `packed` from `operands` with the same plan, rows and depth.
    init(_ plan: WinogradPlan, packed: UnsafeBufferPointer<Float>, rows: Int, depth: Int) {
        (self.plan, self.rows, self.depth, avx2) = (plan, rows, depth, Self.avx2(plan))
        let count = plan.positions * rows * depth
        u = packed.baseAddress!
        ut = packed.count == 2 * count ? u + count : nil
        precondition(!avx2 || plan.tiles % 8 == 0 || ut != nil, "winograd: the AVX2 products need Uᵀ")
    }

    /// M[xi] for every position, from V ([positions][depth][tiles]) into mm ([positions][rows][tiles]).
    func run(_ v: UnsafePointer<Float>, _ mm: UnsafeMutablePointer<Float>) {
        let (nt, per) = (plan.tiles, rows * depth)
        for xi in 0..<plan.positions {
            let (a, b, c) = (u + xi * per, v + xi * depth * nt, mm + xi * rows * nt)
            if avx2 {
                cwino2_gemm(rows, nt, depth, a, ut.map { $0 + xi * per }, b, c)
            } else {
                winogradGemm(plan, m: rows, n: nt, k: depth, a: a, b: b, c: c)
            }
        }
    }
}

/// Forward over the images in `range` (the tap path's contract): out[img] = (conv + bias) + sampleBias, then
/// residual + that. `products` holds `winogradWeights`.
func conv2dWinogradForward(_ x: UnsafePointer<Float>, _ products: WinogradProducts, _ bias: UnsafePointer<Float>?,
                           _ sampleBias: UnsafePointer<Float>?, _ residual: UnsafePointer<Float>?,
                           _ w: WinogradPlan, _ out: UnsafeMutablePointer<Float>, _ range: Range<Int>) {
    let g = w.g
    let (cin, cout, hw, nt, np) = (g.cin, g.cout, g.h * g.w, w.tiles, w.positions)
    if let k = VectorConvKernels.winogradKernels {
        let v = UnsafeMutablePointer<Float>.allocate(capacity: np * cin * nt)
        let mm = UnsafeMutablePointer<Float>.allocate(capacity: np * cout * nt)
        defer { v.deallocate(); mm.deallocate() }
        let (h, wd, m) = (Int32(g.h), Int32(g.w), Int32(w.m))
        for img in range {
            k.input(x + img * cin * hw, Int32(cin), h, wd, m, v, cin * nt, nt, 0)
            products.run(v, mm)
            k.output(mm, Int32(cout), h, wd, m, cout * nt, bias, bias == nil ? nil : sampleBias.map { $0 + img * cout },
                         bias == nil ? nil : residual.map { $0 + img * cout * hw }, out + img * cout * hw)
        }
        return
    }
    let padded = UnsafeMutablePointer<Float>.allocate(capacity: cin * w.padPlane)
    let v = UnsafeMutablePointer<Float>.allocate(capacity: np * cin * nt)
    let mm = UnsafeMutablePointer<Float>.allocate(capacity: np * cout * nt)
    let grid = UnsafeMutablePointer<Float>.allocate(capacity: cout * w.gridPlane)
    defer { padded.deallocate(); v.deallocate(); mm.deallocate(); grid.deallocate() }
    padded.initialize(repeating: 0, count: cin * w.padPlane)   // borders stay zero
    for img in range {
        winogradSpreadPadded(x + img * cin * hw, cin, w, padded)
        winogradInputTransform(padded, channels: cin, w, v, xiStride: cin * nt, ld: nt, col0: 0)
        products.run(v, mm)
        winogradOutputTransform(mm, channels: cout, w, xiStride: cout * nt, grid)
        let o = out + img * cout * hw, gw = w.gridW
        for co in 0..<cout {
            let src = grid + co * w.gridPlane, d = o + co * hw
            guard let bias else {
                for r in 0..<g.h { (d + r * g.w).update(from: src + r * gw, count: g.w) }
                continue
            }
            let b = bias[co]
            if let sampleBias {
                let e = sampleBias[img * cout + co]
                for r in 0..<g.h {
                    let s = src + r * gw, dr = d + r * g.w
                    for c in 0..<g.w { dr[c] = (s[c] + b) + e }
                }
                if let residual {
                    let q = residual + img * cout * hw + co * hw
                    for t in 0..<hw { d[t] = q[t] + d[t] }
                }
            } else if let residual {
                let q = residual + img * cout * hw + co * hw
                for r in 0..<g.h {
                    let s = src + r * gw, dr = d + r * g.w, qr = q + r * g.w
                    for c in 0..<g.w { dr[c] = qr[c] + (s[c] + b) }
                }
            } else {
                for r in 0..<g.h {
                    let s = src + r * gw, dr = d + r * g.w
                    for c in 0..<g.w { dr[c] = s[c] + b }
                }
            }
        }
    }
}

/// The transformed-domain weight gradient of the images in `range` (one reduction chunk):
/// dwHat[xi][co][ci] = sum over the chunk's tiles of (A dY Aᵀ)[xi] (Bᵀ x B)[xi], one GEMM per position.
func conv2dWinogradWeightChunk(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ w: WinogradPlan,
                               _ dwHat: UnsafeMutablePointer<Float>, _ range: Range<Int>) {
    let g = w.g
    let (cin, cout, hw, nt, np) = (g.cin, g.cout, g.h * g.w, w.tiles, w.positions)
    let kcols = range.count * nt
    if let k = VectorConvKernels.winogradKernels {
        let v = UnsafeMutablePointer<Float>.allocate(capacity: np * cin * kcols)
        let dt = UnsafeMutablePointer<Float>.allocate(capacity: np * cout * kcols)
        defer { v.deallocate(); dt.deallocate() }
        let (h, wd, m) = (Int32(g.h), Int32(g.w), Int32(w.m))
        for (i, img) in range.enumerated() {
            k.input(x + img * cin * hw, Int32(cin), h, wd, m, v, cin * kcols, kcols, i * nt)
            k.grad(dy + img * cout * hw, Int32(cout), h, wd, m, dt, cout * kcols, kcols, i * nt)
        }
        for xi in 0..<np {
            winogradGemm(w, transB: true, m: cout, n: cin, k: kcols, a: dt + xi * cout * kcols, b: v + xi * cin * kcols,
                  c: dwHat + xi * cout * cin)
        }
        return
    }
    let padded = UnsafeMutablePointer<Float>.allocate(capacity: cin * w.padPlane)
    let v = UnsafeMutablePointer<Float>.allocate(capacity: np * cin * kcols)
    let dgrid = UnsafeMutablePointer<Float>.allocate(capacity: cout * w.gridPlane)
    let dt = UnsafeMutablePointer<Float>.allocate(capacity: np * cout * kcols)
    defer { padded.deallocate(); v.deallocate(); dgrid.deallocate(); dt.deallocate() }
    padded.initialize(repeating: 0, count: cin * w.padPlane)
    dgrid.initialize(repeating: 0, count: cout * w.gridPlane)   // past the image: zero gradient
    for (i, img) in range.enumerated() {
        winogradSpreadPadded(x + img * cin * hw, cin, w, padded)
        winogradInputTransform(padded, channels: cin, w, v, xiStride: cin * kcols, ld: kcols, col0: i * nt)
        winogradSpread(dy + img * cout * hw, cout, h: g.h, w: g.w, dgrid, plane: w.gridPlane, row: w.gridW, offset: 0)
        winogradGradTransform(dgrid, channels: cout, w, dt, xiStride: cout * kcols, ld: kcols, col0: i * nt)
    }
    for xi in 0..<np {
        winogradGemm(w, transB: true, m: cout, n: cin, k: kcols, a: dt + xi * cout * kcols, b: v + xi * cin * kcols,
              c: dwHat + xi * cout * cin)
    }
}

/// `conv2dForward` on Winograd F(m x m, 3 x 3) (bias etc. as there).
func conv2dWinogradForward(_ x: Tensor, _ weight: Tensor, bias: UnsafePointer<Float>, sampleBias: UnsafePointer<Float>?,
                           residual: UnsafePointer<Float>?, _ g: ConvGeometry, m: Int, out: UnsafeMutablePointer<Float>,
                           keepPackedWeights: Bool = false) {
    let plan = WinogradPlan(g, m: m)
    func make(_ w: [Float]) -> [Float] {
        WinogradProducts.operands(winogradWeights(w, cout: g.cout, cin: g.cin, m: m), plan, rows: g.cout, depth: g.cin)
    }
    let u = keepPackedWeights
        ? PackedWeights.packed(weight, .winograd(m: m, flipped: false, transposed: WinogradProducts.avx2(plan)), make)
        : make(weight.data)
    x.data.withUnsafeBufferPointer { xp in
    u.withUnsafeBufferPointer { up in
        let products = WinogradProducts(plan, packed: up, rows: g.cout, depth: g.cin)
        let (xb, pb, ob, bb) = (UnsafeSendable(xp.baseAddress!), UnsafeSendable(products), UnsafeSendable(out), UnsafeSendable(bias))
        let (sb, rb) = (UnsafeSendable(sampleBias), UnsafeSendable(residual))
        parallelChunks(g.n) { _, range in
            conv2dWinogradForward(xb.value, pb.value, bb.value, sb.value, rb.value, plan, ob.value, range)
        }
    }}
}

/// `conv2dBackward` on Winograd F(m x m, 3 x 3): dX as the forward of dY with the rotated, channel-swapped
/// weights; dW in the transformed domain over fixed chunks of samples.
func conv2dWinogradBackward(_ x: Tensor, _ weight: Tensor, _ gOut: Tensor, _ g: ConvGeometry, m: Int,
                            needInput: Bool, needWeight: Bool, needBias: Bool)
    -> (input: Tensor?, weight: Tensor?, bias: Tensor?) {
    let plan = WinogradPlan(g, m: m)
    var dx: Tensor? = nil
    if needInput {
        let gt = ConvGeometry(input: [g.n, g.cout, g.h, g.w], weight: [g.cin, g.cout, 3, 3], stride: 1, pad: 1)
        let tplan = WinogradPlan(gt, m: m)
        let u = WinogradProducts.operands(winogradWeights(weight.data, cout: g.cout, cin: g.cin, m: m, flipped: true),
                                          tplan, rows: g.cin, depth: g.cout)
        let data = [Float].uninitialized(x.count) { out in
            gOut.data.withUnsafeBufferPointer { gp in
            u.withUnsafeBufferPointer { up in
                let products = WinogradProducts(tplan, packed: up, rows: g.cin, depth: g.cout)
                let (gb, pb, ob) = (UnsafeSendable(gp.baseAddress!), UnsafeSendable(products), UnsafeSendable(out))
                parallelChunks(g.n) { _, range in
                    conv2dWinogradForward(gb.value, pb.value, nil, nil, nil, tplan, ob.value, range)
                }
            }}
        }
        dx = Tensor(shape: x.shape, data: data)
    }
    var dw: Tensor? = nil
    if needWeight {
        let chunks = ReductionChunks.count(g.n), per = plan.positions * g.cout * g.cin
        // Every chunk's slot is written by its GEMMs (beta 0): no zero fill.
        let partial = [Float].uninitialized(chunks * per) { pp in
            x.data.withUnsafeBufferPointer { xp in
            gOut.data.withUnsafeBufferPointer { gp in
                let (xb, gb, pb) = (UnsafeSendable(xp.baseAddress!), UnsafeSendable(gp.baseAddress!), UnsafeSendable(pp))
                parallelReductionChunks(g.n) { chunk, range in
                    conv2dWinogradWeightChunk(xb.value, gb.value, plan, pb.value + chunk * per, range)
                }
            }}
        }
        let summed = [Float].uninitialized(per) { out in
            partial.withUnsafeBufferPointer { sumPartials($0.baseAddress!, chunks: chunks, stride: per, into: out) }
        }
        let data = [Float].uninitialized(weight.count) { out in
            summed.withUnsafeBufferPointer { winogradWeightGradient($0.baseAddress!, cout: g.cout, cin: g.cin, m: m, into: out) }
        }
        dw = Tensor(shape: weight.shape, data: data)
    }
    return (dx, dw, needBias ? gOut.channelSums() : nil)
}
