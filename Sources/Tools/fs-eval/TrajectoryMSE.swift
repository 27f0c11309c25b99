import ArgumentParser
import Eval
import Foundation
import NN
import TensorCore
import ToolSupport

/// `fs-eval trajectory-mse A B`: the trajectory MSE (`TrajectoryFidelity`: per-pixel, both clamped to
/// [-1, 1]) between the samples of two tensors files, so jobs/ use the same definition as fs-eval.
struct TrajectoryMSE: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trajectory-mse",
        abstract: "Per-pixel MSE (clamped to [-1, 1]) between the samples of two tensors files.",
        discussion: """
        The files are fs-sample --save-tensors outputs of the same seeds and labels
        (a student's and the teacher's). The same measure as fs-eval --teacher.

        Example: fs-eval trajectory-mse student.safetensors teacher.safetensors --json
        """)
    @OptionGroup var common: CommonOptions
    @Argument(help: "Student samples (a tensors file).") var student: String
    @Argument(help: "Teacher samples of the same seeds and labels.") var teacher: String
    @Option(help: "Tensor to compare in both files.") var tensor: String = "samples"

    func run() throws {
        let a = try samples(student), b = try samples(teacher)
        guard a.shape == b.shape else {
            throw ToolError.badInput("\(student) holds \(tensor) \(a.shape) but \(teacher) holds \(b.shape): not the same seeds")
        }
        guard a.isFinite, b.isFinite else { throw ToolError.badInput("\(a.isFinite ? teacher : student): \(tensor) holds NaN or infinity") }
        let f = try TrajectoryFidelity(student: a, teacher: b)
        let pixels = a.count / max(1, a.shape.first ?? 1)
        try common.emit(["trajectory_mse": f.mse, "samples": f.perSample.count, "pixels_per_sample": pixels],
                        human: String(format: "trajectory MSE %.6g (%d samples of %d pixels)", f.mse, f.perSample.count, pixels))
    }

    func samples(_ path: String) throws -> Tensor {
        let file = try Safetensors.read(path: path)
        guard let e = file.entries.first(where: { $0.name == tensor }) else {
            let names = file.entries.map(\.name)
            throw ToolError.badInput("\(path): no tensor '\(tensor)' (has \(names.prefix(6).joined(separator: ", "))"
                                     + (names.count > 6 ? ", ... \(names.count) in all" : "") + "): not an fs-sample --save-tensors file?")
        }
        let t = try e.tensor(file: path)
        guard t.rank >= 2, t.shape[0] > 0 else { throw ToolError.badInput("\(path): \(tensor) has shape \(t.shape), expected [N, ...]") }
        return t
    }
}
