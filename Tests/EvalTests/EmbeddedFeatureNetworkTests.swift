import Datasets
import Foundation
import Testing
import TensorCore
@testable import Eval

/// The shipped feature network: checksum and (when the MNIST files are available, see
/// Datasets.DataDirectory) a quick accuracy check. The full-test-set accuracy and the FID corruption
/// ladder are in `EvalReleaseChecks` (10k-image runs are too slow for debug builds).
@Suite struct EmbeddedFeatureNetworkTests {
    static let mnistAvailable = (try? DataDirectory.mnist()) != nil

    @Test func loadsAndVerifiesItsChecksum() throws {
        let fx = try FeatureExtractor.embedded()
        #expect(fx.checksum == FeatureExtractor.embeddedChecksum)
        #expect(fx.weights.keys == FeatureNetwork().parameterShapes.map(\.key))
    }

    /// Found beside the test executable (SwiftPM's bundle) or in the checkout; a missing one is an error naming
    /// every place looked in, never a crash.
    @Test func resourcesAreFoundOrNamed() throws {
        let found = try #require(EmbeddedResources.find("feature_network.safetensors"))
        #expect(found.hasSuffix("Resources/feature_network.safetensors"))
        #expect(EmbeddedResources.searchPath.count == 2)
        do {
            _ = try EmbeddedResources.path("no_such_network.safetensors")
            Issue.record("a missing resource was found")
        } catch let error as EvalError {
            let message = error.description
            #expect(message.contains("no_such_network.safetensors"))
            for dir in EmbeddedResources.searchPath { #expect(message.contains(dir)) }
        }
    }

    @Test(.enabled(if: mnistAvailable)) func classifiesTestDigits() throws {
        let test = try ImageDataset.mnist(.test)
        let fx = try FeatureExtractor.embedded()
        let n = 1000
        let out = try fx(test.images.slice(0..<n))
        let accuracy = try classAccuracy(logits: out.logits, labels: Array(test.labels[0..<n]))
        #expect(accuracy >= 0.98, "accuracy on the first \(n) test digits: \(accuracy)")
    }
}
