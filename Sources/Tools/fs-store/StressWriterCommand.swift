import ArgumentParser
import Foundation
import NN
import Store
import TensorCore

/// Hidden helper for the SIGKILL test: writes self-checking artifacts and trajectory batches in a
/// loop, printing "committed NAME" after each commit, until killed or `--count` is reached.
struct StressWriterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "_stress-writer", abstract: "Write self-checking artifacts in a loop (test helper).",
        shouldDisplay: false)
    @OptionGroup var options: StoreOptions
    @Option(help: "Artifacts to write (0 = forever).") var count = 0
    @Option(help: "Seed for sizes and contents.") var seed: UInt64 = 1
    @Option(help: "Largest tensor in floats.") var maxFloats = 2_600_000
    @Option(help: "Chunk size in bytes (small values exercise multi-chunk payloads).") var chunkBytes = 8 << 20
    @Option(help: "WAL pages that start a background checkpoint (0 = default; the writer checkpoints itself at 4x).")
    var checkpointPages = 0

    func run() throws {
        try guarded {
            let s = try options.open(create: true)
            s.chunkBytes = max(1, chunkBytes)
            if checkpointPages > 0 { s.db.setCheckpointPages(soft: checkpointPages, hard: 4 * checkpointPages) }
            var rng = SplitMix64(seed: seed)
            let bank = try s.createOrOpenBank(name: "stress-bank-\(seed)", config: "{}", rowFloats: 64)
            var i = 0
            while count == 0 || i < count {
                // Sizes up to maxFloats * 4 bytes; with a small --chunk-bytes most payloads span several chunks.
                let floats = Int(rng.next() % UInt64(max(1, maxFloats))) + 1
                var data = [Float](repeating: 0, count: floats)
                let base = Float(rng.next() % 1000)
                for k in stride(from: 0, to: floats, by: 997) { data[k] = base + Float(k) }
                let blob = NamedBlob(name: "w", tensor: Tensor(shape: [floats], data: data))
                let sha = blob.bytes.withUnsafeBytes { SHA256.hex($0) }
                let name = "stress-\(seed)-\(i)"
                try s.putArtifact(kind: "stress", name: name, tensors: [blob], metadata: "{\"sha256\":\"\(sha)\"}")
                print("committed \(name)"); fflush(nil)
                let rows = (0..<16).map { k in
                    TrajectoryRow(sample: i * 16 + k, seed: UInt64(i * 16 + k), label: k % 10, guidance: 1.5,
                                  states: [Float](repeating: Float(i * 16 + k), count: 64))
                }
                try s.appendTrajectories(bank: bank, rows: rows)
                print("committed batch \(i)")
                fflush(nil)
                i += 1
            }
        }
    }
}
