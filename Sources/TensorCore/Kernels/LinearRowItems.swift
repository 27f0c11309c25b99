/// The items the threads take for a row-wise linear layer's row GEMMs: the fixed `SampleBlocks`, except
/// that on `FastGEMM` the last `split` blocks are handed out in pieces of a few samples. Equal blocks of
/// ~2 ms left a thread waiting at the join for whatever was left of the other's last block (half a block
/// on average, more when another process held a core). On `FastGEMM` a row's bits do not depend on the
/// call it is computed in, so only who computes which rows changes; OpenBLAS and bf16 keep whole blocks.
/// A layer of one block (under 2048 rows, e.g. a DiT gradient chunk of 16 samples of 49 tokens) is split
/// too: kept whole, it ran on one thread while the others waited at the join.
/// Anything summed per block (the bias gradient's block sums) must still use `blocks`, never the items.
struct LinearRowItems {
    let blocks: SampleBlocks
    /// Blocks `0..<whole` are items of their own; the samples from `tailStart` on come in `piece`s.
    let whole: Int, tailStart: Int, piece: Int

    /// Rows per piece of the tail: enough for the kernel's 12-row tiles to dominate a call.
    static let minimumPieceRows = 128

    init(_ blocks: SampleBlocks, rowsPer: Int, fast: Bool, threads: Int = ComputeThreads.count) {
        self.blocks = blocks
        let split = fast && threads > 1 ? min(max(1, blocks.count - 1), threads) : 0
        whole = blocks.count - max(0, split)
        tailStart = blocks.range(whole).lowerBound
        piece = max(1, (Self.minimumPieceRows + rowsPer - 1) / max(1, rowsPer))
    }

    /// The split blocks, `whole..<blocks.count`.
    var splitBlocks: Range<Int> { whole..<blocks.count }

    var count: Int { whole + (blocks.samples - tailStart + piece - 1) / piece }

    /// The samples of item `i`: a whole block, then the tail's pieces in order.
    func samples(_ i: Int) -> Range<Int> {
        if i < whole { return blocks.range(i) }
        let lo = tailStart + (i - whole) * piece
        return lo..<min(blocks.samples, lo + piece)
    }
}
