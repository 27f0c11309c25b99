import Datasets
import TensorCore

/// Real images as the clean x0 of interpolated starts (`fs-sample --init-x0 test|train|mnist-test|mnist-train`),
/// chosen deterministically per sample from its seed and label only.
///
/// Sample i with seed s and label y gets the k-th image of class y in file order, k = (s / 10) mod n_y
/// (integer division; n_y = images of class y in the split). With cycling labels (seed s has label
/// s mod 10) and seeds 0..N-1, these are the first N/10 images of every class, all different while
/// N/10 <= n_y (test: at least 892 per class, train: at least 5421).
public enum RealImageStarts {
    /// The `--init-x0` values that name a split instead of a file: `test`/`train` of the model's
    /// dataset (or `--data`), or `mnist-test`/`mnist-train` of MNIST whatever the model.
    public static func split(named value: String) -> (split: DatasetSplit, mnist: Bool)? {
        switch value {
        case "mnist-test": return (.test, true)
        case "mnist-train": return (.train, true)
        case "test": return (.test, false)
        case "train": return (.train, false)
        default: return nil
        }
    }

    /// Index into the split of sample (seed, label)'s image.
    public static func imageIndex(seed: UInt64, label: Int, classIndices: [[Int]]) -> Int {
        let members = classIndices[label]
        return members[Int((seed / 10) % UInt64(members.count))]
    }

    /// x0 [N, C, H, W] for the run's seeds and labels; every label needs images of its class in `data`
    /// (usage error otherwise).
    public static func x0(_ data: ImageDataset, seeds: [UInt64], labels: [Int]) throws -> Tensor {
        precondition(seeds.count == labels.count, "RealImageStarts.x0: \(seeds.count) seeds, \(labels.count) labels")
        var classIndices = [[Int]](repeating: [], count: data.classCount)
        for (i, y) in data.labels.enumerated() { classIndices[y].append(i) }
        if let bad = labels.first(where: { !classIndices.indices.contains($0) || classIndices[$0].isEmpty }) {
            throw ToolError.usage("real-image starts from \(data.summary): label \(bad) has no real images")
        }
        return data.batch(zip(seeds, labels).map { imageIndex(seed: $0, label: $1, classIndices: classIndices) })
    }
}
