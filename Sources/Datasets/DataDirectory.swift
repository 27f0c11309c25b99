import Foundation

/// Finds the project's MNIST directory, so tools work from any working directory inside the repo,
/// from a Slurm job's scratch directory (via `FS_DATA_DIR`), and from test bundles under `.build`.
public enum DataDirectory {
    /// The directory holding the MNIST `.gz` files.
    ///
    /// Order: `$FS_DATA_DIR` (either the data directory containing `mnist/`, or the MNIST directory
    /// itself); else the first `data/mnist` found walking up from the current directory, then from the
    /// running executable. Throws a `DatasetError` listing where it looked.
    public static func mnist(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        let fm = FileManager.default
        let marker = MNISTSplit.train.imagesFile
        func holdsMNIST(_ dir: String) -> Bool { fm.fileExists(atPath: (dir as NSString).appendingPathComponent(marker)) }

        if let env = environment["FS_DATA_DIR"], !env.isEmpty {
            let nested = (env as NSString).appendingPathComponent("mnist")
            if holdsMNIST(nested) { return nested }
            if holdsMNIST(env) { return env }
            throw DatasetError(file: env, problem: "FS_DATA_DIR holds neither mnist/\(marker) nor \(marker)")
        }
        var starts = [fm.currentDirectoryPath]
        if let exe = Bundle.main.executableURL?.resolvingSymlinksInPath().deletingLastPathComponent().path {
            starts.append(exe)
        }
        for start in starts {
            var dir = URL(fileURLWithPath: start).standardizedFileURL
            while true {
                let candidate = dir.appendingPathComponent("data/mnist").path
                if holdsMNIST(candidate) { return candidate }
                let parent = dir.deletingLastPathComponent()
                if parent.path == dir.path { break }
                dir = parent
            }
        }
        throw DatasetError(file: "data/mnist",
                           problem: "not found above \(starts.joined(separator: " or ")); set FS_DATA_DIR")
    }
}
