import TensorCore

/// The PNG grid of the first `limit` samples of a batch [B, C, H, W] (model space, C = 1 or 3) and their
/// labels. With `byClass`, row r holds the samples of the r-th smallest label in sample order (so
/// cycling labels give one row per class, one column per seed group); missing cells stay black.
/// Otherwise the samples fill a near-square grid row by row. `scale` enlarges every pixel.
public func sampleGrid(_ samples: Tensor, labels: [Int], byClass: Bool, limit: Int, scale: Int = 1) -> PixelImage {
    let n = min(limit, samples.shape[0])
    precondition(n >= 1, "sampleGrid: no samples")
    precondition(labels.count >= n, "sampleGrid: \(labels.count) labels for \(n) samples")
    let inner = samples.count / samples.shape[0]
    let cellShape = Array(samples.shape.dropFirst())
    var image: PixelImage
    if byClass {
        let classes = Array(Set(labels[0..<n])).sorted()
        let rows = classes.map { c in (0..<n).filter { labels[$0] == c } }
        let cols = rows.map(\.count).max()!
        var data = [Float](repeating: -1, count: classes.count * cols * inner)
        for (r, members) in rows.enumerated() {
            for (c, i) in members.enumerated() {
                let dst = (r * cols + c) * inner
                data.replaceSubrange(dst..<(dst + inner), with: samples.data[(i * inner)..<((i + 1) * inner)])
            }
        }
        image = imageGrid(Tensor(shape: [classes.count * cols] + cellShape, data: data), columns: cols)
    } else {
        let cols = Int(Double(n).squareRoot().rounded(.up))
        image = imageGrid(Tensor(shape: [n] + cellShape, data: Array(samples.data[0..<(n * inner)])), columns: cols)
    }
    return image.upscaled(by: scale)
}
