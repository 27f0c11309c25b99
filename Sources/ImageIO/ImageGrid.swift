import TensorCore

/// Tiles a batch [B, 1, H, W] of model-space images (values in [-1, 1]) row by row into one raster,
/// `columns` per row, separated and framed by `padding` pixels of `background` (default black, which
/// matches MNIST's background). With labels cycling 0...9 and `columns: 10`, each row is one class.
public func imageGrid(_ images: Tensor, columns: Int, padding: Int = 2, background: UInt8 = 0) -> PixelImage {
    precondition(images.rank == 4 && (images.shape[1] == 1 || images.shape[1] == 3),
                 "imageGrid: expected [B, 1 or 3, H, W], got \(images.shape)")
    precondition(columns >= 1 && padding >= 0, "imageGrid: columns must be >= 1 and padding >= 0")
    let b = images.shape[0], h = images.shape[2], w = images.shape[3]
    precondition(b >= 1, "imageGrid: empty batch")
    let cols = min(columns, b), rows = (b + cols - 1) / cols
    var grid = PixelImage(filled: background, width: cols * (w + padding) + padding,
                          height: rows * (h + padding) + padding, channels: images.shape[1])
    for i in 0..<b {
        grid.blit(images, index: i, x: padding + (i % cols) * (w + padding), y: padding + (i / cols) * (h + padding))
    }
    return grid
}

/// Draws how a few samples evolve during sampling: row r is sample r, column t is `states[t]` (for
/// example the initial noise, then the state after each Euler step). Every state is [B, 1, H, W] with
/// the same shape; values in [-1, 1] (noise outside that range is clipped for display).
public func trajectoryStrip(_ states: [Tensor], padding: Int = 2, background: UInt8 = 0) -> PixelImage {
    precondition(!states.isEmpty, "trajectoryStrip: no states")
    let shape = states[0].shape
    precondition(shape.count == 4 && (shape[1] == 1 || shape[1] == 3), "trajectoryStrip: expected [B, 1 or 3, H, W], got \(shape)")
    precondition(states.allSatisfy { $0.shape == shape }, "trajectoryStrip: states differ in shape")
    let b = shape[0], h = shape[2], w = shape[3], t = states.count
    var strip = PixelImage(filled: background, width: t * (w + padding) + padding, height: b * (h + padding) + padding,
                           channels: shape[1])
    for (step, state) in states.enumerated() {
        for s in 0..<b { strip.blit(state, index: s, x: padding + step * (w + padding), y: padding + s * (h + padding)) }
    }
    return strip
}
