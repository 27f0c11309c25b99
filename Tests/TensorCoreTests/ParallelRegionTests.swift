import Foundation
import Synchronization
import Testing
import TensorCore

/// Issue 23: `parallelChunks` / `parallelItems` run every chunk and item exactly once whatever the thread
/// count (raised and lowered between calls), after idle gaps, with two threads starting regions at once,
/// and nested calls stay inline. (Written for a persistent worker pool, which was not kept: see
/// docs/performance.md; the contract is the same for `concurrentPerform`.)
@Suite(.serialized) struct ParallelRegionTests {
    func counts(_ n: Int, threads: Int, items: Bool) -> [Int] {
        let saved = ComputeThreads.count
        defer { ComputeThreads.set(saved) }
        ComputeThreads.set(threads)
        var hits = [Int](repeating: 0, count: n)
        hits.withUnsafeMutableBufferPointer { p in
            let pb = UnsafeSendable(p.baseAddress!)
            if items {
                parallelItems(n) { i in pb.value[i] += 1 }
            } else {
                parallelChunks(n) { _, r in for i in r { pb.value[i] += 1 } }
            }
        }
        return hits
    }

    @Test func everyChunkAndItemOnceAtEveryThreadCount() {
        for threads in [1, 2, 3, 4, 2, 3, 1, 2] {
            for n in [1, 2, 3, 7, 64] {
                for _ in 0..<200 {
                    #expect(counts(n, threads: threads, items: false) == [Int](repeating: 1, count: n))
                    #expect(counts(n, threads: threads, items: true) == [Int](repeating: 1, count: n))
                }
            }
        }
    }

    /// Gaps of milliseconds between regions: idle workers have gone to sleep when each region starts.
    @Test func workersWakeFromSleep() {
        for _ in 0..<20 {
            usleep(2_000)
            #expect(counts(5, threads: 2, items: false) == [1, 1, 1, 1, 1])
            #expect(counts(9, threads: 3, items: true) == [Int](repeating: 1, count: 9))
        }
    }

    @Test func nestedCallsRunInline() {
        let saved = ComputeThreads.count
        defer { ComputeThreads.set(saved) }
        ComputeThreads.set(2)
        let inner = Mutex<[Int]>([])
        parallelChunks(2) { _, _ in
            let n = parallelChunkCount(10)
            var chunks = 0
            parallelChunks(10) { _, r in chunks += 1; #expect(r == 0..<10) }
            inner.withLock { $0.append(n * 10 + chunks) }
        }
        #expect(inner.withLock { $0 } == [11, 11])
    }

    /// Two threads starting regions at once: both complete, every item once.
    @Test func concurrentCallersBothComplete() {
        let saved = ComputeThreads.count
        defer { ComputeThreads.set(saved) }
        ComputeThreads.set(2)
        let total = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            for _ in 0..<300 {
                parallelItems(6) { _ in total.add(1, ordering: .relaxed) }
            }
        }
        #expect(total.load(ordering: .relaxed) == 2 * 300 * 6)
    }
}
