import CPNG
import Foundation

/// Gray or RGB PNGs in their own channel count, from files or from bytes already in memory (a zip
/// entry): what a dataset reader needs, where `PNG.read` always gives gray.
extension PNG {
    /// Decodes `bytes` (named `name` in errors). Gray and gray+alpha give 1 channel, colour gives 3;
    /// alpha is composited on black; palettes and 16-bit samples are converted by libpng.
    public static func decode(_ bytes: [UInt8], name: String) throws -> PixelImage {
        // libpng keeps a pointer to the buffer between begin and finish, so both run inside one borrow.
        try bytes.withUnsafeBytes { raw in
            var png = png_image()
            png.version = UInt32(PNG_IMAGE_VERSION)
            defer { png_image_free(&png) }
            guard png_image_begin_read_from_memory(&png, raw.baseAddress, raw.count) != 0 else {
                throw ImageIOError(file: name, problem: "not a readable PNG: \(message(of: &png))")
            }
            let colour = png.format & CPNG_FORMAT_FLAG_COLOR != 0
            png.format = colour ? CPNG_FORMAT_RGB : UInt32(PNG_FORMAT_GRAY)
            let w = Int(png.width), h = Int(png.height), c = colour ? 3 : 1
            guard w > 0, h > 0, w <= 1 << 15, h <= 1 << 15 else {
                throw ImageIOError(file: name, problem: "unsupported size \(w)x\(h)")
            }
            var pixels = [UInt8](repeating: 0, count: w * h * c)
            let ok = pixels.withUnsafeMutableBytes { png_image_finish_read(&png, nil, $0.baseAddress, Int32(w * c), nil) }
            guard ok != 0 else { throw ImageIOError(file: name, problem: "corrupt or truncated PNG: \(message(of: &png))") }
            return PixelImage(pixels: pixels, width: w, height: h, channels: c)
        }
    }

    /// Reads the PNG at `path` in its own channel count (see `decode`).
    public static func readPixels(_ path: String) throws -> PixelImage {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ImageIOError(file: path, problem: "file not found or unreadable")
        }
        return try decode([UInt8](data), name: path)
    }

    /// Writes a gray or RGB image to `path` atomically (temporary file renamed over `path`).
    public static func write(_ image: PixelImage, to path: String) throws {
        let tmp = "\(path).tmp-\(getpid())"
        var png = png_image()
        png.version = UInt32(PNG_IMAGE_VERSION)
        png.width = UInt32(image.width)
        png.height = UInt32(image.height)
        png.format = image.channels == 3 ? CPNG_FORMAT_RGB : UInt32(PNG_FORMAT_GRAY)
        let ok = image.pixels.withUnsafeBytes {
            png_image_write_to_file(&png, tmp, 0, $0.baseAddress, Int32(image.width * image.channels), nil)
        }
        defer { png_image_free(&png) }
        guard ok != 0 else {
            unlink(tmp)
            throw ImageIOError(file: path, problem: "cannot write PNG: \(message(of: &png))")
        }
        guard rename(tmp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw ImageIOError(file: path, problem: "cannot write PNG: \(reason)")
        }
    }
}

extension PNG {
    /// The PNG bytes of `image` (for writing into archives). `name` labels errors.
    public static func encode(_ image: PixelImage, name: String) throws -> [UInt8] {
        var png = png_image()
        png.version = UInt32(PNG_IMAGE_VERSION)
        png.width = UInt32(image.width)
        png.height = UInt32(image.height)
        png.format = image.channels == 3 ? CPNG_FORMAT_RGB : UInt32(PNG_FORMAT_GRAY)
        defer { png_image_free(&png) }
        let stride = Int32(image.width * image.channels)
        var size: Int = 0
        // First call sizes the buffer, second fills it (libpng's documented two-pass use).
        let sized = image.pixels.withUnsafeBytes { png_image_write_to_memory(&png, nil, &size, 0, $0.baseAddress, stride, nil) }
        guard sized != 0, size > 0 else { throw ImageIOError(file: name, problem: "cannot encode PNG: \(message(of: &png))") }
        var out = [UInt8](repeating: 0, count: size)
        let ok = out.withUnsafeMutableBytes { dst in
            image.pixels.withUnsafeBytes { png_image_write_to_memory(&png, dst.baseAddress, &size, 0, $0.baseAddress, stride, nil) }
        }
        guard ok != 0 else { throw ImageIOError(file: name, problem: "cannot encode PNG: \(message(of: &png))") }
        return Array(out[0..<size])
    }
}
