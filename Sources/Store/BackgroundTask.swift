import Dispatch

/// Runs a computation on another thread (hashing overlapped with SQLite or libarchive work on
/// the calling thread); `wait()` returns its result.
final class BackgroundTask<T: Sendable>: @unchecked Sendable {
    private var result: T?
    private let group = DispatchGroup()

    init(_ work: @escaping @Sendable () -> T) {
        group.enter()
        DispatchQueue.global().async {
            self.result = work()
            self.group.leave()
        }
    }

    func wait() -> T {
        group.wait()
        return result!
    }
}
