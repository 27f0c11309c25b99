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

    /// Model-space value in [-1, 1] to a byte: round((v + 1) * 127.5), clamped; NaN becomes 0.
    /// Exact inverse of the MNIST loader's `b / 127.5 - 1`.
    @inlinable
    public static func byte(_ v: Float) -> UInt8 {
        let p = ((v + 1) * 127.5).rounded()
        if !(p > 0) { return 0 }
        return p >= 255 ? 255 : UInt8(p)
    }
}
