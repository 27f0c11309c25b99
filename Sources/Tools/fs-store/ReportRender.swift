import Foundation
import ImageIO

/// Markdown and plots of a row table's evaluations. A row whose evaluation is not stored yet shows
/// dashes (a partial run renders a partial page); numbers are rounded for people, the store keeps them.
struct ReportRender {
    let rows: [RowTable.Row]
    var claims: [RowTable.Claim] = []
    let evals: [String: EvalNumbers]
    /// Grid PNGs (`KEY` with '/' as '_', then .png) and the page's directory, for relative links.
    let gridDirectory: String?
    let pageDirectory: String

    func rows(of table: String) -> [RowTable.Row] {
        rows.filter { $0.table == table }.sorted { ($0.order, $0.position) < ($1.order, $1.position) }
    }

    /// One line per row, then for a label evaluated more than once (training seeds) the mean and range.
    func table(_ name: String) throws -> String {
        let mine = rows(of: name)
        guard !mine.isEmpty else { throw ReportError("no row of the table has table '\(name)'") }
        let shown = mine.compactMap { evals[$0.key] }
        let hasAcc = shown.contains { $0.classAccuracy != nil }, hasTraj = shown.contains { $0.trajectoryMSE != nil }
        let hasRun = shown.contains { $0.run != nil }, hasD = shown.contains { $0.discriminatorAccuracy != nil }
        let hasGrid = gridDirectory != nil && mine.contains { grid(for: $0.key) != nil }
        var head = ["row", "eval", "FID (95% CI)", "KID ± std"]
        if hasAcc { head.append("class acc") }
        if hasTraj { head.append("traj MSE") }
        head += ["NFE", "n"]
        if hasRun { head += ["s/step", "final L_dist"] }
        if hasD { head.append("D acc") }
        if hasGrid { head.append("samples") }
        var out = "| " + head.joined(separator: " | ") + " |\n|" + String(repeating: "---|", count: head.count) + "\n"
        for r in mine {
            let e = evals[r.key]
            var cells = [markdown(r.label), "`\(r.key)`", fidCell(e), kidCell(e)]
            if hasAcc { cells.append(Self.fixed(e?.classAccuracy, 3)) }
            if hasTraj { cells.append(Self.fixed(e?.trajectoryMSE, 4)) }
            cells += [e?.nfe.map(String.init) ?? "–", e?.samples.map(String.init) ?? "–"]
            if hasRun { cells += [Self.fixed(e?.secondsPerStep, 3), Self.significant(e?.finalLossDist, 3)] }
            if hasD { cells.append(Self.fixed(e?.discriminatorAccuracy, 2)) }
            if hasGrid { cells.append(grid(for: r.key).map { "[grid](\($0))" } ?? "–") }
            out += "| " + cells.joined(separator: " | ") + " |\n"
        }
        var means = ""
        for label in uniqueLabels(mine) {
            let fids = mine.filter { $0.label == label }.compactMap { evals[$0.key]?.fid }
            guard fids.count > 1 else { continue }
            let mean = fids.reduce(0, +) / Double(fids.count)
            means += String(format: "- %@: mean FID %.2f over %d training seeds (%.2f–%.2f)\n",
                            markdown(label), mean, fids.count, fids.min()!, fids.max()!)
        }
        return means.isEmpty ? out : out + "\n" + means
    }

    /// The evaluations a claim's key names: one, or every stored key with the prefix before a '*'.
    func matching(_ key: String) -> [EvalNumbers] {
        guard key.hasSuffix("*") else { return evals[key].map { [$0] } ?? [] }
        let prefix = key.dropLast()
        return evals.filter { $0.key.hasPrefix(prefix) }.sorted { $0.key < $1.key }.map(\.value)
    }

    /// One line per claim of `table`. A gap counts when the two sides' intervals do not overlap: each
    /// side spans its seeds' FIDs and their 95% intervals; a side with one seed and no interval
    /// decides nothing.
    func orderings(_ table: String) throws -> String {
        let mine = claims.filter { $0.table == table }
        guard !mine.isEmpty else { throw ReportError("the row table has no compare or target line for table '\(table)'") }
        return "\n" + mine.map { $0.target ? target($0) : compare($0) }.joined(separator: "\n") + "\n"
    }

    func compare(_ c: RowTable.Claim) -> String {
        let a = matching(c.a).compactMap { Side($0) }, b = matching(c.b).compactMap { Side($0) }
        guard !a.isEmpty, !b.isEmpty else { return "- \(c.text): not measured (`\(c.a)` or `\(c.b)` missing)." }
        let x = Side(merging: a), y = Side(merging: b)
        let verdict: String
        if !x.hasSpread && !y.hasSpread { verdict = "**not decided** (one seed each, no interval)" }
        else if x.lo > y.hi { verdict = "**holds**" }
        else if x.hi < y.lo { verdict = "**reversed**" }
        else { verdict = "**within noise** (intervals overlap)" }
        return String(format: "- %@: %@ — FID %@ vs %@, gap %+.2f.", c.text, verdict, x.text, y.text, x.mean - y.mean)
    }

    func target(_ c: RowTable.Claim) -> String {
        guard let a = matching(c.a).first, let b = matching(c.b).first, let fa = a.fid, let fb = b.fid, let limit = c.ratio else {
            return "- Target (\(c.text) within \(c.ratio.map { String($0) } ?? "?")x of the reference): not measured."
        }
        let r = fa / fb
        var s = String(format: "- **Target at n = %d**: FID(%@, %d NFE) / FID(reference `%@`, %d NFE) = %.2f / %.2f = **%.2fx** (target ≤ %gx: %@)",
                       a.samples ?? 0, c.text, a.nfe ?? 0, c.b, b.nfe ?? 0, fa, fb, r, limit, r <= limit ? "met" : "not met")
        if let p = a.classAccuracy, let q = b.classAccuracy {
            s += String(format: "; class accuracy %.3f vs %.3f (%+.1f points)", p, q, 100 * (p - q))
        }
        return s + "."
    }

    /// One side of a comparison: its seeds' FIDs and the span of their values and intervals.
    struct Side {
        var mean: Double, lo: Double, hi: Double, count: Int, hasSpread: Bool
        init?(_ e: EvalNumbers) {
            guard let f = e.fid else { return nil }
            (mean, count) = (f, 1)
            (lo, hi) = e.fidCI ?? (f, f)
            hasSpread = e.fidCI != nil
        }
        init(merging s: [Side]) {
            mean = s.map(\.mean).reduce(0, +) / Double(s.count)
            lo = s.map(\.lo).min()!; hi = s.map(\.hi).max()!
            count = s.count; hasSpread = s.count > 1 || s[0].hasSpread
        }
        var text: String {
            let n = count > 1 ? String(format: "mean of %d seeds ", count) : ""
            return hasSpread ? String(format: "%.2f (%@span %.2f–%.2f)", mean, n, lo, hi) : String(format: "%.2f", mean)
        }
    }

    /// FID against NFE, one series per `series=` attribute (in the order they first appear).
    func plotSeries(tables: [String]) -> [LinePlot.Series] {
        var names: [String] = [], points: [String: [(x: Double, y: Double)]] = [:]
        for r in rows where tables.isEmpty || tables.contains(r.table) {
            guard let s = r.attributes["series"], let e = evals[r.key], let nfe = e.nfe, let fid = e.fid else { continue }
            if points[s] == nil { names.append(s) }
            points[s, default: []].append((Double(nfe), fid))
        }
        return names.map { n in (name: n, points: points[n]!.sorted { $0.x < $1.x }) }
    }

    func grid(for key: String) -> String? {
        guard let dir = gridDirectory else { return nil }
        let file = (dir as NSString).appendingPathComponent(key.replacingOccurrences(of: "/", with: "_") + ".png")
        guard FileManager.default.fileExists(atPath: file) else { return nil }
        return relative(file)
    }

    /// `path` as a link from the page's directory (absolute when they share no prefix).
    func relative(_ path: String) -> String {
        let base = URL(fileURLWithPath: pageDirectory).standardizedFileURL.pathComponents
        let target = URL(fileURLWithPath: path).standardizedFileURL.pathComponents
        var i = 0
        while i < base.count, i < target.count, base[i] == target[i] { i += 1 }
        guard i > 1 else { return URL(fileURLWithPath: path).standardizedFileURL.path }
        return (Array(repeating: "..", count: base.count - i) + target[i...]).joined(separator: "/")
    }

    func fidCell(_ e: EvalNumbers?) -> String {
        guard let f = e?.fid else { return "–" }
        guard let (lo, hi) = e?.fidCI else { return String(format: "%.2f", f) }
        return String(format: "%.2f (%.2f–%.2f)", f, lo, hi)
    }

    func kidCell(_ e: EvalNumbers?) -> String {
        guard let k = e?.kid else { return "–" }
        var s = String(format: "%.4f", k)
        if let sd = e?.kidStd { s += String(format: " ± %.4f", sd) }
        if let (lo, hi) = e?.kidCI { s += String(format: " (%.4f–%.4f)", lo, hi) }
        return s
    }

    static func fixed(_ v: Double?, _ digits: Int) -> String { v.map { String(format: "%.\(digits)f", $0) } ?? "–" }
    /// `digits` significant digits: losses span 1e-5 (PCM's consistency loss) to 1e-1.
    static func significant(_ v: Double?, _ digits: Int) -> String { v.map { String(format: "%.\(digits)g", $0) } ?? "–" }

    /// A label in a table cell: '|' would end the cell.
    func markdown(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|") }

    func uniqueLabels(_ rs: [RowTable.Row]) -> [String] {
        var seen = Set<String>()
        return rs.map(\.label).filter { seen.insert($0).inserted }
    }
}

struct ReportError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
