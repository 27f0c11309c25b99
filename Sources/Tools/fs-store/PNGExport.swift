import ImageIO
import NN
import Store
import TensorCore

/// `export REF -o FILE.png`: the artifact's first image-shaped F32 tensor ([B, 1, H, W], [1, H, W]
/// or [H, W], values in [-1, 1]) as a PNG grid, ten images per row.
func exportPNG(_ store: ArtifactStore, _ a: ArtifactRecord, to path: String) throws {
    let noImages = [ArtifactKind.trajectoryBank, ArtifactKind.checkpoint, ArtifactKind.optimizerState]
    guard !noImages.contains(a.kind) else {
        throw StoreError.badInput(file: path, reason: "\(a.kind) artifacts export as .safetensors, not PNG")
    }
    for b in try store.loadBlobs(a) where b.dtype == .F32 {
        let s = b.shape
        let nchw: [Int]
        switch s.count {
        case 4 where s[1] == 1 && s[0] >= 1: nchw = s
        case 3 where s[0] == 1: nchw = [1] + s
        case 2: nchw = [1, 1] + s
        default: continue
        }
        guard nchw[2] >= 1, nchw[3] >= 1 else { continue }
        let t = try b.tensor(file: store.path).reshaped(nchw)
        do { try PNG.write(imageGrid(t, columns: min(10, nchw[0])), to: path) } catch let e as ImageIOError {
            throw StoreError.writeFailed(path: path, reason: "\(e)")   // an output write failure: exit 1
        }
        return
    }
    throw StoreError.badInput(file: path, reason: "\(a.kind) '\(a.name)' has no image-shaped F32 tensor ([B,1,H,W], [1,H,W] or [H,W])")
}
