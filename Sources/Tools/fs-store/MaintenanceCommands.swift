import ArgumentParser
import Foundation
import NN
import Store

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Check the store: SQLite integrity check plus re-hashing every artifact.",
        discussion: "Exits 3 if anything is wrong.\nExample: fs-store verify --json")
    @OptionGroup var options: StoreOptions

    func run() throws {
        try guarded {
            let s = try options.open()
            let r = try s.verify()
            if options.json {
                printJSON(.object([("ok", .bool(r.ok)), ("integrity", .array(r.integrity.map { .string($0) })),
                                   ("checked", OrderedJSON(r.checked)), ("open_banks", OrderedJSON(r.openBanks)),
                                   ("problems", .array(r.problems.map { .string($0) }))]))
            } else {
                print("integrity: \(r.integrity.joined(separator: "; "))")
                print("artifacts re-hashed: \(r.checked), open banks: \(r.openBanks)")
                for p in r.problems { print("PROBLEM: \(p)") }
                print(r.ok ? "ok" : "FAILED")
            }
            if !r.ok { fail("\(s.path): verify found \(r.problems.count + (r.integrity == ["ok"] ? 0 : 1)) problem(s)", Exit.badInput) }
        }
    }
}

struct GcCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc", abstract: "Drop rows nothing references (orphaned payloads, links, tags) and compact the file.",
        discussion: "--open-banks also drops unfinalized trajectory banks no artifact depends on.\nExample: fs-store gc")
    @OptionGroup var options: StoreOptions
    @Flag(name: .customLong("open-banks"), help: "Also drop unfinalized trajectory banks nothing depends on.") var openBanks = false

    func run() throws {
        try guarded {
            let s = try options.open()
            let n = try s.gc(dropOpenBanks: openBanks)
            if options.json { printJSON(.object([("removed_rows", OrderedJSON(n))])) } else { print("removed \(n) rows; compacted") }
        }
    }
}

struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics", abstract: "Print a run's metric time series (table, --json or --csv).",
        discussion: "Example: fs-store metrics teacher --name loss --csv > loss.csv")
    @OptionGroup var options: StoreOptions
    @Argument(help: "Run name.") var runName: String
    @Option(help: "Only this metric.") var name: String?
    @Flag(help: "CSV with header step,name,value,time.") var csv = false

    func run() throws {
        try guarded {
            let s = try options.open()
            guard try s.run(runName) != nil || !(try s.metrics(run: runName, name: name)).isEmpty else {
                throw StoreError.notFound("\(s.path): no run named '\(runName)'")
            }
            let ms = try s.metrics(run: runName, name: name)
            if options.json {
                printJSON(.object([("run", .string(runName)), ("metrics", .array(ms.map {
                    .object([("step", OrderedJSON($0.step)), ("name", .string($0.name)), ("value", OrderedJSON($0.value)),
                             ("time", OrderedJSON($0.time))])
                }))]))
            } else if csv {
                print("step,name,value,time")
                for m in ms { print("\(m.step),\(m.name),\(m.value),\(m.time)") }
            } else {
                for m in ms { print("\(m.step)\t\(m.name)\t\(m.value)") }
            }
        }
    }
}
