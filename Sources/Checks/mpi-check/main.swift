// Checks `Communicator.orderedChunkSum` under mpirun (jobs/tests/mpi.sh): every rank builds the same
// synthetic "per-sample gradients" (one SplitMix64 stream per sample), sums the fixed chunks it owns, and
// reduces them with the communicator. Rank 0 prints one line: the rank count and the SHA-256 of the Float
// and Double results. Every rank also compares its result with a one-process chunked reduction of all
// samples and exits 1 on any difference. Usage: mpi-check [SAMPLES [LENGTH [CHUNK]]].
import Distributed
import Foundation
import TensorCore

let args = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let samples = args.count > 0 ? args[0] : 45
let length = args.count > 1 ? args[1] : 10_007
let chunk = args.count > 2 ? args[2] : ReductionChunks.samplesPerChunk
let world = Communicator.world
let totalChunks = (samples + chunk - 1) / chunk

/// Sample i's vector: values of very different magnitudes, so the order of the adds shows in the bits.
func sampleVector(_ i: Int) -> [Float] {
    var g = SplitMix64(seed: streamSeed(7, 99, UInt64(i)))
    let scales = (0..<length).map { _ in Float(1 << g.below(20)) }
    return zip(g.normals(length), scales).map { $0 * $1 }
}

/// Chunk c's partial: its samples added in sample order (what a chunk of a batch backward produces).
func chunkPartial(_ c: Int) -> ([Float], [Double]) {
    var f = [Float](repeating: 0, count: length), d = [Double](repeating: 0, count: length)
    for i in (c * chunk)..<min(samples, (c + 1) * chunk) {
        let v = sampleVector(i)
        for j in 0..<length { f[j] += v[j]; d[j] += Double(v[j]) * Double(v[j]) }
    }
    return (f, d)
}

func hex(_ a: [Float]) -> String { a.withUnsafeBytes { SHA256.hex($0) } }
func hex(_ a: [Double]) -> String { a.withUnsafeBytes { SHA256.hex($0) } }

do {
    let mine = world.ownedChunks(of: totalChunks)
    var pf: [Float] = [], pd: [Double] = []
    for c in mine { let (f, d) = chunkPartial(c); pf += f; pd += d }
    let sf = try world.orderedChunkSum(pf, length: length, totalChunks: totalChunks)
    let sd = try world.orderedChunkSum(pd, length: length, totalChunks: totalChunks)
    // The one-process reference: every chunk here, summed in chunk order.
    var af: [Float] = [], ad: [Double] = []
    for c in 0..<totalChunks { let (f, d) = chunkPartial(c); af += f; ad += d }
    var rf = [Float](repeating: 0, count: length)
    af.withUnsafeBufferPointer { a in rf.withUnsafeMutableBufferPointer { sumPartials(a.baseAddress!, chunks: totalChunks, stride: length, into: $0.baseAddress!) } }
    var rd = [Double](repeating: 0, count: length)
    for c in 0..<totalChunks { for j in 0..<length { rd[j] = c == 0 ? ad[j] : rd[j] + ad[c * length + j] } }
    let ok = sf == rf && sd == rd
    if world.rank == 0 || !ok {
        print("ranks \(world.size) mpi \(world.usesMPI) rank \(world.rank) chunks \(totalChunks) owned \(mine) "
              + "float \(hex(sf)) double \(hex(sd)) \(ok ? "matches" : "DIFFERS FROM") the one-process sum")
    }
    world.finalize()
    exit(ok ? 0 : 1)
} catch {
    FileHandle.standardError.write(Data("mpi-check: \(error)\n".utf8))
    exit(1)
}
