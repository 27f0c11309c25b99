/// An 8-bit image with 1 (gray) or 3 (RGB) interleaved channels, row-major: pixel (y, x) channel c
/// is `pixels[(y * width + x) * channels + c]`.
public struct PixelImage: Sendable, Equatable {
    public var pixels: [UInt8]
    public let width: Int
    public let height: Int
    public let channels: Int

    public init(pixels: [UInt8], width: Int, height: Int, channels: Int) {
        precondition(channels == 1 || channels == 3, "PixelImage: 1 or 3 channels, got \(channels)")
        precondition(pixels.count == width * height * channels, "PixelImage: \(pixels.count) bytes for \(width)x\(height)x\(channels)")
        (self.pixels, self.width, self.height, self.channels) = (pixels, width, height, channels)
    }

    /// The same image with three channels (gray replicated).
    public var rgb: PixelImage {
        guard channels == 1 else { return self }
        var out = [UInt8](); out.reserveCapacity(pixels.count * 3)
        for v in pixels { out.append(v); out.append(v); out.append(v) }
        return PixelImage(pixels: out, width: width, height: height, channels: 3)
    }

    /// Planar bytes (all of channel 0, then channel 1, ...): the CHW layout of a model's input.
    public var planar: [UInt8] {
        if channels == 1 { return pixels }
        var out = [UInt8](repeating: 0, count: pixels.count)
        let plane = width * height
        for i in 0..<plane { for c in 0..<channels { out[c * plane + i] = pixels[i * channels + c] } }
        return out
    }

    /// Interleaved bytes from planar ones (the inverse of `planar`).
    public static func interleaving(planar: [UInt8], width: Int, height: Int, channels: Int) -> PixelImage {
        if channels == 1 { return PixelImage(pixels: planar, width: width, height: height, channels: 1) }
        var out = [UInt8](repeating: 0, count: planar.count)
        let plane = width * height
        for i in 0..<plane { for c in 0..<channels { out[i * channels + c] = planar[c * plane + i] } }
        return PixelImage(pixels: out, width: width, height: height, channels: channels)
    }
}
