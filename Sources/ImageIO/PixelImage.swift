import TensorCore

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

    public init(filled value: UInt8, width: Int, height: Int, channels: Int) {
        self.init(pixels: [UInt8](repeating: value, count: width * height * channels), width: width, height: height, channels: channels)
    }

    /// Nearest-neighbour enlargement, so 28-pixel digits stay crisp when viewed in a browser or README.
    public func upscaled(by factor: Int) -> PixelImage {
        precondition(factor >= 1, "PixelImage.upscaled: factor must be at least 1")
        if factor == 1 { return self }
        let w2 = width * factor, c = channels
        var out = [UInt8](repeating: 0, count: w2 * height * factor * c)
        for y in 0..<(height * factor) {
            let src = (y / factor) * width
            for x in 0..<w2 { for k in 0..<c { out[(y * w2 + x) * c + k] = pixels[(src + x / factor) * c + k] } }
        }
        return PixelImage(pixels: out, width: w2, height: height * factor, channels: c)
    }

    /// Copies image `index` of a [B, C, H, W] tensor (C = this image's channels, values in [-1, 1])
    /// into this raster with its top-left at (x, y).
    mutating func blit(_ images: Tensor, index: Int, x: Int, y: Int) {
        let c = images.shape[1], h = images.shape[2], w = images.shape[3]
        precondition(c == channels, "PixelImage.blit: \(c) channels into a \(channels)-channel image")
        let base = index * c * h * w
        for k in 0..<c {
            for r in 0..<h {
                for col in 0..<w {
                    pixels[((y + r) * width + x + col) * channels + k] = GrayImage.byte(images.data[base + (k * h + r) * w + col])
                }
            }
        }
    }
}
