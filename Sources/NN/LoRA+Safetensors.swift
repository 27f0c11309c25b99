import TensorCore

/// Adapter files as PEFT writes them: tensors `{module}.lora_A.weight` / `{module}.lora_B.weight`
/// (the adapter name removed, as in PEFT's adapter_model.safetensors) and PEFT's adapter_config
/// fields in `__metadata__` ("r", "lora_alpha", "target_modules" as a JSON list, "peft_type"), plus the
/// whole adapter_config JSON under "adapter_config" for `LoraConfig(**json.loads(...))`.
extension LoRA {
    /// The metadata that names this adapter; `extra` (base model config, hash, ...) is appended.
    public func adapterMetadata(_ extra: [(key: String, value: String)] = []) -> [(key: String, value: String)] {
        let targets = OrderedJSON.array(config.targets.map { .string($0) })
        let alpha = Self.alphaJSON(config.alpha)
        let adapterConfig = OrderedJSON.object([
            ("peft_type", .string("LORA")), ("r", OrderedJSON(config.rank)), ("lora_alpha", alpha),
            ("target_modules", targets), ("lora_dropout", OrderedJSON(0.0)), ("bias", .string("none")),
            ("fan_in_fan_out", .bool(false)), ("use_rslora", .bool(false)), ("init_lora_weights", .bool(true)),
        ])
        return [("format", "pt"), ("peft_type", "LORA"), ("r", String(config.rank)), ("lora_alpha", alpha.serialized),
                ("target_modules", targets.serialized), ("adapter_config", adapterConfig.serialized)] + extra
    }

    /// An integral alpha as a JSON integer (PEFT's `lora_alpha: int`), otherwise a number.
    public static func alphaJSON(_ a: Double) -> OrderedJSON {
        a == a.rounded() && abs(a) < 1e15 ? OrderedJSON(Int(a)) : OrderedJSON(a)
    }

    /// The LoRA config an adapter file's metadata describes (r, lora_alpha, target_modules).
    public static func config(metadata: [(key: String, value: String)], source: String) throws -> LoRAConfig {
        func value(_ k: String) throws -> String {
            guard let v = metadata.first(where: { $0.key == k })?.value else {
                throw LoRAError("\(source): not a LoRA adapter file (no '\(k)' in its metadata)")
            }
            return v
        }
        guard let r = Int(try value("r")) else { throw LoRAError("\(source): metadata 'r' is not an integer") }
        guard let alpha = Double(try value("lora_alpha")) else { throw LoRAError("\(source): metadata 'lora_alpha' is not a number") }
        let parsed = try? OrderedJSON.parse(try value("target_modules"))
        guard let list = parsed?.arrayValue, case let names = list.compactMap(\.stringValue), names.count == list.count else {
            throw LoRAError("\(source): metadata 'target_modules' is not a JSON list of module names")
        }
        let c = LoRAConfig(rank: r, alpha: alpha, targets: names)
        do { try c.validate() } catch { throw LoRAError("\(source): \(error)") }
        return c
    }

    /// Reads an adapter file against a base model's parameters: the config from its metadata, the
    /// adapters checked to be exactly the ones that config puts on `base`.
    public static func read(path: String, base: [ParameterSpec]) throws -> (lora: LoRA, adapters: StateDict,
                                                                           metadata: [(key: String, value: String)]) {
        let (sd, meta) = try Safetensors.readStateDict(path: path)
        let lora: LoRA
        do { lora = try LoRA(try config(metadata: meta, source: path), base: base) } catch let e as LoRAError {
            throw LoRAError(e.description.hasPrefix(path) ? e.description : "\(path): \(e)")
        }
        do { try lora.validate(adapters: sd) } catch { throw LoRAError("\(path): \(error)") }
        // The LoRA's own key order (files are sorted by name), so a read-back state equals the written one.
        return (lora, StateDict(lora.parameterSpecs.map { ($0.key, sd.tensor($0.key)) }), meta)
    }

    /// Writes `adapters` under PEFT's names with `adapterMetadata(extra)`.
    public func write(adapters: StateDict, extra: [(key: String, value: String)] = [], to path: String) throws {
        try validate(adapters: adapters)
        try Safetensors.write(stateDict: adapters, metadata: adapterMetadata(extra), to: path)
    }
}
