import TensorCore

/// An 8-bit grayscale raster, row-major, `width * height` bytes (0 = black, 255 = white).
public struct GrayImage: Sendable, Equatable {
    public var pixels: [UInt8]
    public let width: Int
    public let height: Int

    public init(pixels: [UInt8], width: Int, height: Int) {
        precondition(width > 0 && height > 0 && pixels.count == width * height,
                     "GrayImage: \(pixels.count) pixels for \(width)x\(height)")
        self.pixels = pixels
        self.width = width
        self.height = height
    }

    public init(filled value: UInt8, width: Int, height: Int) {
        self.init(pixels: [UInt8](repeating: value, count: width * height), width: width, height: height)
    }

    /// Nearest-neighbour enlargement, so 28-pixel digits stay crisp when viewed in a browser or README.
    public func upscaled(by factor: Int) -> GrayImage {
        precondition(factor >= 1, "GrayImage.upscaled: factor must be at least 1")
        if factor == 1 { return self }
        var out = [UInt8](repeating: 0, count: width * height * factor * factor)
        let w2 = width * factor
        for y in 0..<(height * factor) {
            let src = (y / factor) * width
            for x in 0..<w2 { out[y * w2 + x] = pixels[src + x / factor] }
        }
        return GrayImage(pixels: out, width: w2, height: height * factor)
    }

    /// Model-space value in [-1, 1] to a byte: round((v + 1) * 127.5), clamped; NaN becomes 0.
    /// Exact inverse of the MNIST loader's `b / 127.5 - 1`.
    @inlinable
    public static func byte(_ v: Float) -> UInt8 {
        let p = ((v + 1) * 127.5).rounded()
        if !(p > 0) { return 0 }
        return p >= 255 ? 255 : UInt8(p)
    }

    /// Copies image `index` of a [B, 1, H, W] tensor into this raster with its top-left at (x, y).
    mutating func blit(_ images: Tensor, index: Int, x: Int, y: Int) {
        let h = images.shape[2], w = images.shape[3]
        let base = index * h * w
        for r in 0..<h {
            for c in 0..<w { pixels[(y + r) * width + x + c] = GrayImage.byte(images.data[base + r * w + c]) }
        }
    }
}
