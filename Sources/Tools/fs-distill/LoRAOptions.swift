import ArgumentParser
import NN
import ToolSupport
import Train

/// A LoRA student: adapters of rank R on the teacher's linears instead of full fine-tuning.
struct LoRAOptions: ParsableArguments {
    @Option(help: "LoRA student of rank R: only adapters on the teacher's linears train (the teacher stays frozen; checkpoints hold the adapters).")
    var lora: Int?
    @Option(help: "LoRA alpha: the update is (alpha / R) B A (default: R).") var loraAlpha: Double?
    @Option(help: "LoRA target modules, comma-separated, matched as PEFT does (the name or a dotted suffix; default: the DiT's attn.qkv, attn.proj, mlp.fc1, mlp.fc2, adaLN_modulation.1, final_layer.linear, or the UNet's time_embed.0, time_embed.2, emb_proj).")
    var loraTargets: String?

    func validate() throws {
        try OptionCheck.int("--lora", lora, 1...Int.max)
        try OptionCheck.float("--lora-alpha", loraAlpha, .positive)
        if lora == nil && (loraAlpha != nil || loraTargets != nil) {
            throw ValidationError("--lora-alpha and --lora-targets need --lora RANK")
        }
        if let t = loraTargets, CommaList.names(t) == nil {
            throw ValidationError("--lora-targets '\(t)': expected comma-separated module names, e.g. attn.qkv,mlp.fc1")
        }
    }

    /// The LoRA of a new run on a teacher with `base` parameters (nil: full fine-tuning).
    func config(base: [ParameterSpec]) -> LoRAConfig? {
        lora.map { LoRAConfig(rank: $0, alpha: loraAlpha, targets: loraTargets.flatMap(CommaList.names) ?? LoRAConfig.defaultTargets(base: base)) }
    }

    /// On --resume the LoRA options may only repeat the recorded ones of run `run`.
    func checkResume(_ recorded: DistillConfig, run: String) throws {
        guard let rank = lora else { return }
        do {
            try recorded.checkLoRAResume(rank: rank, alpha: loraAlpha, targets: loraTargets.flatMap(CommaList.names))
        } catch LoRAResumeConflict.fullFineTuning {
            throw ToolError.usage("--lora: run '\(run)' was recorded as full fine-tuning; a LoRA student needs a new --run")
        } catch LoRAResumeConflict.differs(let r) {
            throw ToolError.usage("--lora/--lora-alpha/--lora-targets differ from the recorded LoRA of run '\(run)' "
                                  + "(r \(r.rank), lora_alpha \(r.alpha), targets \(r.targets.joined(separator: ","))); they cannot change on --resume")
        }
    }
}
