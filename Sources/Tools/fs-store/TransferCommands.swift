import ArgumentParser
import Foundation
import NN
import Store

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Import a .safetensors file (e.g. written by PyTorch) as a checkpoint-kind artifact.",
        discussion: """
        Tensor names, order, dtypes and __metadata__ are kept, so `export` writes the same bytes back.
        Example: fs-store import teacher.safetensors --name teacher-pt --run teacher-pt --step 0
        """)
    @OptionGroup var options: StoreOptions
    @Argument(help: "Input .safetensors file.") var file: String
    @Option(help: "Artifact name (unique per kind).") var name: String
    @Option(name: .customLong("run"), help: "Run to attach it to (then RUN resolves to it).") var runName: String?
    @Option(help: "Step to record (with --run).") var step: Int?
    @Option(help: "Artifact kind.") var kind = ArtifactKind.checkpoint

    func run() throws {
        try guarded {
            let parsed = try Safetensors.read(path: file)  // a bad file must not even create the store
            let s = try options.open(create: true)
            if let runName, try s.run(runName) == nil {
                try s.beginRun(name: runName, kind: "import")
                try s.setRunStatus(runName, RunStatus.finished)
            }
            let a = try s.importSafetensors(parsed, fileName: file, name: name, run: runName, step: step ?? (runName == nil ? nil : 0), kind: kind)
            if options.json { printJSON(a.json) } else { print("imported \(file) as \(a.kind) '\(a.name)' #\(a.id) \(a.shortHash)") }
        }
    }
}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Export an artifact as .safetensors (checkpoints: EMA weights under PyTorch names) or .png (images).",
        discussion: """
        Checkpoints export EMA weights (else model weights) with __metadata__ {"format": "pt", "config": ...}, \
        loadable by safetensors.torch.load_file. Imported files export byte-identically. \
        An output ending in .png writes the first image-shaped tensor ([B,1,H,W] in [-1,1]) as a grid.
        A LoRA student (fs-distill --lora) exports merged, base + (alpha/r) B A, a plain model; with \
        --adapters-only, its adapters under PEFT's names ({module}.lora_A.weight [r, in], \
        {module}.lora_B.weight [out, r]; r, lora_alpha, target_modules, adapter_config in __metadata__).
        --recommended-cfg W records W as the file's recommended_cfg (fs-sample's and fs-eval's default \
        guidance), e.g. the w* a sweep selected after training; the tensors are unchanged.
        Example: fs-store export teacher -o teacher.safetensors
        Example: fs-store export teacher@14000 -o teacher.safetensors --recommended-cfg 1.5
        Example: fs-store export samples-w2 -o samples.png
        """)
    @OptionGroup var options: StoreOptions
    @Argument(help: "Artifact reference.") var ref: String
    @Option(name: .shortAndLong, help: "Output file.") var output: String
    @Flag(help: "LoRA students: write the adapters alone (PEFT names), not the merged model.") var adaptersOnly = false
    @Option(help: "Model files: record this guidance weight as recommended_cfg.") var recommendedCfg: Float?

    func run() throws {
        try guarded {
            let s = try options.openForReading()
            try options.checkOutput(output)
            let a = try s.resolve(ref)
            if output.lowercased().hasSuffix(".png") {
                if adaptersOnly || recommendedCfg != nil {
                    throw StoreError.badInput(file: output, reason: "--adapters-only and --recommended-cfg write .safetensors, not PNG")
                }
                try exportPNG(s, a, to: output)
            } else {
                try s.exportSafetensors(a, to: output, adaptersOnly: adaptersOnly, recommendedCFG: recommendedCfg)
            }
            if options.json {
                printJSON(.object([("id", OrderedJSON(Int(a.id))), ("name", .string(a.name)), ("output", .string(output))]))
            } else {
                print("wrote \(output) from \(a.kind) '\(a.name)'")
            }
        }
    }
}

struct ArchiveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive", abstract: "Write artifacts with their whole lineage, runs, metrics and a SHA-256 manifest to a .tar.zst.",
        discussion: """
        All artifacts when no REF is given (all of one kind with --kind). `tar --zstd -tf FILE` lists it.
        --shallow writes the artifacts without their ancestors (the parents are described in the manifest, \
        their runs and metrics come along): a results ledger (about 1 MB for a page of 50 rows) that `restore` brings to a new \
        store, where jobs/rows.sh finds the rows done and makes no bank or student that only they needed.
        Examples:
          fs-store archive -o student.tar.zst student
          fs-store archive --shallow --kind eval_result -o ledger.tar.zst
        """)
    @OptionGroup var options: StoreOptions
    @Option(name: .shortAndLong, help: "Output .tar.zst file.") var output: String
    @Argument(help: "Artifact references (default: all, or all of --kind).") var refs: [String] = []
    @Flag(help: "Only the named artifacts, not their ancestors (parents are described, not written).") var shallow = false
    @Option(help: "With no REF: only artifacts of this kind (e.g. eval_result).") var kind: String?
    @Option(help: "zstd worker threads (0 = compress on the main thread; output is identical for any N >= 1).")
    var threads = 1

    func validate() throws {
        guard kind == nil || refs.isEmpty else { throw ValidationError("--kind selects artifacts when no REF is given; give one or the other") }
    }

    func run() throws {
        try guarded {
            let s = try options.openForReading()
            try options.checkOutput(output)
            let t0 = Date()
            var chosen = refs
            if let kind {
                chosen = try s.artifacts(kind: kind).map { "#\($0.id)" }
                guard !chosen.isEmpty else { throw StoreError.badInput(file: options.path, reason: "no \(kind) artifacts to archive") }
            }
            let r = try s.archive(refs: chosen, to: output, shallow: shallow, compressionThreads: threads)
            let secs = Date().timeIntervalSince(t0)
            if options.json {
                printJSON(.object([("output", .string(output)), ("artifacts", OrderedJSON(r.artifacts)),
                                   ("payload_bytes", OrderedJSON(r.payloadBytes)), ("seconds", OrderedJSON(secs))]))
            } else {
                print("wrote \(output): \(r.artifacts) artifacts, \(humanBytes(r.payloadBytes)) in \(String(format: "%.2f", secs)) s")
            }
        }
    }
}

struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore", abstract: "Restore an archive: verify every checksum first, then insert in one transaction.",
        discussion: """
        Idempotent; refuses to overwrite a different artifact of the same kind and name; a damaged \
        archive leaves the store unchanged (exit 3).
        Example: fs-store restore student.tar.zst --store fresh.db
        """)
    @OptionGroup var options: StoreOptions
    @Argument(help: "Input .tar.zst archive.") var file: String

    func run() throws {
        try guarded {
            _ = try ArtifactStore.checkArchive(file, into: options.path)  // a damaged archive must not even create the store
            let r = try options.withStore { try $0.restore(archive: file) }
            if options.json {
                printJSON(.object([("added", OrderedJSON(r.added)), ("already_present", OrderedJSON(r.alreadyPresent)),
                                   ("runs", OrderedJSON(r.runs)), ("metrics", OrderedJSON(r.metrics))]))
            } else {
                print("restored \(file): \(r.added) added, \(r.alreadyPresent) already present, \(r.runs) runs, \(r.metrics) metric points")
            }
        }
    }
}

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge", abstract: "Fold shard stores written by parallel jobs into this store, in one transaction.",
        discussion: """
        Trajectory banks with the same name are combined row by row. Write shard stores on local or \
        per-job paths: SQLite locking is unreliable on NFS/Lustre.
        Example: fs-store merge --store bank.db shards/rollout-*.db
        """)
    @OptionGroup var options: StoreOptions
    @Argument(help: "Shard store files.") var shards: [String]

    func run() throws {
        try guarded {
            let r = try options.withStore { try $0.merge(shards: shards) }
            if options.json {
                printJSON(.object([("shards", OrderedJSON(shards.count)), ("added", OrderedJSON(r.added)),
                                   ("already_present", OrderedJSON(r.alreadyPresent)), ("runs", OrderedJSON(r.runs)),
                                   ("metrics", OrderedJSON(r.metrics))]))
            } else {
                print("merged \(shards.count) shards: \(r.added) artifacts added or combined, \(r.alreadyPresent) already present")
            }
        }
    }
}
