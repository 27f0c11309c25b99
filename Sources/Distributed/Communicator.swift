import CMPI
import Dispatch
import TensorCore

/// An MPI failure (the communicator returns errors instead of aborting the job).
public struct CommunicatorError: Error, CustomStringConvertible {
    public let call: String
    public let code: Int32
    public var description: String { "\(call) failed with MPI error \(code)" }
}

/// The ranks of one MPI job (Open MPI's `MPI_COMM_WORLD`), or a single rank when the process was not
/// started by an MPI launcher (then MPI is never initialized and every collective is a local copy).
///
/// Its one reduction, `orderedChunkSum`, is bit-identical for any rank count: the work (a batch's samples)
/// is cut into fixed global chunks (`ReductionChunks.samplesPerChunk` samples, or any fixed size) that do
/// not depend on the rank count; each rank computes the partial sum of each chunk it owns (a contiguous
/// block, `ownedChunks`); the partials of every chunk are gathered on every rank, and every rank adds them
/// in global chunk order, left to right (`sumPartials`, the same order as a one-process chunked reduction).
/// An MPI_Allreduce would instead add in an order that depends on the rank count and the algorithm.
///
/// How a trainer uses it (`TeacherTrainer`, `DistillTrainer`; fs-train and fs-distill pass `Communicator.world`): for a global batch of B samples in C = B / chunk
/// chunks, rank r computes the parameter gradient of each of its chunks on its own (one tape per chunk, the
/// loss of a chunk being its share of the global mean: sum over its samples / B), flattens the gradients of
/// its chunks into one buffer ([its chunks x parameter count], in a fixed parameter order), calls
/// `orderedChunkSum`, and then every rank clips, steps AdamW and updates the EMA on identical values (all
/// elementwise or serial), so the weights stay identical on every rank without a broadcast. Loss sums go
/// through the Double overload the same way. A one-process run must compute its gradient the same way (per
/// chunk, then `sumPartials`) to match a multi-rank run bit for bit.
public final class Communicator: @unchecked Sendable {
    public let rank: Int
    public let size: Int
    /// False for the one-rank fallback (not launched by mpirun/srun): MPI is not initialized.
    public let usesMPI: Bool

    /// The process's communicator: `MPI_COMM_WORLD` when launched by an MPI launcher, else one rank.
    /// The first use initializes MPI (funneled: only the thread that calls collectives talks to MPI;
    /// ComputeThreads workers never do).
    public static let world: Communicator = Communicator()

    /// One rank that never touches MPI (the default of the trainers: tests and tools not started by a launcher).
    public static let local: Communicator = Communicator(localOnly: ())

    private init(localOnly: ()) { (rank, size, usesMPI) = (0, 1, false) }

    private init() {
        guard fs_mpi_launched() != 0 else { (rank, size, usesMPI) = (0, 1, false); return }
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        if initialized == 0 {
            var provided: Int32 = 0
            let rc = MPI_Init_thread(nil, nil, fs_mpi_thread_funneled(), &provided)
            precondition(rc == fs_mpi_success(), "MPI_Init_thread failed with MPI error \(rc)")
        }
        MPI_Comm_set_errhandler(fs_mpi_comm_world(), fs_mpi_errors_return())
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(fs_mpi_comm_world(), &r)
        MPI_Comm_size(fs_mpi_comm_world(), &s)
        (rank, size, usesMPI) = (Int(r), Int(s), true)
    }

    /// Ends MPI (call once, at the end of the program, after the last collective). No-op for one rank.
    public func finalize() {
        guard usesMPI else { return }
        var finalized: Int32 = 0
        MPI_Finalized(&finalized)
        if finalized == 0 { MPI_Finalize() }
    }

    /// Ends every rank of the job at once (`MPI_Abort`, the launcher then exits non-zero with `code`).
    /// For a failure only this rank saw (the others would wait forever in the next collective). No-op for one rank.
    public func abort(code: Int32) {
        guard usesMPI, size > 1 else { return }
        MPI_Abort(fs_mpi_comm_world(), code)
    }

    /// Blocks until every rank arrives.
    public func barrier() throws {
        guard usesMPI else { return }
        try check("MPI_Barrier", MPI_Barrier(fs_mpi_comm_world()))
    }

    /// The global chunks rank `rank` of `size` owns: the contiguous block [rank * total / size, (rank + 1) * total / size).
    public static func ownedChunks(of total: Int, rank: Int, size: Int) -> Range<Int> {
        precondition(total >= 0 && size >= 1 && (0..<size).contains(rank), "ownedChunks: \(total) chunks, rank \(rank) of \(size)")
        return (rank * total / size)..<((rank + 1) * total / size)
    }

    /// This rank's block of `total` global chunks.
    public func ownedChunks(of total: Int) -> Range<Int> { Self.ownedChunks(of: total, rank: rank, size: size) }

    /// out[i] = sum over global chunks c = 0, 1, ..., totalChunks - 1 (in that order, left to right) of
    /// chunk c's partial[i], on every rank. `partials` holds this rank's chunks `ownedChunks(of: totalChunks)`,
    /// `length` floats each, in chunk order. The result does not depend on the rank count.
    public func orderedChunkSum(_ partials: [Float], length: Int, totalChunks: Int) throws -> [Float] {
        let all = try gatherChunks(partials, length: length, totalChunks: totalChunks, datatype: fs_mpi_float())
        if totalChunks == 0 { return [Float](repeating: 0, count: length) }
        return [Float](unsafeUninitializedCapacity: length) { out, n in
            all.withUnsafeBufferPointer { sumPartials($0.baseAddress!, chunks: totalChunks, stride: length, into: out.baseAddress!) }
            n = length
        }
    }

    /// The Double version (loss sums, statistics): the same order, left to right over global chunks.
    public func orderedChunkSum(_ partials: [Double], length: Int, totalChunks: Int) throws -> [Double] {
        let all = try gatherChunks(partials, length: length, totalChunks: totalChunks, datatype: fs_mpi_double())
        var out = [Double](repeating: 0, count: length)
        for c in 0..<totalChunks { for i in 0..<length { out[i] = c == 0 ? all[i] : out[i] + all[c * length + i] } }
        return out
    }

    /// Wall seconds spent inside `orderedChunkSum`'s MPI_Allgatherv so far (waiting for the slowest rank included),
    /// and the bytes it received: what docs/operations.md's scaling table reports. Read on the collective thread.
    public private(set) var collectiveSeconds: Double = 0
    public private(set) var collectiveBytes: Int = 0

    /// Every chunk's partials on every rank ([totalChunks x length], chunk order), via MPI_Allgatherv.
    private func gatherChunks<T: Numeric>(_ partials: [T], length: Int, totalChunks: Int, datatype: MPI_Datatype) throws -> [T] {
        let mine = ownedChunks(of: totalChunks)
        precondition(partials.count == mine.count * length,
                     "orderedChunkSum: rank \(rank) owns chunks \(mine) of \(totalChunks) (\(mine.count * length) values), got \(partials.count)")
        guard usesMPI, size > 1 else { return partials }
        precondition(totalChunks * length <= Int(Int32.max), "orderedChunkSum: \(totalChunks) x \(length) values exceed MPI's Int32 counts")
        var counts = [Int32](), displs = [Int32]()
        for r in 0..<size {
            let owned = Self.ownedChunks(of: totalChunks, rank: r, size: size)
            counts.append(Int32(owned.count * length)); displs.append(Int32(owned.lowerBound * length))
        }
        var all = [T](repeating: 0, count: totalChunks * length)
        let t0 = DispatchTime.now().uptimeNanoseconds
        defer {
            collectiveSeconds += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            collectiveBytes += (totalChunks * length - partials.count) * MemoryLayout<T>.stride
        }
        let rc = partials.withUnsafeBufferPointer { sp in
            all.withUnsafeMutableBufferPointer { rp in
                MPI_Allgatherv(sp.baseAddress, Int32(partials.count), datatype, rp.baseAddress, counts, displs, datatype,
                               fs_mpi_comm_world())
            }
        }
        try check("MPI_Allgatherv", rc)
        return all
    }

    private func check(_ call: String, _ rc: Int32) throws {
        if rc != fs_mpi_success() { throw CommunicatorError(call: call, code: rc) }
    }
}
