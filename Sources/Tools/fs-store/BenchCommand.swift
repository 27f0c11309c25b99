import ArgumentParser
import Foundation
import NN
import Store
import TensorCore

/// The speed benchmark: trajectory-sized rows and a large tensor written to and read
/// from a fresh store, against a raw file write of the same bytes, plus `archive` throughput.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure store write/read MB/s against a raw file write, and archive MB/s (prints JSON).",
        discussion: """
        Uses a fresh temporary store in --dir (default: the system temp directory) and never touches --store; the output is always JSON. \
        Rows are (K+1)*C*H*W float32 trajectories (K = --steps, C x H x W = --image), appended in batches of --batch. \
        bank_append_commit_mb_s counts committed (kill-safe) appends; bank_append_durable_mb_s adds \
        the final WAL checkpoint and fsync, comparable to raw_file_write_mb_s (write + fsync). \
        load_avg is the 1-minute load when the benchmark started (numbers are noisy under load).
        Example: fs-store bench --mb 256
        """)
    @OptionGroup var options: StoreOptions
    @Option(help: "Megabytes of trajectory data to write.") var mb = 256
    @Option(help: "Euler steps per trajectory (row = (K+1) states).") var steps = 8
    @Option(help: "One state's geometry CxHxW (the trajectories' images; default MNIST's).") var image = "1x28x28"
    @Option(help: "Rows per append transaction.") var batch = 256
    @Option(help: "Directory for the temporary store and files.") var dir = NSTemporaryDirectory()
    @Option(help: "zstd worker threads for the archive step (as `archive --threads`).") var archiveThreads = 1

    func run() throws {
        try guarded {
            var loads = [Double](repeating: 0, count: 3)
            getloadavg(&loads, 3)
            let loadAvg = loads[0]
            let dims = image.split(separator: "x").compactMap { Int($0) }
            guard dims.count == 3, dims.allSatisfy({ $0 > 0 }) else {
                throw ValidationError("--image '\(image)': expected CxHxW, e.g. 3x32x32")
            }
            let rowFloats = (steps + 1) * dims.reduce(1, *)
            let rows = max(1, mb * 1_000_000 / (rowFloats * 4))
            let bytes = rows * rowFloats * 4
            let base = (dir as NSString).appendingPathComponent("fs-store-bench-\(getpid())")
            defer { for s in ["", ".db", ".db-wal", ".db-shm", ".raw", ".tar.zst"] { unlink(base + s) } }
            // Random floats (like real trajectories they barely compress).
            var rng = SplitMix64(seed: 7)
            func row(_ i: Int) -> TrajectoryRow {
                let states = (0..<rowFloats).map { _ in Float(Int32(truncatingIfNeeded: rng.next())) * 0x1p-31 }
                return TrajectoryRow(sample: i, seed: UInt64(i), label: i % 10, guidance: 2, states: states)
            }
            let batches = stride(from: 0, to: rows, by: batch).map { start in (start..<min(rows, start + batch)).map(row) }

            // Raw file: the same bytes with write(2), then fsync (as SQLite's WAL checkpoint does).
            let rawSecs = try time {
                let fd = open(base + ".raw", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                guard fd >= 0 else { throw StoreError.badInput(file: base + ".raw", reason: "cannot create") }
                defer { close(fd) }
                for b in batches { for r in b { r.states.withUnsafeBytes { _ = write(fd, $0.baseAddress, $0.count) } } }
                fsync(fd)
            }
            let store = try ArtifactStore(path: base + ".db", create: true)
            var bank = try store.createOrOpenBank(name: "bench", config: "{}", rowFloats: rowFloats)
            let insertSecs = try time {
                for b in batches { try store.appendTrajectories(bank: bank, rows: b) }
            }
            let ckptSecs = try time { try store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)") }
            let writeSecs = insertSecs + ckptSecs
            var readBack = TrajectoryBank()
            let readSecs = try time { readBack = try store.readBank(bank) }
            guard readBack.count == rows else { throw StoreError.corrupt(path: base, reason: "read back \(readBack.count) rows of \(rows)") }
            let finalizeSecs = try time { bank = try store.finalizeBank(bank) }
            // One big tensor (a checkpoint-like payload) through put/load.
            let tensor = NamedBlob(name: "x", dtype: .F32, shape: [rows, rowFloats],
                                   bytes: readBack.states.withUnsafeBytes { [UInt8]($0) })
            var tensorRecord: ArtifactRecord?
            let putSecs = try time { tensorRecord = try store.putArtifact(kind: "bench", name: "tensor", tensors: [tensor]) }
            let loadSecs = try time { _ = try store.loadBlobs(tensorRecord!) }
            var archivedBytes = 0
            let archiveSecs = try time { archivedBytes = try store.archive(refs: ["bench"], to: base + ".tar.zst", compressionThreads: archiveThreads).payloadBytes }
            let archiveSize = (try? FileManager.default.attributesOfItem(atPath: base + ".tar.zst")[.size] as? Int) ?? 0
            // SHA-256 alone (content hashes, archive checksums) on 32 MB of the same data.
            let shaBytes = min(32 << 20, tensor.bytes.count)
            func shaSecs(portable: Bool) throws -> Double {
                try time {
                    var h = SHA256Hasher(portable: portable)
                    tensor.bytes.withUnsafeBytes { h.update(UnsafeRawBufferPointer(rebasing: $0[0..<shaBytes])) }
                    _ = h.finalize()
                }
            }
            let (shaFast, shaPortable) = (try shaSecs(portable: false), try shaSecs(portable: true))
            func mbps(_ n: Int, _ s: Double) -> OrderedJSON { OrderedJSON((Double(n) / 1e6 / s * 10).rounded() / 10) }
            printJSON(.object([
                ("load_avg", OrderedJSON((loadAvg * 100).rounded() / 100)),
                ("rows", OrderedJSON(rows)), ("row_floats", OrderedJSON(rowFloats)), ("bytes", OrderedJSON(bytes)),
                ("raw_file_write_mb_s", mbps(bytes, rawSecs)),
                ("bank_append_commit_mb_s", mbps(bytes, insertSecs)),
                ("bank_final_checkpoint_s", OrderedJSON((ckptSecs * 1000).rounded() / 1000)),
                ("bank_append_durable_mb_s", mbps(bytes, writeSecs)),
                ("bank_read_mb_s", mbps(bytes, readSecs)),
                ("bank_finalize_hash_mb_s", mbps(bytes, finalizeSecs)),
                ("store_write_overhead_vs_raw", OrderedJSON((writeSecs / rawSecs * 100).rounded() / 100)),
                ("tensor_put_mb_s", mbps(tensor.bytes.count, putSecs)),
                ("tensor_load_mb_s", mbps(tensor.bytes.count, loadSecs)),
                ("archive_mb_s", mbps(archivedBytes, archiveSecs)), ("archive_threads", OrderedJSON(archiveThreads)),
                ("sha256_mb_s", mbps(shaBytes, shaFast)), ("sha256_portable_mb_s", mbps(shaBytes, shaPortable)),
                ("sha256_hardware", .bool(SHA256.hardwareAccelerated)),
                ("archive_compression_ratio", OrderedJSON((Double(archiveSize) / Double(max(1, archivedBytes)) * 1000).rounded() / 1000)),
            ]))
        }
    }

    func time(_ body: () throws -> Void) throws -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }
}
