import Foundation

/// Where the feature networks that ship inside the product are read from: SwiftPM's resource bundle beside the
/// executable (`FlowSteer_Eval.resources` in the build's bin directory: copy it with the tools when installing
/// them elsewhere), else this checkout's `Sources/Eval/Resources`. Not `Bundle.module`: its accessor stops the
/// process with a fatal error when neither the bundle beside the executable nor the build directory it
/// remembers exists, so a copied tool crashed instead of saying what is missing.
enum EmbeddedResources {
    static let bundleName = "FlowSteer_Eval.resources"

    /// The directories searched, in order.
    static var searchPath: [String] {
        var dirs: [String] = []
        if let exe = Bundle.main.executableURL?.resolvingSymlinksInPath().deletingLastPathComponent() {
            dirs.append(exe.appendingPathComponent(bundleName).appendingPathComponent("Resources").path)
        }
        dirs.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources").path)
        return dirs
    }

    /// The path of resource `name` (e.g. "feature_network.safetensors"), or nil when no directory has it.
    static func find(_ name: String) -> String? {
        searchPath.lazy.map { ($0 as NSString).appendingPathComponent(name) }
            .first { FileManager.default.fileExists(atPath: $0) }
    }

    /// The path of resource `name`, or an error naming every place looked in.
    static func path(_ name: String) throws -> String {
        guard let path = find(name) else {
            throw EvalError.badFeatureNetwork(reason: "the embedded \(name) is in none of "
                + searchPath.joined(separator: ", ")
                + " (installing the tools elsewhere: copy \(bundleName) from the build's bin directory beside them)")
        }
        return path
    }
}
