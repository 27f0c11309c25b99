import ArgumentParser
import Foundation
import NN
import Store

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create an empty store (or migrate an existing one to this binary's format).",
        discussion: "Example: fs-store init --store runs/flowsteer.db")
    @OptionGroup var options: StoreOptions

    func run() throws {
        try guarded {
            let s = try options.open(create: true)
            let v = try s.formatVersion()
            if options.json {
                printJSON(.object([("store", .string(s.path)), ("format_version", OrderedJSON(v.store))]))
            } else {
                print("store \(s.path) ready (format version \(v.store))")
            }
        }
    }
}

struct LsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List artifacts (id, kind, name, run, step, size, hash prefix, state).",
        discussion: "Example: fs-store ls --kind checkpoint --run teacher --json")
    @OptionGroup var options: StoreOptions
    @Option(help: "Only artifacts of this kind (checkpoint, trajectory_bank, sample_set, ...).") var kind: String?
    @Option(name: .customLong("run"), help: "Only artifacts of this run.") var runName: String?

    func run() throws {
        try guarded {
            let s = try options.openForReading()
            let list = try s.artifacts(kind: kind, run: runName)
            if options.json {
                let runs = try s.runs().map { r in
                    OrderedJSON.object([("name", .string(r.name)), ("kind", .string(r.kind)), ("status", .string(r.status))])
                }
                printJSON(.object([("artifacts", .array(list.map(\.json))), ("runs", .array(runs))]))
                return
            }
            // Whole names, columns as wide as their longest entry: a listed name can always be copied.
            let rows = list.map { a in [String(a.id), a.kind, a.name, a.step.map(String.init) ?? "-", humanBytes(a.size),
                                        a.hash.isEmpty ? "-" : a.shortHash, a.state] }
            let header = ["ID", "KIND", "NAME", "STEP", "SIZE", "HASH", "STATE"]
            let widths = header.indices.map { c in ([header] + rows).map { $0[c].count }.max()! + 2 }
            for r in [header] + rows {
                print(r.indices.map { c in c == r.count - 1 ? r[c] : r[c].padding(toLength: widths[c], withPad: " ", startingAt: 0) }.joined())
            }
        }
    }
}

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show one artifact: metadata, tensors and its lineage tree (ancestors and children).",
        discussion: "Example: fs-store show teacher@20000")
    @OptionGroup var options: StoreOptions
    @Argument(help: "Artifact reference (RUN, RUN@STEP, name, tag, hash prefix, #ID).") var ref: String

    func run() throws {
        try guarded {
            let s = try options.openForReading()
            let a = try s.resolve(ref)
            let kids = try s.children(of: a.id)
            func tree(_ id: ArtifactID, _ depth: Int, _ seen: inout Set<ArtifactID>) throws -> OrderedJSON {
                let p = try s.artifact(id)
                guard seen.insert(id).inserted, depth < 64 else { return .object([("id", OrderedJSON(Int(id)))]) }
                var ps: [OrderedJSON] = []
                for q in p.parents { ps.append(try tree(q, depth + 1, &seen)) }
                return .object([("id", OrderedJSON(Int(p.id))), ("kind", .string(p.kind)), ("name", .string(p.name)),
                                ("hash", .string(p.shortHash)), ("parents", .array(ps))])
            }
            var seen = Set<ArtifactID>()
            let lineage = try tree(a.id, 0, &seen)
            // Names and shapes only (no payload read): `show` also inspects a damaged artifact.
            let tensors: [OrderedJSON] = a.kind == ArtifactKind.trajectoryBank ? [] : try s.tensorInfo(a).map { b in
                .object([("name", .string(b.name)), ("dtype", .string(b.dtype)),
                         ("shape", .array(b.shape.map { OrderedJSON($0) }))])
            }
            if options.json {
                printJSON(a.json.setting("tensors", .array(tensors)).setting("lineage", lineage)
                    .setting("children", .array(kids.map { .object([("id", OrderedJSON(Int($0.id))), ("kind", .string($0.kind)), ("name", .string($0.name))]) })))
                return
            }
            print("\(a.kind) '\(a.name)'  #\(a.id)  hash \(a.hash.isEmpty ? "(open)" : a.hash)")
            print("run \(a.run ?? "-")  step \(a.step.map(String.init) ?? "-")  size \(humanBytes(a.size))  state \(a.state)  code_rev \(a.codeRev ?? "-")")
            print("created \(Date(timeIntervalSince1970: a.createdAt))")
            print("config   \(a.config)")
            print("metadata \(a.metadata)")
            if !tensors.isEmpty { print("tensors  \(tensors.count)") }
            print("lineage:")
            func printTree(_ j: OrderedJSON, _ indent: String) {
                print("\(indent)\(j["kind"]?.stringValue ?? "") '\(j["name"]?.stringValue ?? "")' #\(j["id"]?.intValue ?? 0) \(j["hash"]?.stringValue ?? "")")
                for p in j["parents"]?.arrayValue ?? [] { printTree(p, indent + "  <- ") }
            }
            printTree(lineage, "  ")
            for k in kids { print("  -> \(k.kind) '\(k.name)' #\(k.id)") }
        }
    }
}

struct RmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Remove artifacts (refused while another artifact lists one as a parent, unless --force).",
        discussion: "Example: fs-store rm teacher@1000 && fs-store gc")
    @OptionGroup var options: StoreOptions
    @Flag(help: "Also remove lineage links from children.") var force = false
    @Argument(help: "Artifact references.") var refs: [String]

    func run() throws {
        try guarded {
            let s = try options.open()
            // Every reference resolves and every removal is allowed, or nothing is removed.
            let targets = try s.removeAll(refs: refs, force: force)
            var removed: [OrderedJSON] = []
            for a in targets {
                removed.append(.object([("id", OrderedJSON(Int(a.id))), ("name", .string(a.name))]))
                if !options.json { print("removed \(a.kind) '\(a.name)' #\(a.id)") }
            }
            if options.json { printJSON(.object([("removed", .array(removed))])) }
        }
    }
}

struct ThinCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "thin", abstract: "Remove runs' older checkpoints, keeping the newest N of each (and any other artifact's parent or a tagged one).",
        discussion: """
        A long run checkpoints every --checkpoint-every steps, and each checkpoint holds the weights, the EMA \
        and the optimizer state; a resume needs only the newest. Checkpoints that an evaluation, a sample set \
        or another artifact lists as a parent, and tagged ones, are kept. All runs are checked before \
        anything is removed. The space is reclaimed by `fs-store gc`.
        Example: fs-store thin student teacher --keep-last 2 && fs-store gc
        """)
    @OptionGroup var options: StoreOptions
    @Option(help: "Checkpoints to keep per run, the newest by step (at least 1).") var keepLast = 1
    @Flag(help: "List what would be removed; remove nothing.") var dryRun = false
    @Argument(help: "Run names.") var runs: [String]

    func validate() throws {
        guard keepLast >= 1 else { throw ValidationError("--keep-last must be at least 1, got \(keepLast)") }
    }

    func run() throws {
        try guarded {
            let s = dryRun ? try options.openForReading() : try options.open()
            let thinned = dryRun ? try s.thinnableCheckpoints(runs: runs, keepLast: keepLast)
                                 : try s.thinCheckpoints(runs: runs, keepLast: keepLast)
            let bytes = thinned.reduce(0) { $0 + $1.size }
            if options.json {
                printJSON(.object([("dry_run", .bool(dryRun)), ("bytes", OrderedJSON(bytes)),
                                   ("removed", .array(thinned.map { .object([("id", OrderedJSON(Int($0.id))), ("name", .string($0.name))]) }))]))
            } else {
                for a in thinned { print("\(dryRun ? "would remove" : "removed") checkpoint '\(a.name)' #\(a.id)") }
                print("\(thinned.count) checkpoint(s), \(bytes / 1_000_000) MB of payload\(dryRun ? " (dry run)" : "; run `fs-store gc` to reclaim the space")")
            }
        }
    }
}

struct TagCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tag", abstract: "Name an artifact with a tag usable as a reference; without REF list tags; --delete removes one.",
        discussion: "Example: fs-store tag best-teacher teacher@20000")
    @OptionGroup var options: StoreOptions
    @Flag(help: "Delete the tag instead.") var delete = false
    @Argument(help: "Tag name.") var tag: String?
    @Argument(help: "Artifact reference to tag.") var ref: String?

    func run() throws {
        try guarded {
            let s = tag == nil ? try options.openForReading() : try options.open()
            if let tag, delete {
                let had = try s.untag(tag)
                if options.json { printJSON(.object([("deleted", .bool(had))])) } else { print(had ? "deleted tag \(tag)" : "no tag \(tag)") }
            } else if let tag, let ref {
                let a = try s.resolve(ref)
                try s.tag(tag, a.id)
                if options.json { printJSON(.object([("tag", .string(tag)), ("id", OrderedJSON(Int(a.id)))])) } else { print("\(tag) -> \(a.kind) '\(a.name)' #\(a.id)") }
            } else {
                let tags = try s.tags()
                if options.json {
                    printJSON(.object(tags.map { ($0.name, OrderedJSON(Int($0.artifact))) }))
                } else {
                    for t in tags { print("\(t.name) -> #\(t.artifact)") }
                }
            }
        }
    }
}
