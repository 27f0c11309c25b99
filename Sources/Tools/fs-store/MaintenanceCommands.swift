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
            let s = try options.openForReading()
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
        commandName: "gc", abstract: "Drop rows nothing references (orphaned payloads, links, tags) and compact the file (prints its size before and after).",
        discussion: """
        --open-banks also drops unfinalized trajectory banks that no artifact depends on and whose \
        writer is gone (its lease expired: the fs-rollout process on this host has exited, or a lease \
        from another host is older than $FS_BANK_LEASE_SECONDS, default 600 s); banks with a live \
        writer are kept and listed with the reason. --force drops those too (their writer then fails).
        Example: fs-store gc --open-banks
        """)
    @OptionGroup var options: StoreOptions
    @Flag(name: .customLong("open-banks"), help: "Also drop unfinalized trajectory banks whose writer is gone and that nothing depends on.") var openBanks = false
    @Flag(help: "With --open-banks: also drop banks whose writer still holds a live lease.") var force = false

    func run() throws {
        try guarded {
            let s = try options.open()
            let r = try s.gc(dropOpenBanks: openBanks, force: force)
            for (b, why) in r.skippedBanks { info("fs-store: kept open bank \(b): \(why)") }
            if options.json {
                printJSON(.object([("removed_rows", OrderedJSON(r.removedRows)),
                                   ("bytes_before", OrderedJSON(r.bytesBefore)), ("bytes_after", OrderedJSON(r.bytesAfter)),
                                   ("dropped_banks", .array(r.droppedBanks.map { .string($0) })),
                                   ("skipped_banks", .array(r.skippedBanks.map { .object([("bank", .string($0.bank)), ("reason", .string($0.reason))]) }))]))
            } else {
                for b in r.droppedBanks { print("dropped open bank \(b)") }
                print("removed \(r.removedRows) orphaned rows; kept \(r.skippedBanks.count) open bank(s); "
                      + "compacted \(humanBytes(r.bytesBefore)) -> \(humanBytes(r.bytesAfter))")
            }
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
            let s = try options.openForReading()
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
