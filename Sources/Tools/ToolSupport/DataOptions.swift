import ArgumentParser
import Datasets

extension DatasetSplit: ExpressibleByArgument {}

/// `--data SPEC [--split train|test]`: the images a tool reads (training data, real starts, the
/// evaluation reference). One definition, so every tool accepts the same specs with the same errors.
public struct DataOptions: ParsableArguments {
    @Option(name: .customLong("data"), help: ArgumentHelp("Dataset: \(DatasetSpec.help).", valueName: "SPEC"))
    public var spec: String?
    @Option(help: "Split, for datasets that have them (IDX by name, folders with train/ and test/).")
    public var split: DatasetSplit?

    public init() {}

    /// The spec given, else `fallback`.
    public func parsedSpec(fallback: String = "mnist") throws -> DatasetSpec {
        try DatasetSpec(parsing: spec ?? fallback)
    }

    /// Loads `--data` (default `fallback`) at `--split`, else at `defaultSplit` where the format has splits.
    public func load(defaultSplit: DatasetSplit?, fallback: String = "mnist") throws -> ImageDataset {
        let parsed = try parsedSpec(fallback: fallback)
        return try parsed.load(split: split ?? (parsed.hasSplits() ? defaultSplit : nil))
    }

    /// The dataset a recorded run used: `--data`/`--split` if given (the files may have moved), else
    /// the recorded spec and split (else `legacySpec`'s train split for runs made before datasets were
    /// recorded); its content must hash to the record's SHA-256.
    public func loadRecorded(_ record: DatasetRecord?, legacySpec: String) throws -> ImageDataset {
        guard let record else { return try load(defaultSplit: .train, fallback: legacySpec) }
        let parsed = try parsedSpec(fallback: record.spec)
        let images = try parsed.load(split: split ?? record.split)
        guard images.record.sha256 == record.sha256 else {
            throw DatasetError(file: parsed.description, problem: "content SHA-256 \(images.record.sha256.prefix(16))... differs "
                               + "from the run's recorded \(record.sha256.prefix(16))... (\(record.spec)"
                               + (record.split.map { " \($0.rawValue)" } ?? "") + "): not the images this run was made from")
        }
        return images
    }
}

extension ImageDataset {
    /// One line for logs: "fashion-mnist train: 60000 images 1x28x28, 10 classes, sha256 c59f468a2f67...".
    public var summary: String {
        "\(record.spec)\(record.split.map { " \($0.rawValue)" } ?? ""): \(count) images \(geometry), "
            + (isLabelled ? "\(classCount) classes" : "unlabelled") + ", sha256 \(record.sha256.prefix(12))..."
    }
}
