import ArgumentParser
import Datasets
import Foundation
import ToolSupport

@main
struct FSData: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fs-data",
        abstract: "Inspect datasets and convert them between IDX, ImageFolder and EDM zip.",
        discussion: """
        Every tool that reads images takes --data SPEC, where SPEC is
          \(DatasetSpec.help).
        This tool shows what a SPEC holds (geometry, classes, content hashes) and writes a dataset
        as an ImageFolder or an EDM-style zip.

        Examples:
          fs-data info --data fashion-mnist --split test
          fs-data export --data mnist --split test --to mnist-test/
          fs-data export --data mnist --split test --to mnist-test.zip
          fs-data export --data mnist --limit 2000 --paint-by-class --pad 2 --to rgb32/
        """,
        subcommands: [Info.self, Export.self])

    static func main() { runAsTool() }
}

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Geometry, classes, counts and content hashes of a dataset.")
    @OptionGroup var common: CommonOptions
    @OptionGroup var data: DataOptions

    func run() throws {
        common.applyThreads()
        let set = try data.load(defaultSplit: .train)
        var perClass = [Int](repeating: 0, count: set.classCount)
        for y in set.labels { perClass[y] += 1 }
        var out: [String: Any] = ["spec": set.record.spec, "count": set.count, "channels": set.geometry.channels,
                                  "height": set.geometry.height, "width": set.geometry.width, "classes": set.classCount,
                                  "per_class": perClass, "sha256": set.record.sha256, "set_sha256": set.record.setSHA256 ?? NSNull()]
        if let split = set.split { out["split"] = split.rawValue }
        if !set.classNames.isEmpty { out["class_names"] = set.classNames }
        let mean = set.images.data.reduce(0.0) { $0 + Double($1) } / Double(max(1, set.images.count))
        out["pixel_mean_01"] = (mean + 1) / 2
        try common.emit(out, human: set.summary + String(format: ", pixel mean %.4f (in [0, 1])", (mean + 1) / 2))
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a dataset as an ImageFolder (a directory) or an EDM-style zip (a path ending in .zip).")
    @OptionGroup var common: CommonOptions
    @OptionGroup var data: DataOptions
    @Option(help: "Output: a new or empty directory (ImageFolder), or a FILE.zip (EDM layout).") var to: String
    @Option(help: "Only the first N images.") var limit: Int?
    @Option(help: "Pad every image by P background pixels on each side (e.g. 2: 28x28 -> 32x32).") var pad: Int = 0
    @Flag(help: "Paint a gray labelled set in one colour per class (a synthetic RGB set).") var paintByClass = false

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1, got \(limit)") }
        guard pad >= 0 && pad <= 1024 else { throw ValidationError("--pad must be in 0...1024, got \(pad)") }
    }

    func run() throws {
        common.applyThreads()
        var set = try data.load(defaultSplit: .train)
        if let limit { set = set.prefix(limit) }
        if pad > 0 { set = set.padded(by: pad) }
        if paintByClass {
            guard set.geometry.channels == 1, set.isLabelled else {
                throw ToolError.usage("--paint-by-class needs a labelled gray dataset; \(set.summary)")
            }
            set = set.paintedByClass()
        }
        if to.lowercased().hasSuffix(".zip") { try DatasetExport.writeZip(set, to: to) } else { try DatasetExport.writeFolder(set, to: to) }
        try common.emit(["to": to, "count": set.count, "geometry": set.geometry.description, "classes": set.classCount,
                         "sha256": set.record.sha256],
                        human: "wrote \(set.count) images (\(set.geometry), \(set.classCount) classes) to \(to)")
    }
}
