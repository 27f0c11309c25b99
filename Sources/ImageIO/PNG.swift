import CPNG
import Foundation

/// 8-bit PNG files (gray here; gray or RGB in PNG+Pixels.swift) through libpng's simplified API (`png_image_*`).
///
/// The simplified API reports errors through return codes and `png_image.message` instead of
/// longjmp, so it is safe to call from Swift: a truncated or corrupt file becomes an `ImageIOError`.
public enum PNG {
    /// Writes `image` to `path`, atomically: the data goes to a temporary file in the same directory
    /// that is renamed over `path` only when complete, so a reader never sees half a PNG.
    public static func write(_ image: GrayImage, to path: String) throws {
        try write(PixelImage(pixels: image.pixels, width: image.width, height: image.height, channels: 1), to: path)
    }

    /// Reads any PNG as 8-bit grayscale (libpng converts colour images and composites alpha on black).
    public static func read(_ path: String) throws -> GrayImage {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ImageIOError(file: path, problem: "file not found")
        }
        var png = png_image()
        png.version = UInt32(PNG_IMAGE_VERSION)
        defer { png_image_free(&png) }
        guard png_image_begin_read_from_file(&png, path) != 0 else {
            throw ImageIOError(file: path, problem: "not a readable PNG: \(message(of: &png))")
        }
        png.format = UInt32(PNG_FORMAT_GRAY)
        let w = Int(png.width), h = Int(png.height)
        guard w > 0, h > 0, w <= 1 << 15, h <= 1 << 15 else {
            throw ImageIOError(file: path, problem: "unsupported size \(w)x\(h)")
        }
        var pixels = [UInt8](repeating: 0, count: w * h)
        let ok = pixels.withUnsafeMutableBytes { png_image_finish_read(&png, nil, $0.baseAddress, Int32(w), nil) }
        guard ok != 0 else { throw ImageIOError(file: path, problem: "corrupt or truncated PNG: \(message(of: &png))") }
        return GrayImage(pixels: pixels, width: w, height: h)
    }

    /// libpng's error text, a NUL-terminated `char[64]` imported as a tuple.
    static func message(of png: inout png_image) -> String {
        withUnsafeBytes(of: &png.message) { raw in
            let text = String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            return text.isEmpty ? "libpng error" : "libpng: \(text)"
        }
    }
}
