import Foundation
import Testing
import TensorCore
@testable import ImageIO

private func tempPath(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("imageio-\(UUID().uuidString)-\(name)").path
}

@Suite struct ImageIOTests {
    @Test func pngRoundTripIsBitExact() throws {
        let w = 37, h = 23
        let pixels = (0..<(w * h)).map { UInt8(truncatingIfNeeded: $0 * 7 + $0 / w) }
        let image = GrayImage(pixels: pixels, width: w, height: h)
        let path = tempPath("roundtrip.png")
        defer { unlink(path) }
        try PNG.write(image, to: path)
        #expect(try PNG.read(path) == image)
        let header = try Data(contentsOf: URL(fileURLWithPath: path)).prefix(8)
        #expect(Array(header) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    }

    @Test func truncatedPNGThrows() throws {
        let image = GrayImage(pixels: (0..<(64 * 64)).map { UInt8($0 % 251) }, width: 64, height: 64)
        let path = tempPath("truncated.png")
        defer { unlink(path) }
        try PNG.write(image, to: path)
        let whole = try Data(contentsOf: URL(fileURLWithPath: path))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: path))
        let e = try #require(throws: ImageIOError.self) { try PNG.read(path) }
        #expect(e.file == path)
        #expect(e.description.contains("libpng"))
    }

    @Test func missingAndNonPNGFilesThrow() throws {
        #expect(throws: ImageIOError.self) { try PNG.read("/nonexistent/x.png") }
        let path = tempPath("text.png")
        defer { unlink(path) }
        try Data("not a png".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: ImageIOError.self) { try PNG.read(path) }
        let img = GrayImage(filled: 1, width: 2, height: 2)
        #expect(throws: ImageIOError.self) { try PNG.write(img, to: "/nonexistent-dir/x.png") }
    }

    @Test func byteConversionInvertsMNISTScaling() {
        for b in 0...255 { #expect(GrayImage.byte(Float(b) / 127.5 - 1) == UInt8(b)) }
        #expect(GrayImage.byte(-3) == 0 && GrayImage.byte(7) == 255 && GrayImage.byte(.nan) == 0)
    }

    @Test func gridLayout() {
        // 3 images of 2x2 with values -1, 0, 1 -> bytes 0, 128, 255; 2 columns, padding 1.
        let t = Tensor(shape: [3, 1, 2, 2], data: [Float](repeating: -1, count: 4) + [Float](repeating: 0, count: 4)
                       + [Float](repeating: 1, count: 4))
        let g = imageGrid(t, columns: 2, padding: 1, background: 9)
        #expect(g.width == 2 * 3 + 1 && g.height == 2 * 3 + 1)
        let row1: [UInt8] = [9, 0, 0, 9, 128, 128, 9]
        #expect(Array(g.pixels[7..<14]) == row1)
        let row4: [UInt8] = [9, 255, 255, 9, 9, 9, 9]
        #expect(Array(g.pixels[28..<35]) == row4)
        #expect(g.upscaled(by: 2).width == 14 && g.upscaled(by: 2).pixels[0..<2] == [9, 9])
    }

    @Test func trajectoryStripPutsTimeAlongColumns() {
        let s0 = Tensor(shape: [2, 1, 1, 1], data: [-1, 1])
        let s1 = Tensor(shape: [2, 1, 1, 1], data: [1, -1])
        let strip = trajectoryStrip([s0, s1], padding: 0)
        #expect(strip.width == 2 && strip.height == 2)
        #expect(strip.pixels == [0, 255, 255, 0])
    }

    @Test func linePlotSVG() {
        let svg = LinePlot.svg(series: [("teacher <fixed>", [(1, 40), (2, 20), (4, 10), (32, 3)]),
                                        ("student", [(1, 30), (4, .nan), (8, 5)])],
                               title: "FID vs NFE", xLabel: "NFE", yLabel: "FID", logX: true)
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n"))
        #expect(svg.contains("teacher &lt;fixed&gt;"))
        #expect(svg.components(separatedBy: "<polyline").count == 3)
        #expect(svg.contains(">10</text>") && svg.contains(">2</text>"))
        #expect(!svg.contains("nan"))
        // Degenerate input (one point, empty series) still yields a document.
        #expect(LinePlot.svg(series: [("a", [(5, 5)]), ("b", [])], title: "", xLabel: "", yLabel: "").contains("</svg>"))
    }

    @Test func linePlotRaster() throws {
        // One point: the padded axes put it at the plot's centre (off every grid line); no legend for one series.
        let one = LinePlot.raster(series: [("a", [(8, 30)])], title: "FID vs NFE", xLabel: "NFE", yLabel: "FID",
                                  logX: true, logY: true)
        #expect(one.width == 900 && one.height == 480 && one.channels == 3)
        func pixel(_ img: PixelImage, _ x: Int, _ y: Int) -> [UInt8] { Array(img.pixels[(y * img.width + x) * 3..<(y * img.width + x) * 3 + 3]) }
        #expect(pixel(one, 480, 232) == [0x1f, 0x77, 0xb4])
        #expect(pixel(one, 470, 232) == [255, 255, 255])
        // The title is drawn: black pixels in the top band, none in the blank margin above it.
        let band = (12..<26).flatMap { y in (0..<900).map { pixel(one, $0, y) } }
        #expect(band.contains([0, 0, 0]))
        #expect(!(0..<10).flatMap { y in (0..<900).map { pixel(one, $0, y) } }.contains([0, 0, 0]))
        // Two series: both colours appear (lines, dots, legend); a NaN point is skipped, not drawn.
        let two = LinePlot.raster(series: [("teacher", [(1, 40), (2, 20), (32, 3)]), ("student", [(4, .nan), (8, 5)])],
                                  title: "t", xLabel: "x", yLabel: "y", logX: true, logY: true)
        var colours = Set<[UInt8]>()
        for i in stride(from: 0, to: two.pixels.count, by: 3) { colours.insert(Array(two.pixels[i..<i + 3])) }
        #expect(colours.contains([0x1f, 0x77, 0xb4]) && colours.contains([0xd6, 0x27, 0x28]))
        // An axis label wider than twice the distance to the edge is moved inside the canvas, not cut: every pixel
        // of its glyphs is drawn (its band holds nothing else).
        let long = String(repeating: "NFE ", count: 18)
        let three = LinePlot.raster(series: [("teacher", [(1, 40), (2, 20), (32, 3)]), ("student", [(8, 5)])],
                                    title: "t", xLabel: long, yLabel: "y", logX: true, logY: true)
        let glyphPixels = long.reduce(0) { n, ch in
            n + (0..<BitmapFont.width).reduce(0) { m, x in m + (0..<BitmapFont.height).filter { BitmapFont.isSet(ch, x: x, y: $0) }.count }
        } * 4
        let drawn = (456..<470).reduce(0) { n, y in n + (0..<900).filter { pixel(three, $0, y) == [0, 0, 0] }.count }
        #expect(drawn == glyphPixels)
        let path = tempPath("plot.png")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try PNG.write(two, to: path)
        #expect(try PNG.readPixels(path) == two)
    }

    @Test func bitmapFontGlyphs() {
        // 'A' has an apex in the top row and a bar in the fourth; lower case is drawn as capitals.
        #expect((0..<5).map { BitmapFont.isSet("A", x: $0, y: 0) } == [false, true, true, true, false])
        #expect((0..<5).allSatisfy { BitmapFont.isSet("a", x: $0, y: 3) })
        // Every glyph has seven rows of five pixels; an unknown character is a box.
        #expect(BitmapFont.art.values.allSatisfy { $0.split(separator: " ").map(\.count) == Array(repeating: 5, count: 7) })
        #expect(BitmapFont.isSet("~", x: 0, y: 0) && !BitmapFont.isSet("~", x: 2, y: 3))
    }

    @Test func axisTicks() {
        let linear = Axis(values: [0, 1], log: false).ticks()
        #expect(linear.count == 6 && zip(linear, [0, 0.2, 0.4, 0.6, 0.8, 1]).allSatisfy { abs($0 - $1) < 1e-12 })
        #expect(LinePlot.label(0.6000000000000001) == "0.6" && LinePlot.label(250) == "250")
        #expect(Axis(values: [1, 1000], log: true).ticks() == [1, 10, 100, 1000])
        #expect(Axis(values: [1, 32], log: true).ticks() == [1, 2, 5, 10, 20])
    }
}
