import Foundation

/// A dependency-free SVG line plot for loss curves and FID-vs-NFE comparisons, so tools can emit a
/// viewable chart without Python. Points that are not finite (a NaN loss) or not positive on a log
/// axis are skipped rather than breaking the line.
public enum LinePlot {
    public typealias Series = (name: String, points: [(x: Double, y: Double)])

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

    /// The SVG document text. `markers` draws a dot at each point (useful for few points, e.g. NFE).
    public static func svg(series: [Series], title: String, xLabel: String, yLabel: String,
                           logX: Bool = false, logY: Bool = false, markers: Bool? = nil,
                           width: Int = 640, height: Int = 400) -> String {
        let usable = series.map { s in
            (name: s.name, points: s.points.filter { p in
                p.x.isFinite && p.y.isFinite && (!logX || p.x > 0) && (!logY || p.y > 0)
            })
        }
        let all = usable.flatMap { $0.points }
        let xAxis = Axis(values: all.map { $0.x }, log: logX)
        let yAxis = Axis(values: all.map { $0.y }, log: logY)
        let left = 70.0, right = 20.0 + (usable.count > 1 ? 130 : 0), top = 40.0, bottom = 55.0
        let plotW = Double(width) - left - right, plotH = Double(height) - top - bottom
        func px(_ x: Double) -> Double { left + xAxis.fraction(x) * plotW }
        func py(_ y: Double) -> Double { top + (1 - yAxis.fraction(y)) * plotH }
        let dots = markers ?? (all.count <= 12 * max(1, usable.count))

        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" \
        viewBox="0 0 \(width) \(height)" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(fmt(Double(width) / 2))" y="22" text-anchor="middle" font-size="15">\(escape(title))</text>

        """
        for t in xAxis.ticks() {
            let x = px(t)
            s += "<line x1=\"\(fmt(x))\" y1=\"\(fmt(top))\" x2=\"\(fmt(x))\" y2=\"\(fmt(top + plotH))\" stroke=\"#e5e5e5\"/>\n"
            s += "<text x=\"\(fmt(x))\" y=\"\(fmt(top + plotH + 16))\" text-anchor=\"middle\">\(label(t))</text>\n"
        }
        for t in yAxis.ticks() {
            let y = py(t)
            s += "<line x1=\"\(fmt(left))\" y1=\"\(fmt(y))\" x2=\"\(fmt(left + plotW))\" y2=\"\(fmt(y))\" stroke=\"#e5e5e5\"/>\n"
            s += "<text x=\"\(fmt(left - 6))\" y=\"\(fmt(y + 4))\" text-anchor=\"end\">\(label(t))</text>\n"
        }
        s += "<rect x=\"\(fmt(left))\" y=\"\(fmt(top))\" width=\"\(fmt(plotW))\" height=\"\(fmt(plotH))\" fill=\"none\" stroke=\"black\"/>\n"
        s += "<text x=\"\(fmt(left + plotW / 2))\" y=\"\(height - 12)\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        s += "<text x=\"16\" y=\"\(fmt(top + plotH / 2))\" text-anchor=\"middle\" "
            + "transform=\"rotate(-90 16 \(fmt(top + plotH / 2)))\">\(escape(yLabel))</text>\n"

        for (i, ser) in usable.enumerated() where !ser.points.isEmpty {
            let color = palette[i % palette.count]
            let coords = ser.points.map { "\(fmt(px($0.x))),\(fmt(py($0.y)))" }.joined(separator: " ")
            s += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.8\" points=\"\(coords)\"/>\n"
            if dots {
                for p in ser.points {
                    s += "<circle cx=\"\(fmt(px(p.x)))\" cy=\"\(fmt(py(p.y)))\" r=\"3\" fill=\"\(color)\"/>\n"
                }
            }
            if usable.count > 1 {
                let ly = top + 10 + Double(i) * 18, lx = left + plotW + 12
                s += "<line x1=\"\(fmt(lx))\" y1=\"\(fmt(ly))\" x2=\"\(fmt(lx + 18))\" y2=\"\(fmt(ly))\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
                s += "<text x=\"\(fmt(lx + 24))\" y=\"\(fmt(ly + 4))\">\(escape(ser.name))</text>\n"
            }
        }
        return s + "</svg>\n"
    }

    static func fmt(_ v: Double) -> String { String(format: "%.1f", v) }

    /// Tick labels: integers plainly, otherwise up to 4 significant digits.
    static func label(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e7 { return String(Int(v)) }
        return String(format: "%.4g", v)
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

/// One plot axis: the data range (padded when degenerate) and "nice" tick positions.
struct Axis {
    let lo: Double, hi: Double, log: Bool

    init(values: [Double], log: Bool) {
        self.log = log
        var lo = values.min() ?? (log ? 1 : 0), hi = values.max() ?? (log ? 10 : 1)
        if log { lo = Foundation.log10(lo); hi = Foundation.log10(hi) }
        // A flat series still gets a visible range; otherwise a 4% margin keeps points off the frame.
        let pad = hi - lo < 1e-12 ? max(abs(lo) * 0.05, 0.5) : (hi - lo) * 0.04
        lo -= pad
        hi += pad
        self.lo = lo
        self.hi = hi
    }

    /// Position of `v` along the axis in [0, 1].
    func fraction(_ v: Double) -> Double { ((log ? Foundation.log10(v) : v) - lo) / (hi - lo) }

    /// Linear: multiples of 1, 2 or 5 x 10^k (about 4 to 7 of them). Log: powers of 10, plus 2x and 5x
    /// when the range spans fewer than two decades (e.g. NFE 1...32).
    func ticks() -> [Double] {
        if log {
            var out: [Double] = []
            let mult: [Double] = hi - lo < 2 ? [1, 2, 5] : [1]
            for e in Int(lo.rounded(.down))...Int(hi.rounded(.up)) {
                for m in mult {
                    let v = m * pow(10, Double(e))
                    let f = Foundation.log10(v)
                    if f >= lo - 1e-9 && f <= hi + 1e-9 { out.append(v) }
                }
            }
            return out
        }
        let raw = (hi - lo) / 6
        let mag = pow(10, (Foundation.log10(raw)).rounded(.down))
        let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        var out: [Double] = []
        var v = (lo / step).rounded(.up) * step
        while v <= hi + step * 1e-9 { out.append(abs(v) < step * 1e-9 ? 0 : v); v += step }
        return out
    }
}
