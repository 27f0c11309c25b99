import ArgumentParser
import Datasets
import Foundation
import TensorCore
import Train

/// fs-sample's options for running part of a trajectory: start from given states or from an
/// interpolation of noise and a clean image instead of pure noise, and/or stop before sigma 0
/// (paper Table 1: resume the teacher for its last segments from authentic vs interpolated states).
public struct StartOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Start from the states in FILE (tensor 'states', else 'samples', [N,C,H,W] F32, row i = seed i; e.g. a --save-tensors file of a run with --stop-sigma).",
                               valueName: "file"))
    public var initTensors: String?

    @Option(help: ArgumentHelp("Start from sigma*eps_i + (1-sigma)*x0_i, sigma = the run's first, eps_i = seed i's noise; x0 from FILE ('samples' tensor, clean, row i = seed i) or real images of the model's dataset (test, train; or --data) or of MNIST (mnist-test, mnist-train): image (seed/10) mod n_y of label y.",
                               valueName: "file|test|train|mnist-test|mnist-train"))
    public var initX0: String?

    @Option(help: ArgumentHelp("Start the run at this point of the sigma grid (default: with --init-tensors the file's last recorded sigma, else the grid's first).",
                               valueName: "sigma"))
    public var startSigma: Float?

    @Option(help: ArgumentHelp("Stop the run at this point of the sigma grid: the outputs are the states there, not clean samples.",
                               valueName: "sigma"))
    public var stopSigma: Float?

    public init() {}

    public func validate() throws {
        if initTensors != nil && initX0 != nil { throw ValidationError("give at most one of --init-tensors and --init-x0") }
        if startSigma != nil && initTensors == nil && initX0 == nil {
            throw ValidationError("--start-sigma needs --init-tensors or --init-x0 (pure noise starts at the grid's first sigma)")
        }
        try OptionCheck.float("--start-sigma", startSigma, .range(0...1))
        try OptionCheck.float("--stop-sigma", stopSigma, .range(0...1))
    }

    /// True when the run covers the whole grid from pure noise (the options are unused).
    public var isDefault: Bool { initTensors == nil && initX0 == nil && stopSigma == nil }

    /// What `resolve` decides: the sigmas to walk, the start, and what to record about it.
    public struct Resolved {
        public var sigmas: [Float]
        public var start: SampleStart
        /// For the sample set's metadata and the JSON output: kind, sigma, file and its SHA-256, or split.
        public var record: [String: Any]
        /// A short, unique tag of the start and stop for default artifact names ("" for a plain run).
        public var nameTag: String
    }

    /// Cuts `grid` (the full schedule, ending at 0) to the run's window and loads its start. Input-file
    /// problems are exit 3 naming the file; a start file whose recorded sigma is not the run's first
    /// is also exit 3 (the states are from another point of the trajectory).
    public func resolve(grid: [Float], seeds: [UInt64], labels: [Int], sampleShape: [Int],
                        loadData: (DatasetSplit) throws -> ImageDataset = { try ImageDataset.mnist($0) }) throws -> Resolved {
        var file: StartFile?
        if let initTensors {
            file = try StartFile.load(initTensors, tensorNames: ["states", "samples"], seeds: seeds, labels: labels,
                                      sampleShape: sampleShape)
        } else if let initX0, RealImageStarts.split(named: initX0) == nil {
            file = try StartFile.load(initX0, tensorNames: ["samples"], seeds: seeds, labels: labels, sampleShape: sampleShape)
        }
        let sigmas = try SigmaWindow.cut(grid, start: startSigma ?? (initTensors != nil ? file?.sigma : nil), stop: stopSigma)
        let s0 = sigmas[0]
        var record: [String: Any] = ["start_sigma": s0, "stop_sigma": sigmas.last!]
        var tag = ""
        if sigmas.first != grid.first { tag += "-start\(s0)" }
        if sigmas.last != grid.last { tag += "-stop\(sigmas.last!)" }
        if let f = file {
            record["start_file"] = f.path
            record["start_file_sha256"] = f.sha256
            record["start_tensor"] = f.tensorName
        }
        let start: SampleStart
        if let f = file, initTensors != nil {
            if let at = f.sigma, abs(at - s0) > SigmaWindow.tolerance {
                throw ToolError.badInput("\(f.path): its states are at sigma \(at) (last value of its 'sigmas' metadata), "
                                         + "but this run starts at sigma \(s0)")
            }
            start = .states(f.rows)
            record["start"] = "states"
            tag += "-from\(f.sha256.prefix(12))"
        } else if let initX0 {
            let x0: Tensor
            if let (split, mnist) = RealImageStarts.split(named: initX0) {
                let data = mnist ? try ImageDataset.mnist(split) : try loadData(split)
                guard Array(data.images.shape.dropFirst()) == sampleShape else {
                    throw ToolError.badInput("--init-x0 \(initX0): \(data.summary) images are not the model's \(sampleShape)")
                }
                x0 = try RealImageStarts.x0(data, seeds: seeds, labels: labels)
                record["start_x0"] = initX0
                record["start_x0_rule"] = "image (seed / 10) mod n_y of label y, \(split.rawValue) file order"
                record["start_x0_data"] = data.record.json
                tag += "-interp-\(initX0)"
            } else {
                let f = file!
                if let at = f.sigma, at != 0 {
                    throw ToolError.badInput("\(f.path): its samples are states at sigma \(at), not clean images "
                                             + "(--init-x0 needs x0; use --init-tensors to resume from states)")
                }
                x0 = f.rows
                record["start_x0"] = "file"
                tag += "-interp\(f.sha256.prefix(12))"
            }
            start = .interpolated(x0: x0, sigma: s0)
            record["start"] = "interpolated"
        } else {
            start = .noise
            record["start"] = "noise"
        }
        return Resolved(sigmas: sigmas, start: start, record: record, nameTag: tag)
    }
}
