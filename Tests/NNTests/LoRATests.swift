import Foundation
import Testing
import NN
import TensorCore
import TestSupport

/// LoRA adapters (Sources/NN/LoRA.swift) on a small DiT: targets, PEFT's init, step 0 = base,
/// gradients of A and B only, merge, and the PEFT-named file. The PyTorch/PEFT side is
/// tools/golden/check_lora.py.
@Suite struct LoRATests {
    static let dit = DiT(DiTConfig(inputSize: 8, patchSize: 2, inChannels: 1, hiddenSize: 16, depth: 2,
                                   numHeads: 2, mlpRatio: 2, numClasses: 3))

    /// Base weights with every tensor random (a fresh DiT's zero adaLN and output layers would hide
    /// errors: its output and most gradients are exactly zero).
    static func base(seed: UInt64 = 7) -> StateDict {
        var i: UInt64 = 0
        return dit.initialParameters(seed: seed).mapTensors { _, t in
            i += 1
            return randomTensor(t.shape, seed: seed &* 1000 &+ i, scale: 0.2)
        }
    }

    /// Adapters with B non-zero too (a fresh B = 0 makes the A gradient vanish).
    static func randomAdapters(_ lora: LoRA, seed: UInt64 = 3) -> StateDict {
        var i: UInt64 = 0
        return lora.initialParameters(seed: seed).mapTensors { _, t in
            i += 1
            return randomTensor(t.shape, seed: seed &* 1000 &+ i, scale: 0.3)
        }
    }

    static let x = randomTensor([3, 1, 8, 8], seed: 11)
    static let sigmas: [Float] = [0.9, 0.4, 0.1]
    static let labels = [0, 2, 3]

    static func forward(_ base: StateDict, _ lora: LoRA?, _ adapters: StateDict?) -> Tensor {
        let tape = Tape(recordsPullbacks: false)
        var p = tape.bind(base, trainable: false)
        if let lora, let adapters { p = lora.apply(p, tape.bind(adapters, trainable: false)) }
        return dit(tape.constant(x), sigmas: sigmas, labels: labels, p).value
    }

    @Test func defaultTargetsAreTheDiTLinears() throws {
        let lora = try LoRA(LoRAConfig(rank: 4), base: Self.dit.parameterSpecs)
        let names = lora.modules.map(\.name)
        var want: [String] = []
        for i in 0..<2 {
            want += ["attn.qkv", "attn.proj", "mlp.fc1", "mlp.fc2", "adaLN_modulation.1"].map { "blocks.\(i).\($0)" }
        }
        want += ["final_layer.linear", "final_layer.adaLN_modulation.1"]
        #expect(names == want)
        let qkv = try #require(lora.modules.first)
        #expect(qkv.inFeatures == 16 && qkv.outFeatures == 48)
        let shapes = Dictionary(uniqueKeysWithValues: lora.parameterShapes.map { ($0.key, $0.shape) })
        #expect(shapes["blocks.0.attn.qkv.lora_A.weight"] == [4, 16])
        #expect(shapes["blocks.0.attn.qkv.lora_B.weight"] == [48, 4])
        #expect(shapes["blocks.1.mlp.fc2.lora_A.weight"] == [4, 32])
        #expect(lora.parameterShapes.count == 2 * want.count)
        // An exact full name, a suffix, and a typo.
        #expect(try LoRA(LoRAConfig(rank: 2, targets: ["blocks.1.attn.qkv"]), base: Self.dit.parameterSpecs).modules.count == 1)
        #expect(try LoRA(LoRAConfig(rank: 2, targets: ["qkv"]), base: Self.dit.parameterSpecs).modules.count == 2)
        #expect(throws: LoRAError.self) { try LoRA(LoRAConfig(rank: 2, targets: ["attn.qvk"]), base: Self.dit.parameterSpecs) }
        // "kv" is a substring of "qkv" but not a dotted suffix: PEFT would not match it either.
        #expect(throws: LoRAError.self) { try LoRA(LoRAConfig(rank: 2, targets: ["kv"]), base: Self.dit.parameterSpecs) }
        // The embedding table and the patch conv are not linears.
        #expect(throws: LoRAError.self) { try LoRA(LoRAConfig(rank: 2, targets: ["y_embedder.embedding_table"]), base: Self.dit.parameterSpecs) }
        #expect(throws: LoRAError.self) { try LoRA(LoRAConfig(rank: 0), base: Self.dit.parameterSpecs) }
        #expect(throws: LoRAError.self) { try LoRA(LoRAConfig(rank: 4, alpha: .nan), base: Self.dit.parameterSpecs) }
    }

    @Test func initialisationIsPEFTsAndSeeded() throws {
        let lora = try LoRA(LoRAConfig(rank: 4, alpha: 8), base: Self.dit.parameterSpecs)
        #expect(lora.config.scaling == 2)
        let a = lora.initialParameters(seed: 5), b = lora.initialParameters(seed: 5), c = lora.initialParameters(seed: 6)
        #expect(a == b && a != c)
        for m in lora.modules {
            let bound = 1 / Float(m.inFeatures).squareRoot()
            let w = a.tensor(LoRA.aKey(m.name))
            #expect(w.data.allSatisfy { abs($0) <= bound }, "\(m.name): A outside U(±1/sqrt(in))")
            #expect(w.data.map(abs).max()! > 0.5 * bound, "\(m.name): A does not fill its range")
            #expect(a.tensor(LoRA.bKey(m.name)).data.allSatisfy { $0 == 0 })
        }
    }

    @Test func stepZeroIsTheBaseBitForBit() throws {
        let lora = try LoRA(LoRAConfig(rank: 4, alpha: 16), base: Self.dit.parameterSpecs)
        let base = Self.base()
        let plain = Self.forward(base, nil, nil)
        let adapted = Self.forward(base, lora, lora.initialParameters(seed: 1))
        #expect(plain.data.contains { $0 != 0 })
        #expect(plain.data == adapted.data)
    }

    @Test func gradientsReachOnlyTheAdapters() throws {
        let lora = try LoRA(LoRAConfig(rank: 3, alpha: 6), base: Self.dit.parameterSpecs)
        let base = Self.base(), adapters = Self.randomAdapters(lora)
        let tape = Tape()
        let bp = tape.bind(base, trainable: false), ap = tape.bind(adapters)
        let out = Self.dit(tape.constant(Self.x), sigmas: Self.sigmas, labels: Self.labels, lora.apply(bp, ap))
        let g = tape.backward(mean(out * out))
        let ga = ap.gradients(g)
        for k in ga.keys { #expect(ga.tensor(k).data.contains { $0 != 0 }, "no gradient reached \(k)") }
        for k in base.keys { #expect(g.ifPresent(bp[k]) == nil, "a gradient reached the base tensor \(k)") }
    }

    /// Finite differences of A and B through W + s B A inside a linear, and through a whole block.
    @Test func finiteDifferenceGradients() throws {
        let s: Float = 1.5
        let err = gradCheck([randomTensor([5, 6], seed: 1), randomTensor([2, 6], seed: 2), randomTensor([4, 2], seed: 3)],
                            step: 1e-2) { v in
            let w = v[0].tape.constant(randomTensor([4, 6], seed: 4))
            return linear(v[0], weight: LoRA.effectiveWeight(w, a: v[1], b: v[2], scaling: s), bias: nil)
        }
        #expect(err < 2e-3, "linear + LoRA: worst relative error \(err)")

        let lora = try LoRA(LoRAConfig(rank: 2, alpha: 3, targets: ["blocks.0.mlp.fc1", "blocks.0.attn.qkv"]),
                            base: Self.dit.parameterSpecs)
        let base = Self.base(), adapters = Self.randomAdapters(lora)
        let keys = adapters.keys
        let errDiT = gradCheck(keys.map { adapters.tensor($0) }, probes: 8, step: 1e-2) { v in
            let tape = v[0].tape
            let ap = Parameters(vars: Dictionary(uniqueKeysWithValues: zip(keys, v)), keys: keys)
            let p = lora.apply(tape.bind(base, trainable: false), ap)
            return Self.dit(tape.constant(Self.x), sigmas: Self.sigmas, labels: Self.labels, p)
        }
        #expect(errDiT < 5e-3, "DiT + LoRA: worst relative error \(errDiT)")
    }

    @Test func mergeIsBasePlusScaledProduct() throws {
        let lora = try LoRA(LoRAConfig(rank: 4, alpha: 5), base: Self.dit.parameterSpecs)
        let base = Self.base(), adapters = Self.randomAdapters(lora)
        let merged = lora.merged(base: base, adapters: adapters)
        #expect(merged.keys == base.keys)
        let adapted = Set(lora.modules.map { $0.name + ".weight" })
        let s = Double(lora.config.scaling)
        for k in base.keys {
            guard adapted.contains(k) else { #expect(merged.tensor(k) == base.tensor(k), "\(k) changed"); continue }
            let m = String(k.dropLast(".weight".count))
            let w = base.tensor(k), a = adapters.tensor(LoRA.aKey(m)), b = adapters.tensor(LoRA.bKey(m))
            let (o, i, r) = (w.shape[0], w.shape[1], 4)
            // Float32 rounding bound per element: (r + 2) eps (|W| + s sum_j |B_pj A_jq|).
            var worst = 0.0
            for p in 0..<o { for q in 0..<i {
                var ba = 0.0, magnitude = 0.0
                for j in 0..<r {
                    let t = Double(b.data[p * r + j]) * Double(a.data[j * i + q])
                    ba += t; magnitude += abs(t)
                }
                let want = Double(w.data[p * i + q]) + s * ba
                let bound = Double(r + 2) * Double(Float.ulpOfOne) * (abs(Double(w.data[p * i + q])) + s * magnitude)
                worst = max(worst, abs(Double(merged.tensor(k).data[p * i + q]) - want) / bound)
            } }
            #expect(worst <= 1, "\(k): merged differs from W + s B A by \(worst) x the float32 rounding bound")
        }
        // The merged model computes exactly what base + adapters compute.
        #expect(Self.forward(merged, nil, nil).data == Self.forward(base, lora, adapters).data)
        #expect(Self.forward(merged, nil, nil) != Self.forward(base, nil, nil))
    }

    @Test func adapterFileHasPEFTNamesAndConfig() throws {
        let lora = try LoRA(LoRAConfig(rank: 4, alpha: 8), base: Self.dit.parameterSpecs)
        let adapters = Self.randomAdapters(lora)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("lora-\(getpid()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try lora.write(adapters: adapters, extra: [("base_config", Self.dit.config.json)], to: path)

        let file = try Safetensors.read(path: path)
        #expect(file.metadataValue("r") == "4")
        #expect(file.metadataValue("lora_alpha") == "8")
        #expect(file.metadataValue("peft_type") == "LORA")
        #expect(file.metadataValue("target_modules") ==
                #"["attn.qkv","attn.proj","mlp.fc1","mlp.fc2","adaLN_modulation.1","final_layer.linear"]"#)
        let config = try OrderedJSON.parse(try #require(file.metadataValue("adapter_config")))
        #expect(config["r"]?.intValue == 4 && config["lora_alpha"]?.intValue == 8 && config["peft_type"]?.stringValue == "LORA")
        #expect(file.entry("blocks.1.mlp.fc1.lora_B.weight")?.shape == [32, 4])
        #expect(file.entries.count == adapters.count)

        let (read, sd, _) = try LoRA.read(path: path, base: Self.dit.parameterSpecs)
        #expect(read.config == lora.config && read.modules == lora.modules && sd == adapters)   // in the LoRA's key order
        // Against another model the file says so.
        let other = DiT(DiTConfig(inputSize: 8, patchSize: 2, inChannels: 1, hiddenSize: 24, depth: 2, numHeads: 2,
                                  mlpRatio: 2, numClasses: 3))
        #expect(throws: LoRAError.self) { try LoRA.read(path: path, base: other.parameterSpecs) }
        #expect(LoRA.alphaJSON(2.5).serialized == "2.5")
    }
    /// Writes base, adapters, merged weights and a forward for tools/golden/check_lora.py ($TMPDIR/flowsteer-lora).
    @Test func exportForPEFTCheck() throws {
        let dir = (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/flowsteer-lora"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let lora = try LoRA(LoRAConfig(rank: 4, alpha: 6), base: Self.dit.parameterSpecs)
        let base = Self.base(), adapters = Self.randomAdapters(lora)
        let meta = [(key: "format", value: "pt"), (key: "config", value: Self.dit.config.json)]
        try Safetensors.write(stateDict: base, metadata: meta, to: "\(dir)/base.safetensors")
        try lora.write(adapters: adapters, extra: [("base_config", Self.dit.config.json)], to: "\(dir)/adapters.safetensors")
        try Safetensors.write(stateDict: lora.merged(base: base, adapters: adapters), metadata: meta, to: "\(dir)/merged.safetensors")
        let io = StateDict([("x", Self.x), ("sigma", Tensor(shape: [3], data: Self.sigmas)),
                            ("labels", Tensor(shape: [3], data: Self.labels.map(Float.init))),
                            ("v", Self.forward(base, lora, adapters))])
        try Safetensors.write(stateDict: io, metadata: meta, to: "\(dir)/io.safetensors")
        #expect(FileManager.default.fileExists(atPath: "\(dir)/io.safetensors"))
    }
}
