import Foundation

extension LinePlot {
    /// The same chart as `svg`, drawn into an RGB image for a PNG (a results page viewed anywhere, no
    /// SVG renderer needed): grid, frame, one coloured line with dots per series, a legend, and labels
    /// in a 5x7 pixel font drawn at twice its size.
    public static func raster(series: [Series], title: String, xLabel: String, yLabel: String,
                              logX: Bool = false, logY: Bool = false, width: Int = 900, height: Int = 480) -> PixelImage {
        let usable = series.map { s in
            (name: s.name, points: s.points.filter { p in
                p.x.isFinite && p.y.isFinite && (!logX || p.x > 0) && (!logY || p.y > 0)
            })
        }
        let all = usable.flatMap { $0.points }
        let xAxis = Axis(values: all.map { $0.x }, log: logX), yAxis = Axis(values: all.map { $0.y }, log: logY)
        let legendWidth = usable.count > 1 ? 36 + Canvas.textWidth(usable.map(\.name).max { $0.count < $1.count } ?? "") : 0
        let left = 80, right = 20 + legendWidth, top = 44, bottom = 60
        let plotW = width - left - right, plotH = height - top - bottom
        func px(_ x: Double) -> Int { left + Int((xAxis.fraction(x) * Double(plotW)).rounded()) }
        func py(_ y: Double) -> Int { top + Int(((1 - yAxis.fraction(y)) * Double(plotH)).rounded()) }

        var c = Canvas(width: width, height: height)
        let grid: RGB = (229, 229, 229), black: RGB = (0, 0, 0)
        for t in xAxis.ticks() {
            c.line(px(t), top, px(t), top + plotH, grid, thickness: 1)
            c.text(label(t), centeredAt: px(t), y: top + plotH + 8, black)
        }
        for t in yAxis.ticks() {
            c.line(left, py(t), left + plotW, py(t), grid, thickness: 1)
            let s = label(t)
            c.text(s, x: left - 8 - Canvas.textWidth(s), y: py(t) - 7, black)
        }
        c.rectangle(left, top, left + plotW, top + plotH, black)
        c.text(title, centeredAt: width / 2, y: 12, black)
        c.text(xLabel, centeredAt: left + plotW / 2, y: height - 24, black)
        c.text(yLabel, x: 8, y: top - 22, black)   // above the axis: beside it, it runs into the tick labels
        for (i, s) in usable.enumerated() where !s.points.isEmpty {
            let hex = palette[i % palette.count]
            let color: RGB = (UInt8(hex.dropFirst(1).prefix(2), radix: 16)!, UInt8(hex.dropFirst(3).prefix(2), radix: 16)!,
                              UInt8(hex.dropFirst(5).prefix(2), radix: 16)!)
            for (a, b) in zip(s.points, s.points.dropFirst()) { c.line(px(a.x), py(a.y), px(b.x), py(b.y), color, thickness: 2) }
            for p in s.points { c.dot(px(p.x), py(p.y), radius: 4, color) }
            if usable.count > 1 {
                let ly = top + 12 + i * 22, lx = left + plotW + 14
                c.line(lx, ly, lx + 20, ly, color, thickness: 2)
                c.dot(lx + 10, ly, radius: 4, color)
                c.text(s.name, x: lx + 28, y: ly - 7, black)
            }
        }
        return PixelImage(pixels: c.pixels, width: width, height: height, channels: 3)
    }
}

typealias RGB = (UInt8, UInt8, UInt8)

/// A white RGB canvas with the few primitives the plot needs; drawing outside it is clipped.
struct Canvas {
    let width: Int, height: Int
    var pixels: [UInt8]
    static let scale = 2, advance = (BitmapFont.width + 1) * 2

    init(width: Int, height: Int) {
        (self.width, self.height) = (width, height)
        pixels = [UInt8](repeating: 255, count: width * height * 3)
    }

    static func textWidth(_ s: String) -> Int { s.count * advance }

    mutating func set(_ x: Int, _ y: Int, _ c: RGB) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = (y * width + x) * 3
        (pixels[i], pixels[i + 1], pixels[i + 2]) = c
    }

    /// Bresenham's line, each point a `thickness` square.
    mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ c: RGB, thickness: Int) {
        var (x, y) = (x0, y0)
        let dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var err = dx + dy
        while true {
            for a in 0..<thickness { for b in 0..<thickness { set(x + a - thickness / 2, y + b - thickness / 2, c) } }
            if x == x1 && y == y1 { break }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x += sx }
            if e2 <= dx { err += dx; y += sy }
        }
    }

    mutating func rectangle(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ c: RGB) {
        line(x0, y0, x1, y0, c, thickness: 1); line(x1, y0, x1, y1, c, thickness: 1)
        line(x1, y1, x0, y1, c, thickness: 1); line(x0, y1, x0, y0, c, thickness: 1)
    }

    mutating func dot(_ cx: Int, _ cy: Int, radius r: Int, _ c: RGB) {
        for y in -r...r { for x in -r...r where x * x + y * y <= r * r { set(cx + x, cy + y, c) } }
    }

    /// Text with its top-left corner at (x, y).
    mutating func text(_ s: String, x: Int, y: Int, _ c: RGB) {
        for (k, ch) in s.enumerated() {
            for gy in 0..<BitmapFont.height { for gx in 0..<BitmapFont.width where BitmapFont.isSet(ch, x: gx, y: gy) {
                for a in 0..<Self.scale { for b in 0..<Self.scale {
                    set(x + k * Self.advance + gx * Self.scale + a, y + gy * Self.scale + b, c)
                } }
            } }
        }
    }

    /// Centred on `cx`, but moved inside the canvas where it would cross an edge (a long axis label).
    mutating func text(_ s: String, centeredAt cx: Int, y: Int, _ c: RGB) {
        text(s, x: max(0, min(width - Self.textWidth(s), cx - Self.textWidth(s) / 2)), y: y, c)
    }
}
