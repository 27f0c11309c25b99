import ArgumentParser
import Store
import ToolSupport
import Train

extension DistillMethod: ExpressibleByArgument {}
extension AdversarialFake: ExpressibleByArgument {}
extension DistillStart: ExpressibleByArgument {}
extension AdversarialReal: ExpressibleByArgument {}
extension AdversarialState: ExpressibleByArgument {}
extension DistillWeight: ExpressibleByArgument {}
extension DiscriminatorKind: ExpressibleByArgument {}
extension DistillConfigError: ToolExitCoded { public var toolExitCode: ExitCode { .usage } }
extension BankMismatch: ToolExitCoded { public var toolExitCode: ExitCode { .badInput } }

/// fs-distill: options (in groups, one file each), the store references of the teacher and bank
/// (FSDistill+Inputs), the run's config on a new run or --resume (FSDistill+Config), and the training
/// run with its progress and summary (FSDistill+Run). The help text is in FSDistill+Help.
@main
struct FSDistill: ParsableCommand {
    @OptionGroup var common: CommonOptions
    @OptionGroup(title: "Real images (PeRFlow starts, --adv-real data)") var data: DataOptions
    @Option(name: .customLong("run"), help: "Run name (checkpoints are RUN@STEP).") var runName: String
    @Option(help: "Teacher checkpoint reference (RUN, RUN@STEP, tag, name or hash prefix); on --resume defaults to the recorded one.")
    var teacher: String?
    @Option(help: "Trajectory bank reference (reflow and flowsteer --ota without --online); on --resume defaults to the recorded one.")
    var bank: String?
    @OptionGroup(title: "Method and schedule") var method: MethodOptions
    @OptionGroup(title: "Adversarial (FlowSteer)") var adversarial: AdversarialOptions
    @OptionGroup(title: "Optimisation and run") var training: TrainingOptions
    @OptionGroup(title: "LoRA") var lora: LoRAOptions

    mutating func run() throws {
        try DataParallelTool.run("fs-distill") { try distill($0) }
    }

    static func main() { runAsTool() }

    func distill(_ dp: DataParallelTool) throws {
        common.applyThreads()
        // The teacher (and bank) come from the store, so it must exist: a missing store is bad input,
        // never a new empty file. A .safetensors teacher has to be imported first (lineage).
        if let teacher, LoadedModel.isFileReference(teacher) {
            _ = try LoadedModel.load(file: teacher)   // a missing, corrupt or truncated file is reported as such (exit 3)
            throw ToolError.badInput("--teacher \(teacher): fs-distill reads its teacher from the store (for the student's "
                                     + "lineage); import the file first: fs-store import \(teacher) --name teacher")
        }
        let store = try dp.openStore(path: common.storePath) { try common.openExistingStore() }
        var (config, restored, overrides) = try runConfig(store)
        let inputs = try loadInputs(store, config: &config, recorded: restored?.recorded)
        try train(store, dp: dp, config: config, inputs: inputs, restored: restored?.state, overrides: overrides)
    }
}
