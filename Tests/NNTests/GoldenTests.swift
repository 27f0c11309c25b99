import Foundation
import Testing
import NN
import TensorCore
import TestSupport

/// Outputs and gradients of our layers and UNet against PyTorch (fixtures from tools/golden/make_fixtures.py).
@Suite struct GoldenTests {
    static func fixture(_ name: String) throws -> SafetensorsFile {
        let url = Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: "safetensors")!
        return try Safetensors.read(path: url.path)
    }

    let layers: SafetensorsFile
    init() throws { layers = try Self.fixture("layers") }

    func t(_ name: String, _ file: SafetensorsFile? = nil) throws -> Tensor {
        try #require((file ?? layers).entry(name), "fixture tensor \(name)").tensor()
    }

    func ints(_ name: String, _ file: SafetensorsFile? = nil) throws -> [Int] {
        let e = try #require((file ?? layers).entry(name))
        return e.bytes.withUnsafeBytes { raw in (0..<(e.bytes.count / 8)).map { Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self))) } }
    }

    /// atol 1e-4 + rtol 1e-3, as the fixture README suggests for float32.
    func close(_ a: Tensor, _ b: Tensor, atol: Float = 1e-4, rtol: Float = 1e-3) -> Bool {
        guard a.shape == b.shape || a.count == b.count else { return false }
        for i in 0..<a.count where abs(a.data[i] - b.data[i]) > atol + rtol * abs(b.data[i]) { return false }
        return true
    }

    /// Runs `f` on variables for `inputs`, seeds backward with `P.r`, and checks out and every grad.
    func check(_ p: String, _ inputs: [String], _ f: ([Var]) -> Var) throws {
        let tape = Tape()
        let vars = try inputs.map { tape.variable(try t("\(p).\($0)")) }
        let out = f(vars)
        #expect(close(out.value, try t("\(p).out")), "\(p) forward")
        let g = tape.backward(out, seed: try t("\(p).r"))
        for (name, v) in zip(inputs, vars) {
            let gname = name == "weight" || name == "bias" || name == "x" || name == "a" || name == "b" ? "grad_\(name)" : "grad_\(name)"
            #expect(close(g[v], try t("\(p).\(gname)")), "\(p) gradient of \(name)")
        }
    }

    @Test func convolutions() throws {
        try check("conv3x3s1", ["x", "weight", "bias"]) { conv2d($0[0], weight: $0[1], bias: $0[2], stride: 1, padding: 1) }
        try check("conv3x3s2", ["x", "weight", "bias"]) { conv2d($0[0], weight: $0[1], bias: $0[2], stride: 2, padding: 1) }
        try check("conv3x3s2even", ["x", "weight", "bias"]) { conv2d($0[0], weight: $0[1], bias: $0[2], stride: 2, padding: 1) }
        try check("conv1x1", ["x", "weight", "bias"]) { conv2d($0[0], weight: $0[1], bias: $0[2]) }
    }

    @Test func linearNormActivations() throws {
        try check("linear", ["x", "weight", "bias"]) { linear($0[0], weight: $0[1], bias: $0[2]) }
        try check("groupnorm", ["x", "weight", "bias"]) { groupNorm($0[0], groups: 8, weight: $0[1], bias: $0[2]) }
        try check("silu", ["x"]) { silu($0[0]) }
        try check("relu", ["x"]) { relu($0[0]) }
    }

    @Test func shapesAndEmbeddings() throws {
        try check("resize2x", ["x"]) { resizeNearest($0[0], height: 14, width: 14) }
        try check("resize4to7", ["x"]) { resizeNearest($0[0], height: 7, width: 7) }
        try check("concat", ["a", "b"]) { concatChannels($0[0], $0[1]) }
        let idx = try ints("embedding.indices")
        try check("embedding", ["weight"]) { embedding($0[0], indices: idx) }
        let sigma = try t("timeembed.sigma")
        #expect(close(sinusoidalEmbedding(sigma.data.map { $0 * 1000 }, dim: 64), try t("timeembed.out"), atol: 2e-4))
    }

    @Test func mseLoss() throws {
        let tape = Tape()
        let x = tape.variable(try t("mse.x"))
        let loss = meanSquaredError(x, target: try t("mse.target"))
        #expect(close(loss.value, try t("mse.out")))
        #expect(close(tape.backward(loss)[x], try t("mse.grad_x")))
    }

    @Test func unetKeysMatchPyTorchStateDict() throws {
        let url = Bundle.module.url(forResource: "Fixtures/unet_keys", withExtension: "json")!
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let configs = json["configs"] as! [[String: Any]]
        #expect(configs.count == 3)
        for c in configs {
            let channels = c["channels"] as! [Int]
            let expected = (c["keys"] as! [[Any]]).map { ($0[0] as! String, $0[1] as! [Int]) }
            let ours = UNet(UNetConfig(channels: channels)).parameterShapes
            #expect(ours.map(\.key) == expected.map(\.0), "key order for \(channels)")
            #expect(ours.map(\.shape) == expected.map(\.1), "shapes for \(channels)")
        }
    }

    @Test func unetForwardAndGradientsMatchPyTorch() throws {
        let f = try Self.fixture("unet_small")
        let unet = UNet(UNetConfig(channels: [8, 16]))
        var weights = StateDict()
        for (key, _) in unet.parameterShapes { weights[key] = try t(key, f) }
        let tape = Tape()
        let p = tape.bind(weights)
        let x = tape.constant(try t("input.x", f))
        let v = unet(x, sigmas: try t("input.sigma", f).data, labels: try ints("input.labels", f), p)
        #expect(close(v.value, try t("output.v", f)), "UNet forward")
        let loss = meanSquaredError(v, target: try t("input.target", f))
        #expect(close(loss.value.reshaped([1]), try t("output.loss", f)))
        let grads = p.gradients(tape.backward(loss))
        for key in weights.keys {
            #expect(close(grads[key]!, try t("grad.\(key)", f), atol: 1e-5, rtol: 2e-3), "gradient of \(key)")
        }
    }

    /// The same fixtures with every 3x3 stride-1 conv on Winograd F(2x2,3x3) or F(4x4,3x3) (issue 23; the fixtures'
    /// channel counts are below the selection table's 32, so the default path above stays on the taps).
    @Test(arguments: [WinogradSelection.f2, .f4])
    func winogradMatchesPyTorch(mode: WinogradSelection) throws {
        let saved = WinogradSelection.mode
        defer { WinogradSelection.mode = saved }
        WinogradSelection.mode = mode
        try convolutions()
        try unetForwardAndGradientsMatchPyTorch()
    }
}
