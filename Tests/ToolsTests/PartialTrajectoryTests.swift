import ArgumentParser
import Datasets
import Foundation
import NN
import TensorCore
import Testing
import Train
@testable import ToolSupport

/// fs-sample's partial trajectories in-process: a run stopped at sigma_k and resumed from its states
/// is the uninterrupted run bit for bit; interpolated starts are exactly sigma*eps + (1-sigma)*x0;
/// start files and sigma windows are checked with the documented exit codes.
@Suite struct PartialTrajectoryTests {
    let seeds: [UInt64] = [4, 17, 2, 30, 9]
    var labels: [Int] { LabelSpec.cycle.labels(count: seeds.count) }
    let shape = [1, 28, 28]

    /// The fixed 4-step grid of shift 3: the segment boundaries 1, 0.9, 0.75, 0.5, 0 (few steps keep debug tests fast).
    var grid: [Float] { SigmaSchedule.make(.fixed, steps: 4, shift: 3).sigmas }

    @Test func stoppingAtSigmaThenResumingReproducesTheFullRunBitForBit() throws {
        let model = try randomTinyModel(channels: [8], embedDim: 16)
        for w: Float in [1, 2.5] {
            func run(_ sigmas: [Float], _ start: SampleStart = .noise) throws -> GeneratedSamples {
                // Group size 2 pads the last group, so padding of given start states is covered too.
                try SampleGeneration.generate(model, seeds: seeds, labels: labels, plan: SamplingPlan(sigmas: sigmas, guidance: w),
                                          batchSize: 2, start: start, groupSize: 2)
            }
            let full = try run(grid)
            for stop: Float in [0.75, 0.5] {
                let head = try run(try SigmaWindow.cut(grid, start: nil, stop: stop))
                let tail = try run(try SigmaWindow.cut(grid, start: stop, stop: nil), .states(head.samples))
                #expect(tail.samples.data == full.samples.data, "w \(w), resumed at \(stop)")
                #expect(tail.noise.data == full.noise.data)
            }
        }
    }

    @Test func interpolatedStartIsExactlySigmaEpsPlusOneMinusSigmaX0() throws {
        let model = try randomTinyModel(channels: [8], embedDim: 16)
        var rng = SplitMix64(seed: 3)
        let x0 = Tensor(shape: [seeds.count] + shape, data: rng.normals(seeds.count * 784))
        let eps = Tensor.perSampleNoise(seeds: seeds, sampleShape: shape)
        for sigma: Float in [0.75, 0.5] {
            // One sigma, no step: the outputs are the start states themselves.
            let start = try SampleGeneration.generate(model, seeds: seeds, labels: labels, plan: SamplingPlan(sigmas: [sigma], guidance: 2),
                                                  batchSize: 5, start: .interpolated(x0: x0, sigma: sigma), groupSize: 2)
            var expected = [Float](repeating: 0, count: x0.count)
            for j in 0..<x0.count { expected[j] = (1 - sigma) * x0.data[j] + sigma * eps.data[j] }
            #expect(start.samples.data == expected, "sigma \(sigma)")
            // Resuming from them equals sampling from that tensor directly.
            let window = try SigmaWindow.cut(grid, start: sigma, stop: nil)
            let resumed = try SampleGeneration.generate(model, seeds: seeds, labels: labels, plan: SamplingPlan(sigmas: window, guidance: 2),
                                                    batchSize: 5, start: .interpolated(x0: x0, sigma: sigma), groupSize: 5)
            let direct = try SampleGeneration.generate(model, seeds: seeds, labels: labels, plan: SamplingPlan(sigmas: window, guidance: 2),
                                                   batchSize: 5, start: .states(start.samples), groupSize: 5)
            #expect(resumed.samples.data == direct.samples.data)
        }
    }

    @Test func sigmaWindowsUseTheGridsOwnPoints() throws {
        let g32 = SigmaSchedule.make(.fixed, steps: 32, shift: 3).sigmas
        let last = try SigmaWindow.cut(g32, start: 0.5, stop: nil)
        #expect(last.count == 9 && last.first == 0.5 && last.last == 0)
        let lastTwo = try SigmaWindow.cut(g32, start: 0.75, stop: nil)
        #expect(lastTwo.count == 17 && Array(lastTwo[8...]) == last)
        let head = try SigmaWindow.cut(g32, start: nil, stop: 0.9)
        #expect(head.count == 9 && head.first == 1 && head.last == g32[8])
        #expect(try SigmaWindow.cut(g32, start: 0.5, stop: 0.5) == [0.5])
        #expect(try SigmaWindow.cut([1, 0.6, 0.2, 0], start: nil, stop: nil) == [1, 0.6, 0.2, 0])
        for (a, b): (Float?, Float?) in [(0.6, nil), (nil, 0.6), (0.5, 0.75)] {
            #expect(ToolOutcome(error: errorOf { _ = try SigmaWindow.cut(g32, start: a, stop: b) }).code == 2)
        }
    }

    // MARK: - Start files

    final class Dir {
        let path = NSTemporaryDirectory() + "partial-\(getpid())-\(UUID().uuidString.prefix(8))"
        init() { try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        func file(_ n: String) -> String { path + "/" + n }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    func write(_ path: String, rows: Tensor, name: String = "samples", labels: [Int]?, seeds: String?, sigmas: String?) throws {
        var entries = [SafetensorsEntry(name: name, tensor: rows)]
        if let labels { entries.append(GeneratedSamples.int64Entry("labels", labels.map(Int64.init))) }
        var meta: [(key: String, value: String)] = [("format", "pt")]
        if let seeds { meta.append(("seeds", seeds)) }
        if let sigmas { meta.append(("sigmas", sigmas)) }
        try Safetensors.write(SafetensorsFile(entries: entries, metadata: meta), to: path)
    }

    @Test func startFilesAreCheckedAgainstTheRun() throws {
        let dir = Dir()
        let values: [Float] = (0..<(seeds.count * 784)).map { Float($0 % 7) / 7 }
        let rows = Tensor(shape: [seeds.count] + shape, data: values)
        let good = dir.file("good.safetensors")
        try write(good, rows: rows, labels: labels, seeds: SeedList(seeds).description, sigmas: "[1.0, 0.75, 0.5]")
        let opts = try StartOptions.parse(["--init-tensors", good])
        let resolved = try opts.resolve(grid: grid, seeds: seeds, labels: labels, sampleShape: shape)
        #expect(resolved.sigmas == [0.5, 0])
        #expect(resolved.record["start"] as? String == "states" && resolved.record["start_file"] as? String == good)
        #expect((resolved.record["start_file_sha256"] as? String)?.count == 64)
        if case .states(let t) = resolved.start { #expect(t.data == rows.data) } else { Issue.record("not a states start") }

        func code(_ o: StartOptions, seeds s: [UInt64]? = nil, labels l: [Int]? = nil) -> (Int32, String) {
            let e = ToolOutcome(error: errorOf { _ = try o.resolve(grid: grid, seeds: s ?? seeds, labels: l ?? labels, sampleShape: shape) })
            return (e.code, e.message)
        }
        // Another start sigma than the file's states.
        var o = try StartOptions.parse(["--init-tensors", good, "--start-sigma", "0.75"])
        var (c, m) = code(o)
        #expect(c == 3 && m.contains(good) && m.contains("0.5"))
        // Other seeds, other labels, other counts.
        (c, m) = code(opts, seeds: [4, 17, 2, 30, 10])
        #expect(c == 3 && m.contains("seeds"))
        (c, m) = code(opts, labels: [0, 1, 2, 3, 5])
        #expect(c == 3 && m.contains("row 4"))
        (c, m) = code(opts, seeds: Array(seeds.prefix(4)), labels: Array(labels.prefix(4)))
        #expect(c == 3 && m.contains("shape"))
        // Missing file, not safetensors, no such tensor, wrong dtype, non-finite values.
        o = try StartOptions.parse(["--init-tensors", dir.file("missing.safetensors")])
        #expect(code(o).0 == 3)
        try Data("not a safetensors file".utf8).write(to: URL(fileURLWithPath: dir.file("junk.safetensors")))
        o = try StartOptions.parse(["--init-tensors", dir.file("junk.safetensors")])
        #expect(code(o).0 == 3)
        try write(dir.file("other.safetensors"), rows: rows, name: "noise", labels: nil, seeds: nil, sigmas: nil)
        o = try StartOptions.parse(["--init-tensors", dir.file("other.safetensors")])
        (c, m) = code(o)
        #expect(c == 3 && m.contains("states or samples"))
        try Safetensors.write(SafetensorsFile(entries: [GeneratedSamples.int64Entry("samples", [Int64](repeating: 1, count: seeds.count * 784))]),
                              to: dir.file("ints.safetensors"))
        o = try StartOptions.parse(["--init-tensors", dir.file("ints.safetensors")])
        #expect(code(o).0 == 3)
        try write(dir.file("nan.safetensors"), rows: Tensor(shape: rows.shape, data: rows.data.map { _ in .nan }), labels: nil, seeds: nil, sigmas: nil)
        o = try StartOptions.parse(["--init-tensors", dir.file("nan.safetensors")])
        #expect(code(o).0 == 3)
        // --init-x0 wants clean samples (sigmas ending at 0), not states.
        o = try StartOptions.parse(["--init-x0", good, "--start-sigma", "0.5"])
        (c, m) = code(o)
        #expect(c == 3 && m.contains("--init-tensors"))
        let clean = dir.file("clean.safetensors")
        try write(clean, rows: rows, labels: labels, seeds: SeedList(seeds).description, sigmas: "[1.0, 0.5, 0.0]")
        o = try StartOptions.parse(["--init-x0", clean, "--start-sigma", "0.5"])
        let interp = try o.resolve(grid: grid, seeds: seeds, labels: labels, sampleShape: shape)
        #expect(interp.record["start"] as? String == "interpolated" && interp.sigmas.first == 0.5)
        if case .interpolated(let x0, let s) = interp.start { #expect(x0.data == rows.data && s == 0.5) } else { Issue.record("not interpolated") }
        #expect(interp.nameTag != resolved.nameTag)
    }

    @Test func optionCombinationsAreUsageErrors() {
        for args in [["--init-tensors", "a", "--init-x0", "b"], ["--start-sigma", "0.5"], ["--stop-sigma", "1.5"]] {
            // runAsTool turns ArgumentParser's validation failures into exit code 2.
            #expect(StartOptions.exitCode(for: errorOf { _ = try StartOptions.parse(args) }) == .validationFailure, "\(args)")
        }
    }

    @Test func realImagesFollowTheSeedRuleAndNeedDigitLabels() throws {
        // A fake split: image k is filled with k / 100, labels k mod 3 (so class 0 = images 0, 3, 6, ...).
        let n = 30
        let pixels: [Float] = (0..<(n * 784)).map { Float($0 / 784) / 100 }
        let images = Tensor(shape: [n, 1, 28, 28], data: pixels)
        let data = ImageDataset(split: .test, images: images, labels: (0..<n).map { $0 % 3 })
        // `test` is the model's dataset (here the fake split); `mnist-test` would force the real MNIST files.
        let o = try StartOptions.parse(["--init-x0", "test", "--start-sigma", "0.75"])
        let s: [UInt64] = [0, 10, 21, 95]
        let l = [0, 0, 1, 2]
        let r = try o.resolve(grid: grid, seeds: s, labels: l, sampleShape: shape, loadData: { _ in data })
        guard case .interpolated(let x0, let sigma) = r.start else { Issue.record("not interpolated"); return }
        #expect(sigma == 0.75 && r.record["start_x0"] as? String == "test")
        // class 0 has 10 images (0, 3, ..., 27): seed 0 -> #0 = image 0, seed 10 -> #1 = image 3;
        // class 1: seed 21 -> #2 = image 7; class 2: seed 95 -> #9 = image 29.
        let firstPixels: [Float] = [0, 1, 2, 3].map { x0.data[$0 * 784] }
        let indices: [Int] = [0, 3, 7, 29]
        let expected: [Float] = indices.map { Float($0) / 100 }
        #expect(firstPixels == expected)
        let e = ToolOutcome(error: errorOf { _ = try o.resolve(grid: grid, seeds: [1], labels: [10], sampleShape: shape,
                                                                loadData: { _ in data }) })
        #expect(e.code == 2 && e.message.contains("label 10"))
    }
}
