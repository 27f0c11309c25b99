import Foundation

/// Finds a known dataset's directory, so tools work from any working directory inside the repo,
/// from a Slurm job's scratch directory (via `FS_DATA_DIR`), and from test bundles under `.build`.
public enum DataDirectory {
    /// The directory holding `dataset`'s `.gz` files (`mnist/` or `fashion-mnist/`).
    ///
    /// Order: `$FS_DATA_DIR` (a data directory containing the dataset's folder; for MNIST also the
    /// folder itself); else the first `data/<name>` found walking up from the current directory, then from
    /// the running executable; else Debian's `/usr/share/datasets/<name>` (package
    /// dataset-fashion-mnist). Throws a `DatasetError` listing where it looked and how to install.
    public static func locate(_ dataset: KnownIDX,
                              environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        let fm = FileManager.default
        let marker = IDXDataset.fileNames(.train).images
        func holds(_ dir: String) -> Bool { fm.fileExists(atPath: (dir as NSString).appendingPathComponent(marker)) }

        if let env = environment["FS_DATA_DIR"], !env.isEmpty {
            let nested = (env as NSString).appendingPathComponent(dataset.rawValue)
            if holds(nested) { return nested }
            if dataset == .mnist && holds(env) { return env }  // FS_DATA_DIR=.../mnist, the older form
            throw DatasetError(file: env, problem: "FS_DATA_DIR holds neither \(dataset.rawValue)/\(marker) nor \(marker)")
        }
        var starts = [fm.currentDirectoryPath]
        if let exe = Bundle.main.executableURL?.resolvingSymlinksInPath().deletingLastPathComponent().path {
            starts.append(exe)
        }
        for start in starts {
            var dir = URL(fileURLWithPath: start).standardizedFileURL
            while true {
                let candidate = dir.appendingPathComponent("data/\(dataset.rawValue)").path
                if holds(candidate) { return candidate }
                let parent = dir.deletingLastPathComponent()
                if parent.path == dir.path { break }
                dir = parent
            }
        }
        let system = "/usr/share/datasets/\(dataset.rawValue)"
        if holds(system) { return system }
        throw DatasetError(file: "data/\(dataset.rawValue)",
                           problem: "not found above \(starts.joined(separator: " or ")) nor in \(system); \(dataset.installHint)")
    }

    /// The MNIST directory (kept for callers that only ever read MNIST).
    public static func mnist(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        try locate(.mnist, environment: environment)
    }
}
