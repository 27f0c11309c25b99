import COpenBLAS
import Dispatch
import Foundation
import Synchronization

/// How many threads the numeric code uses. One knob for the whole process.
///
/// Our kernels split work over samples with `parallelFor` and call BLAS with one thread each,
/// so BLAS and our loops never oversubscribe the cores (measured faster on 2 cores than a
/// 2-thread BLAS on per-image GEMMs).
public enum ComputeThreads {
    private static let current = Atomic<Int>(1)

    public static var count: Int { current.load(ordering: .relaxed) }

    /// Sets the thread count (clamped to at least 1) and pins OpenBLAS to one thread.
    public static func set(_ n: Int) {
        current.store(max(1, n), ordering: .relaxed)
        openblas_set_num_threads(1)
        keepLargeAllocationsOnHeap()
    }

    /// Every op allocates activation-sized arrays. glibc serves those with mmap and returns them
    /// with munmap, so each one page-faults its memory in again: measured 5.3 s of 8 s as system
    /// time when sampling. Keeping them on the heap (and not trimming it) removes that cost.
    static func keepLargeAllocationsOnHeap() {
        fs_keep_allocations_on_heap()
    }

    /// On AMD Zen, switches Debian's OpenBLAS 0.3.21 from its "Zen" kernel set to the Haswell set
    /// of the same library (faster on the conv layers' small, low-K GEMMs; `OPENBLAS_CORETYPE`
    /// from the environment wins). Call once at process start, before any BLAS call and before
    /// other threads exist: the tools do it in `applyThreads` / fs-bench's `run`. Returns the
    /// core name in use.
    @discardableResult
    public static func preferFastBLASKernels() -> String {
        _ = fs_prefer_haswell_blas_kernels()
        return blasCoreName
    }

    /// OpenBLAS's kernel set in use ("Haswell", "Zen", "Cooperlake", ...). Its sgemm's last bits differ
    /// between sets, so results are bit-reproducible on one set, not across them.
    public static var blasCoreName: String { String(cString: openblas_get_corename()) }

    /// The default: `SLURM_CPUS_PER_TASK` when set, else all online cores.
    public static var defaultCount: Int {
        if let s = ProcessInfo.processInfo.environment["SLURM_CPUS_PER_TASK"], let n = Int(s), n > 0 { return n }
        return ProcessInfo.processInfo.activeProcessorCount
    }
}

/// A box that lets raw pointers cross into `concurrentPerform` (the caller guarantees disjoint writes).
public struct UnsafeSendable<T>: @unchecked Sendable {
    public let value: T
    public init(_ value: T) { self.value = value }
}

/// Runs `body(chunk, range)` over `0..<count` split into at most `ComputeThreads.count` contiguous
/// chunks. Chunk boundaries depend on the thread count: never reduce per-chunk partials of these
/// (use `parallelReductionChunks`, whose chunks are fixed). Called from inside another
/// `parallelChunks` body it runs inline as one chunk (the outer loop already uses every core).
public func parallelChunks(_ count: Int, _ body: (_ chunk: Int, _ range: Range<Int>) -> Void) {
    let threads = parallelChunkCount(count)
    if threads <= 1 {
        if count > 0 { body(0, 0..<count) }
        return
    }
    let per = (count + threads - 1) / threads
    runParticipants(threads) { t in
        let lo = t * per, hi = min(count, lo + per)
        guard lo < hi else { return }
        NestedParallelism.enter()
        body(t, lo..<hi)
        NestedParallelism.leave()
    }
}

/// Runs `body(t)` for t in 0..<n at once on `concurrentPerform` (t = 0 on the calling thread), timed
/// when `FS_PARALLEL_STATS=1`.
func runParticipants(_ n: Int, _ body: (Int) -> Void) {
    if ParallelStats.enabled {
        let start = ParallelStats.now()
        runParticipantsUntimed(n) { t in
            let t0 = ParallelStats.now()
            body(t)
            ParallelStats.busy.add(ParallelStats.now() - t0, ordering: .relaxed)
        }
        ParallelStats.record(since: start, participants: n)
    } else {
        runParticipantsUntimed(n, body)
    }
}

private func runParticipantsUntimed(_ n: Int, _ body: (Int) -> Void) {
    withoutActuallyEscaping(body) { b in
        let box = UnsafeSendable(b)
        DispatchQueue.concurrentPerform(iterations: n) { t in box.value(t) }
    }
}

/// Runs `body(i)` for every i in 0..<count on up to `ComputeThreads.count` threads, each taking the
/// next item as it finishes one (not fixed contiguous chunks: with items of equal size, a core
/// slowed by another process no longer holds up the rest). Only for items whose results do not
/// depend on which thread runs them or in which order. Nested `parallelChunks` inside run inline.
public func parallelItems(_ count: Int, _ body: (_ item: Int) -> Void) {
    let threads = parallelChunkCount(count)
    if threads <= 1 {
        for i in 0..<count { body(i) }
        return
    }
    let next = Atomic<Int>(0)
    runParticipants(threads) { _ in
        NestedParallelism.enter()
        while true {
            let i = next.add(1, ordering: .relaxed).oldValue
            if i >= count { break }
            body(i)
        }
        NestedParallelism.leave()
    }
}

/// How reductions over the samples of a batch (weight and bias gradients) are split: into fixed chunks
/// of `samplesPerChunk` samples, never into one partial per thread. Each chunk's partial sum runs over
/// its samples in order, and the partials are added in chunk order, so a gradient's bits depend on the
/// batch and this constant only, not on `ComputeThreads.count` or on scheduling (issue 22).
public enum ReductionChunks {
    /// Samples per partial sum. Changing it changes the bits of every trained artifact.
    public static let samplesPerChunk = 8

    private static let perThreadFlag = Atomic<Bool>(false)

    /// Opt-out (`FS_PER_THREAD_REDUCTIONS=1`, or set here): one partial per thread as before issue 22.
    /// Results then depend on the thread count. Off by default.
    public static var perThread: Bool {
        get { perThreadFlag.load(ordering: .relaxed) }
        set { perThreadFlag.store(newValue, ordering: .relaxed) }
    }

    /// Reads `FS_PER_THREAD_REDUCTIONS` (1/true/yes turns the opt-out on); the tools call it at start-up.
    public static func applyEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) {
        if let v = env["FS_PER_THREAD_REDUCTIONS"]?.lowercased() { perThread = ["1", "true", "yes"].contains(v) }
    }

    /// The number of partials `parallelReductionChunks(count, ...)` produces.
    public static func count(_ items: Int) -> Int {
        perThread ? parallelChunkCount(items) : max(1, (items + samplesPerChunk - 1) / samplesPerChunk)
    }
}

/// Runs `body(chunk, range)` for the fixed chunks of `ReductionChunks.samplesPerChunk` items of
/// `0..<count` (chunk c is `c * size ..< min(count, (c + 1) * size)`), `ReductionChunks.count(count)`
/// of them, on up to `ComputeThreads.count` threads, each taking the next chunk when it finishes one.
/// A body that accumulates into slot `chunk` of a partials buffer, followed by `sumPartials`, gives
/// the same bits for every thread count. With `ReductionChunks.perThread` it is `parallelChunks`.
public func parallelReductionChunks(_ count: Int, _ body: (_ chunk: Int, _ range: Range<Int>) -> Void) {
    if ReductionChunks.perThread { parallelChunks(count, body); return }
    if count <= 0 { return }
    let size = ReductionChunks.samplesPerChunk
    parallelItems(ReductionChunks.count(count)) { c in body(c, (c * size)..<min(count, (c + 1) * size)) }
}

/// out[i] = partials[0 * stride + i] + partials[1 * stride + i] + ... (chunk order, left to right) for
/// i in 0..<stride: the final step of a chunked reduction. Parallel over i (each element's order is fixed).
public func sumPartials(_ partials: UnsafePointer<Float>, chunks: Int, stride: Int, into out: UnsafeMutablePointer<Float>) {
    let (pb, ob) = (UnsafeSendable(partials), UnsafeSendable(out))
    let blocks = (stride + 4095) / 4096
    let run = { (blk: Range<Int>) in
        for b in blk {
            let lo = b * 4096, hi = min(stride, lo + 4096)
            (ob.value + lo).update(from: pb.value + lo, count: hi - lo)
            for c in 1..<max(1, chunks) {
                let p = pb.value + c * stride
                for i in lo..<hi { ob.value[i] += p[i] }
            }
        }
    }
    if stride * chunks < 1 << 16 { run(0..<blocks) } else { parallelChunks(blocks) { _, r in run(r) } }
}

/// The number of chunks `parallelChunks(count, ...)` will use.
public func parallelChunkCount(_ count: Int) -> Int {
    NestedParallelism.inside ? 1 : max(1, min(ComputeThreads.count, count))
}

/// A per-thread flag: set while a thread runs a `parallelChunks` body. A UNet forward over a
/// group of 8 rows is ~40 short parallel ops, each a fork/join with serial gaps between; running
/// whole groups in parallel with serial ops inside keeps both cores busy.
enum NestedParallelism {
    private static let key: pthread_key_t = {
        var k = pthread_key_t()
        precondition(pthread_key_create(&k, nil) == 0, "pthread_key_create failed")
        return k
    }()

    static var inside: Bool { pthread_getspecific(key) != nil }
    static func enter() { pthread_setspecific(key, UnsafeMutableRawPointer(bitPattern: 1)) }
    static func leave() { pthread_setspecific(key, nil) }
}
