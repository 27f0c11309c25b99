import Distributed
import Testing
import TensorCore
import TestSupport

/// The one-rank fallback (swift test is not launched by mpirun) and the chunk ownership rule.
/// The multi-rank behaviour is checked under mpirun by jobs/tests/mpi.sh (mpi-check).
@Suite struct CommunicatorTests {
    @Test func singletonWithoutALauncher() throws {
        let w = Communicator.world
        #expect(w.size == 1 && w.rank == 0 && !w.usesMPI)
        try w.barrier()
        let partials = randomTensor([5 * 7], seed: 1, scale: 1e4).data
        let sum = try w.orderedChunkSum(partials, length: 7, totalChunks: 5)
        var want = [Float](repeating: 0, count: 7)
        for i in 0..<7 { var s = partials[i]; for c in 1..<5 { s += partials[c * 7 + i] }; want[i] = s }
        #expect(sum == want)
        let d = partials.map { Double($0) }
        let dsum = try w.orderedChunkSum(d, length: 7, totalChunks: 5)
        var dwant = [Double](repeating: 0, count: 7)
        for i in 0..<7 { var s = d[i]; for c in 1..<5 { s += d[c * 7 + i] }; dwant[i] = s }
        #expect(dsum == dwant)
        #expect(try w.orderedChunkSum([Float](), length: 3, totalChunks: 0) == [0, 0, 0])
    }

    @Test(arguments: [0, 1, 5, 16, 17])
    func ownedChunksPartitionInOrder(total: Int) {
        for size in 1...6 {
            let blocks = (0..<size).map { Communicator.ownedChunks(of: total, rank: $0, size: size) }
            #expect(blocks.flatMap { Array($0) } == Array(0..<total))
            #expect(blocks.allSatisfy { $0.count >= total / size && $0.count <= (total + size - 1) / size })
        }
    }
}
