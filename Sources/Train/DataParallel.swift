import Distributed
import NN
import TensorCore

/// Data parallelism with the same bits for any rank count (issue 22; docs/design.md "Data parallelism").
///
/// A step's global batch of B samples is cut into C fixed chunks (`gradient_chunks` in the run's config):
/// chunk c holds samples [c B / C, (c + 1) B / C). Each chunk's loss is its share of the global mean
/// (its mean times n_c / B) and is differentiated on a tape of its own; rank r of P computes the chunks
/// `Communicator.ownedChunks` gives it (a contiguous block), packs each chunk's gradients (parameters in
/// StateDict key order) and its loss shares into one row, and `orderedChunkSum` adds the C rows in chunk
/// order on every rank. A one-process run does exactly the same (C tapes, then the same ordered sum), so the
/// summed gradient, and with it clipping, AdamW and the EMA (elementwise and serial), is bit-identical for
/// any P; with P > C the extra ranks idle. C = 1 (runs recorded before chunks existed) is the old
/// whole-batch computation, bit for bit.
public enum GradientChunks {
    /// The samples of global chunk `c` of `chunks` over a batch of `count` samples.
    public static func samples(_ c: Int, of count: Int, chunks: Int) -> Range<Int> {
        precondition(chunks >= 1 && (0..<chunks).contains(c), "GradientChunks: chunk \(c) of \(chunks)")
        return (c * count / chunks)..<((c + 1) * count / chunks)
    }

    /// The factor that turns a mean over `part` samples into its share of the mean over `whole`
    /// (nil when the part is the whole: no multiplication, so C = 1 keeps the old bits).
    public static func share(_ part: Int, of whole: Int) -> Float? {
        part == whole ? nil : Float(part) / Float(whole)
    }

    /// Appends the tensors of `dict` in `keys` order.
    public static func append(_ dict: StateDict, keys: [String], to row: inout [Float]) {
        for k in keys { row += dict[k]!.data }
    }

    /// Zeros for every tensor of `like` (a chunk with no samples).
    public static func appendZeros(like: StateDict, to row: inout [Float]) {
        row += [Float](repeating: 0, count: like.parameterCount)
    }

    /// The tensors of `like`'s shapes read back from `flat` (starting at `offset`, advanced), in key order.
    public static func unpack(_ flat: [Float], like: StateDict, offset: inout Int) -> StateDict {
        var out = StateDict()
        for k in like.keys {
            let t = like[k]!
            out[k] = Tensor(shape: t.shape, data: Array(flat[offset..<(offset + t.count)]))
            offset += t.count
        }
        return out
    }
}

extension Var {
    /// `self * factor`, or `self` itself when there is no factor (see `GradientChunks.share`).
    func scaled(by factor: Float?) -> Var { factor.map { self * $0 } ?? self }
}
