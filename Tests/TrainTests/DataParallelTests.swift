import Datasets
import NN
import TensorCore
import TestSupport
import XCTest
@testable import Train

/// The pieces data parallelism relies on (docs/design.md "Data parallelism"): chunks partition the batch,
/// and a chunk's samples are exactly those samples of the whole batch (so any rank can make its own).
final class DataParallelTests: XCTestCase {
    func testChunksPartitionTheBatchInOrder() {
        for b in [1, 3, 4, 7, 16, 128] {
            for c in 1...min(b, 9) {
                let parts = (0..<c).map { GradientChunks.samples($0, of: b, chunks: c) }
                XCTAssertEqual(parts.first?.lowerBound, 0)
                XCTAssertEqual(parts.last?.upperBound, b)
                for i in 1..<parts.count { XCTAssertEqual(parts[i - 1].upperBound, parts[i].lowerBound) }
            }
        }
        XCTAssertNil(GradientChunks.share(8, of: 8))
        XCTAssertEqual(GradientChunks.share(2, of: 8), 0.25)
    }

    func testPackAndUnpackKeepKeyOrderAndShapes() {
        let d = StateDict([("b", Tensor(shape: [2], data: [1, 2])), ("a", Tensor(shape: [1, 3], data: [3, 4, 5]))])
        var row: [Float] = []
        GradientChunks.append(d, keys: d.keys, to: &row)
        row.append(9)
        XCTAssertEqual(row, [1, 2, 3, 4, 5, 9])
        var offset = 0
        XCTAssertEqual(GradientChunks.unpack(row, like: d, offset: &offset), d)
        XCTAssertEqual(offset, 5)
    }

    func testChunkPairsAreTheWholeBatchsPairs() throws {
        let teacher = DistillFixtures.teacher()
        var c = DistillFixtures.tinyConfig(.flowsteer, ota: true, adversarial: true)
        c.batchSize = 5; c.advBatchSize = 3; c.gradientChunks = 4
        c.advReal = .data
        let bank = DistillFixtures.bank(teacher, segments: c.segments, substeps: c.substeps)
        let data = try DistillData(config: c, teacher: teacher, trajectories: bank, images: DistillFixtures.images())
        let (all, u) = data.distillationPairs(step: 2)
        let adv = data.adversarialPairs(step: 2)
        let real = data.realStates(adv, step: 2)
        for k in 0..<c.chunks {
            let r = GradientChunks.samples(k, of: c.batchSize, chunks: c.chunks)
            let (part, pu) = data.distillationPairs(step: 2, samples: r)
            XCTAssertEqual(part, all.subset(Array(r)))
            XCTAssertEqual(pu, Array(u[r]))
            let ar = GradientChunks.samples(k, of: c.advBatchSize, chunks: c.chunks)
            let ap = data.adversarialPairs(step: 2, samples: ar)
            XCTAssertEqual(ap, adv.subset(Array(ar)))
            let f = ap.sampleFloats
            XCTAssertEqual(data.realStates(ap, step: 2, first: ar.lowerBound), Array(real[(ar.lowerBound * f)..<(ar.upperBound * f)]))
        }
    }

    func testLegacyRunsKeepOneChunk() throws {
        var c = TeacherTrainingConfig.preset("tiny")!
        XCTAssertEqual(c.chunks, 4)
        c.gradientChunks = nil
        XCTAssertEqual(c.chunks, 1)
        let decoded = try TeacherTrainingConfig.fromJSON(c.json)
        XCTAssertNil(decoded.gradientChunks)
        c.gradientChunks = 64
        XCTAssertEqual(c.chunks, c.batchSize)
    }
}
