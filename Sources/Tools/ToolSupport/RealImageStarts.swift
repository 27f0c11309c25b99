import Datasets
import TensorCore

/// Real MNIST images as the clean x0 of interpolated starts (`fs-sample --init-x0 mnist-test|mnist-train`),
/// chosen deterministically per sample from its seed and label only.
///
/// Sample i with seed s and label y gets the k-th image of class y in file order, k = (s / 10) mod n_y
/// (integer division; n_y = images of class y in the split). With cycling labels (seed s has label
/// s mod 10) and seeds 0..N-1, these are the first N/10 images of every class, all different while
/// N/10 <= n_y (test: at least 892 per class, train: at least 5421).
public enum RealImageStarts {
    /// The `--init-x0` values that name a split instead of a file.
    public static func split(named value: String) -> MNISTSplit? {
        switch value {
        case "mnist-test": return .test
        case "mnist-train": return .train
        default: return nil
        }
    }

    /// Index into the split of sample (seed, label)'s image.
    public static func imageIndex(seed: UInt64, label: Int, classIndices: [[Int]]) -> Int {
        let members = classIndices[label]
        return members[Int((seed / 10) % UInt64(members.count))]
    }

    /// x0 [N, 1, 28, 28] for the run's seeds and labels; labels must be 0...9 (usage error otherwise).
    public static func x0(_ data: MNIST, seeds: [UInt64], labels: [Int]) throws -> Tensor {
        precondition(seeds.count == labels.count, "RealImageStarts.x0: \(seeds.count) seeds, \(labels.count) labels")
        if let bad = labels.first(where: { !(0...9).contains($0) }) {
            throw ToolError.usage("--init-x0 mnist-\(data.split.rawValue): label \(bad) has no real images (labels must be 0...9)")
        }
        var classIndices = [[Int]](repeating: [], count: 10)
        for (i, y) in data.labels.enumerated() { classIndices[y].append(i) }
        let inner = 28 * 28
        var out = [Float]()
        out.reserveCapacity(seeds.count * inner)
        for (s, y) in zip(seeds, labels) {
            let k = imageIndex(seed: s, label: y, classIndices: classIndices)
            out += data.images.data[(k * inner)..<((k + 1) * inner)]
        }
        return Tensor(shape: [seeds.count, 1, 28, 28], data: out)
    }
}
