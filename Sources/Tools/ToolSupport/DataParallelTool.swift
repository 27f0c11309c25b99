import ArgumentParser
import Distributed
import Foundation
import Store

/// The MPI side of fs-train and fs-distill (docs/operations.md "Data-parallel training"): the job's
/// communicator for the trainers, which rank writes, how the others open the store, and how the job ends.
///
/// - Rank 0 alone writes the store (run status, metrics, checkpoints); its transactions make every
///   checkpoint all-or-nothing, so a rank killed at any moment leaves the last complete checkpoint.
/// - Every other rank opens the same store file read-only (a shared filesystem, or a copy of the store
///   at the same path on each node) after rank 0 has opened (and, for a new store, created) it, and
///   reads the teacher, bank, data and resume checkpoint itself; it prints nothing.
/// - A failure seen by one rank ends the whole job (`MPI_Abort` with the tool's exit code), so no rank
///   waits forever in the next collective; divergence is collective (every rank computes the same loss
///   from the same sums), so every rank exits 5 after rank 0 has recorded the failed run.
/// - Without mpirun/srun this is one rank and nothing of MPI runs.
public struct DataParallelTool {
    public let communicator: Communicator

    /// True on ranks other than 0 (set by `run`): `CommonOptions.log`, `progress` and `emit` stay silent.
    nonisolated(unsafe) public static var isFollower = false

    /// Whether this rank writes the store (rank 0).
    public var writes: Bool { communicator.rank == 0 }

    /// Runs a tool body with the job's communicator (`Communicator.world`) and ends MPI as above.
    public static func run(_ name: String, _ body: (DataParallelTool) throws -> Void) throws {
        let env = ProcessInfo.processInfo.environment
        let comm = Communicator.world
        isFollower = comm.rank != 0
        // Several processes that each believe they are the only rank would all write the store: refuse.
        if !comm.usesMPI, env["SLURM_PROCID"] != nil, let n = env["SLURM_STEP_NUM_TASKS"].flatMap(Int.init), n > 1 {
            throw ToolError.usage("\(name) was started as one of \(n) tasks of a Slurm step without an MPI launcher it can join "
                                  + "(srun --mpi=none?): start it with mpirun inside the allocation, or srun --mpi=pmix (docs/operations.md)")
        }
        if comm.usesMPI, env["OMPI_COMM_WORLD_SIZE"] == nil, env["SLURM_PROCID"] != nil,
           let n = env["SLURM_STEP_NUM_TASKS"].flatMap(Int.init), n != comm.size {
            throw ToolError.usage("\(name): srun started \(n) tasks but MPI sees \(comm.size) rank(s): start it with mpirun "
                                  + "inside the allocation, or srun --mpi=pmix (docs/operations.md)")
        }
        if let n = env["PMI_SIZE"].flatMap(Int.init), n != comm.size {
            throw ToolError.usage("\(name): the launcher started \(n) tasks but MPI sees \(comm.size) rank(s) (Open MPI cannot "
                                  + "join this launcher's PMI, e.g. srun --mpi=pmi2 with Debian's Open MPI): start it with mpirun inside "
                                  + "the allocation, or srun --mpi=pmix (docs/operations.md)")
        }
        do {
            let start = Date()
            if comm.size > 1, comm.rank == 0 { StandardError.line("\(name): \(comm.size) MPI ranks") }
            try body(DataParallelTool(communicator: comm))
            if comm.size > 1, comm.rank == 0, ProcessInfo.processInfo.environment["FS_MPI_STATS"] == "1" {
                StandardError.line("\(name): " + String(format: "rank 0 of %d: %.2f s in the gradient allgather (%.1f%% of %.2f s), %.1f MB received",
                                          comm.size, comm.collectiveSeconds,
                                          100 * comm.collectiveSeconds / max(1e-9, Date().timeIntervalSince(start)),
                                          Date().timeIntervalSince(start), Double(comm.collectiveBytes) / 1e6))
            }
        } catch {
            guard comm.usesMPI, comm.size > 1 else { comm.finalize(); throw error }
            let outcome = ToolOutcome(error: error)
            if outcome.code == ExitCode.diverged.rawValue {
                // Every rank diverged at the same step; rank 0 has recorded it. End together.
                if comm.rank == 0 { StandardError.line("\(name): \(outcome.message)") }
                try? comm.barrier()
                comm.finalize()
                Foundation.exit(outcome.code)
            }
            StandardError.line("\(name) (rank \(comm.rank) of \(comm.size)): \(outcome.message.isEmpty ? "failed" : outcome.message); ending the MPI job")
            comm.abort(code: outcome.code)
            throw error
        }
        comm.finalize()
    }

    /// The store for this rank: rank 0 opens it with `open` (which may create it); then every other rank
    /// opens the same path read-only. Collective: every rank calls it once, at the same point.
    public func openStore(path: String, _ open: () throws -> ArtifactStore) throws -> ArtifactStore {
        guard communicator.size > 1 else { return try open() }
        if writes {
            let store = try open()
            try communicator.barrier()
            return store
        }
        try communicator.barrier()
        return try ArtifactStore(path: path, access: .read)
    }

    /// Collective: every rank has read what it needs (checkpoint, teacher, bank) before rank 0 writes.
    public func loaded() throws { try communicator.barrier() }
}
