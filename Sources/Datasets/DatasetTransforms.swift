import TensorCore

/// Derived datasets, for tests and for bringing a set to a model's geometry. Each records what was
/// done in its spec, so provenance says it is not the original files.
extension ImageDataset {
    /// The first `n` images (or all).
    public func prefix(_ n: Int) -> ImageDataset {
        let k = min(n, count), f = geometry.floats
        return ImageDataset(spec: record.spec + "[:\(k)]", split: split,
                            images: Tensor(shape: [k] + geometry.sampleShape, data: Array(images.data[0..<(k * f)])),
                            labels: isLabelled ? Array(labels[0..<k]) : [], classes: isLabelled ? classCount : nil)
    }

    /// Pads every image with `pad` background (-1) pixels on each side.
    public func padded(by pad: Int) -> ImageDataset {
        precondition(pad >= 0, "padded: negative padding")
        if pad == 0 { return self }
        let g = geometry, h2 = g.height + 2 * pad, w2 = g.width + 2 * pad
        var out = [Float](repeating: -1, count: count * g.channels * h2 * w2)
        for i in 0..<count {
            for c in 0..<g.channels {
                for y in 0..<g.height {
                    let src = ((i * g.channels + c) * g.height + y) * g.width
                    let dst = ((i * g.channels + c) * h2 + y + pad) * w2 + pad
                    for x in 0..<g.width { out[dst + x] = images.data[src + x] }
                }
            }
        }
        return ImageDataset(spec: record.spec + "+pad\(pad)", split: split, images: Tensor(shape: [count, g.channels, h2, w2], data: out),
                            labels: labels, classes: isLabelled ? classCount : nil)
    }

    /// A gray set painted in one colour per class (RGB): pixel value v in [0, 1] becomes v * colour,
    /// colours spread around the hue circle. A small synthetic colour dataset whose colour carries the
    /// label (for tests of the RGB path).
    public func paintedByClass() -> ImageDataset {
        precondition(geometry.channels == 1 && isLabelled, "paintedByClass: needs a labelled gray set")
        let g = geometry, plane = g.height * g.width, k = max(1, classCount)
        let colours: [[Float]] = (0..<k).map { c in
            let hue = Float(c) / Float(k) * 6
            let x = 1 - abs(hue.truncatingRemainder(dividingBy: 2) - 1)
            switch Int(hue) {
            case 0: return [1, x, 0]
            case 1: return [x, 1, 0]
            case 2: return [0, 1, x]
            case 3: return [0, x, 1]
            case 4: return [x, 0, 1]
            default: return [1, 0, x]
            }
        }
        var out = [Float](repeating: -1, count: count * 3 * plane)
        for i in 0..<count {
            let colour = colours[labels[i]]
            for p in 0..<plane {
                let v = (images.data[i * plane + p] + 1) / 2
                for c in 0..<3 {
                    // Quantised to bytes, as if read from a PNG, so an exported copy reads back equal.
                    out[(i * 3 + c) * plane + p] = Float(GrayByte.quantise(v * colour[c])) / 127.5 - 1
                }
            }
        }
        return ImageDataset(spec: record.spec + "+painted", split: split, images: Tensor(shape: [count, 3, g.height, g.width], data: out),
                            labels: labels, classes: classCount)
    }
}

enum GrayByte {
    /// [0, 1] to the nearest byte.
    static func quantise(_ v: Float) -> UInt8 { UInt8(max(0, min(255, (v * 255).rounded()))) }
}
