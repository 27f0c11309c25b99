import Foundation
import NN
import TensorCore

/// What `archive` wrote.
public struct ArchiveSummary: Sendable {
    public var path: String
    public var artifacts: Int
    public var payloadBytes: Int
}

/// What `restore` or `merge` did.
public struct RestoreSummary: Sendable {
    public var added: Int = 0
    public var alreadyPresent: Int = 0
    public var runs: Int = 0
    public var metrics: Int = 0
}

extension ArtifactStore {
    static let manifestName = "manifest.json"

    func recordJSON(_ a: ArtifactRecord, file: String?, sha256: String?) -> OrderedJSON {
        var o: [(String, OrderedJSON)] = [
            ("id", OrderedJSON(Int(a.id))), ("kind", .string(a.kind)), ("name", .string(a.name)),
            ("run", a.run.map { .string($0) } ?? .null), ("step", a.step.map { OrderedJSON($0) } ?? .null),
            ("hash", .string(a.hash)), ("size", OrderedJSON(a.size)), ("created_at", OrderedJSON(a.createdAt)),
            ("config", .string(a.config)), ("code_rev", a.codeRev.map { .string($0) } ?? .null),
            ("metadata", .string(a.metadata)), ("state", .string(a.state)),
            ("parents", .array(a.parents.map { OrderedJSON(Int($0)) })),
        ]
        if let file { o.append(("file", .string(file))) }
        if let sha256 { o.append(("sha256", .string(sha256))) }
        return .object(o)
    }

    static func record(from j: OrderedJSON, source: String) throws -> ArtifactRecord {
        func str(_ k: String) throws -> String {
            guard let s = j[k]?.stringValue else { throw StoreError.badInput(file: source, reason: "manifest entry lacks '\(k)'") }
            return s
        }
        guard let id = j["id"]?.intValue else { throw StoreError.badInput(file: source, reason: "manifest entry lacks 'id'") }
        return ArtifactRecord(id: Int64(id), kind: try str("kind"), name: try str("name"), run: j["run"]?.stringValue,
                              step: j["step"]?.intValue, hash: try str("hash"), size: j["size"]?.intValue ?? 0,
                              createdAt: j["created_at"]?.doubleValue ?? 0, config: try str("config"),
                              codeRev: j["code_rev"]?.stringValue, metadata: try str("metadata"), state: try str("state"),
                              parents: (j["parents"]?.arrayValue ?? []).compactMap { $0.intValue.map(Int64.init) })
    }

    /// Writes `refs` (all artifacts when empty) with their whole lineage to a pax `.tar.zst`:
    /// one `artifacts/<id>.safetensors` payload per artifact, then `manifest.json` holding every
    /// record, its SHA-256 file checksum, and the runs and metrics of the runs involved.
    /// `shallow`: only `refs` themselves; their parents are described (`external_parents`: kind,
    /// name, run, step, hash) but not written, and their runs' metrics come along. That is how a
    /// results ledger travels: a megabyte of evaluations and metrics instead of the GBs of banks
    /// and students behind them.
    /// `compressionThreads` zstd workers compress while this thread reads and another hashes
    /// (0: compress on this thread).
    @discardableResult
    public func archive(refs: [String], to out: String, shallow: Bool = false, compressionThreads: Int = 1) throws -> ArchiveSummary {
        let roots = refs.isEmpty ? try artifacts().map(\.id) : try refs.map { try resolve($0).id }
        let ids = shallow ? Array(Set(roots)).sorted() : try lineageClosure(of: roots)
        let w = try TarZstWriter(path: out, threads: compressionThreads)
        let mtime = Int(timestampNow())
        var entries: [OrderedJSON] = []
        var total = 0
        var runNames = Set<String>()
        var external: [ArtifactID: ArtifactRecord] = [:]
        let written = Set(ids)
        for id in ids {
            // Streamed from SQLite (hash and zstd overlapped): the bytes of Safetensors.encode(payload(a)).
            let file = "artifacts/\(id).safetensors"
            let (a, sha, bytes) = try archivePayload(id, file: file, to: w, mtime: mtime)
            entries.append(recordJSON(a, file: file, sha256: sha))
            total += bytes
            if let r = a.run { runNames.insert(r) }
            for p in a.parents where !written.contains(p) && external[p] == nil {
                let parent = try artifact(p)
                external[p] = parent
                if let r = parent.run { runNames.insert(r) }
            }
        }
        let runs = try runNames.sorted().compactMap { try run($0) }.map { try runJSON($0) }
        var fields: [(String, OrderedJSON)] = [("format", .string("flowsteer-archive")), ("version", OrderedJSON(1)),
                                               ("store_format", OrderedJSON(Migrations.formatVersion)),
                                               ("artifacts", .array(entries)), ("runs", .array(runs))]
        if shallow {
            fields.append(("external_parents", .array(external.keys.sorted().map { recordJSON(external[$0]!, file: nil, sha256: nil) })))
        }
        let manifest = OrderedJSON.object(fields).serialized
        try Array(manifest.utf8).withUnsafeBytes { try w.add(name: Self.manifestName, bytes: $0, mtime: mtime) }
        try w.close()
        return ArchiveSummary(path: out, artifacts: ids.count, payloadBytes: total)
    }

    /// Reads a whole archive, streaming (1 MB at a time: a compression bomb never fills memory),
    /// and checks every payload's SHA-256 against its manifest, without touching any store. Each
    /// entry must be a regular file with a plain name, declare at most `TarReader.maxEntryBytes`,
    /// and all of them together fit the free space beside `store` (when given).
    public static func checkArchive(_ file: String, into store: String? = nil) throws -> (manifest: OrderedJSON, records: [(ArtifactRecord, file: String, sha256: String)]) {
        var sums: [String: String] = [:]
        var manifestBytes: [UInt8]?
        var free = store.map { freeBytes(near: $0) } ?? Int.max
        var limit = min(TarReader.maxEntryBytes, free)
        let r1 = try TarReader(path: file)
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        while let (name, size) = try r1.nextHeader(limit: limit) {
            if name == manifestName {
                guard size <= 1 << 30 else { throw StoreError.badInput(file: file, reason: "\(manifestName) declares \(size) bytes; refused") }
                var m = [UInt8]()
                while true {
                    let n = try buf.withUnsafeMutableBytes { try r1.read(into: $0) }
                    if n == 0 { break }
                    m += buf[0..<n]
                }
                manifestBytes = m
                continue
            }
            guard sums[name] == nil else { throw StoreError.badInput(file: file, reason: "entry '\(name)' appears twice") }
            var h = SHA256Hasher()
            while true {
                let n = try buf.withUnsafeMutableBytes { try r1.read(into: $0) }
                if n == 0 { break }
                buf.withUnsafeBytes { h.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            }
            sums[name] = h.finalizeHex()
            // The store needs room for everything (and more for SQLite's pages and WAL).
            if free != Int.max { free = max(0, free - size); limit = min(TarReader.maxEntryBytes, free) }
        }
        guard let manifestBytes else { throw StoreError.badInput(file: file, reason: "no \(manifestName) (truncated or not a FlowSteer archive)") }
        let manifest: OrderedJSON
        do { manifest = try OrderedJSON.parse(manifestBytes) } catch {
            throw StoreError.badInput(file: file, reason: "manifest is not valid JSON: \(error)")
        }
        guard manifest["format"]?.stringValue == "flowsteer-archive", let list = manifest["artifacts"]?.arrayValue else {
            throw StoreError.badInput(file: file, reason: "manifest is not a FlowSteer archive manifest")
        }
        var records: [(ArtifactRecord, file: String, sha256: String)] = []
        for j in list {
            let rec = try record(from: j, source: file)
            guard let f = j["file"]?.stringValue, let sha = j["sha256"]?.stringValue else {
                throw StoreError.badInput(file: file, reason: "manifest entry '\(rec.name)' lacks file or sha256")
            }
            guard let got = sums[f] else { throw StoreError.badInput(file: file, reason: "missing payload \(f) for '\(rec.name)' (truncated archive?)") }
            guard got == sha else { throw StoreError.badInput(file: file, reason: "checksum mismatch for \(f) ('\(rec.name)'): manifest says \(sha.prefix(12)), content is \(got.prefix(12))") }
            records.append((rec, f, sha))
        }
        return (manifest, records)
    }

    /// Bytes free on the filesystem that holds (or will hold) `path`.
    static func freeBytes(near path: String) -> Int {
        var dir = (path as NSString).deletingLastPathComponent
        if dir.isEmpty { dir = "." }
        var s = statvfs()
        guard statvfs(dir, &s) == 0 else { return Int.max }
        let (v, o) = Int(s.f_bavail).multipliedReportingOverflow(by: Int(s.f_frsize))
        return o ? Int.max : v
    }

    /// Restores an archive: first `checkArchive` (nothing is written if anything is missing,
    /// truncated or wrong), then inserts everything in one transaction, streaming each payload
    /// (`restoreEntry`: memory stays bounded whatever the archive holds). Idempotent; refuses (and
    /// changes nothing) if a different artifact of the same kind and name exists. A shallow
    /// archive's external parent is linked when this store holds it (same kind, name and hash);
    /// otherwise the artifact comes without that link (its metadata still says what it measured).
    @discardableResult
    public func restore(archive file: String) throws -> RestoreSummary {
        let (manifest, records) = try Self.checkArchive(file, into: path)
        let byFile = Dictionary(records.map { ($0.file, $0) }, uniquingKeysWith: { a, _ in a })
        // Pass 2: insert, parents first (archives list ids ascending; parents have smaller ids).
        var summary = RestoreSummary()
        try db.transaction {
            summary.runs += try importRuns(manifest["runs"]?.arrayValue ?? [], metrics: &summary.metrics)
            var idMap: [ArtifactID: ArtifactID] = [:]
            var external: [ArtifactID: ArtifactID?] = [:]
            for j in manifest["external_parents"]?.arrayValue ?? [] {
                let e = try Self.record(from: j, source: file)
                let here = try artifactIfExists(kind: e.kind, name: e.name)
                external[e.id] = .some(here?.hash == e.hash ? here?.id : nil)
            }
            let r2 = try TarReader(path: file)
            while let (name, size) = try r2.nextHeader(limit: TarReader.maxEntryBytes) {
                guard let (rec, f, sha) = byFile[name] else { continue }
                let parents = try rec.parents.compactMap { p -> ArtifactID? in
                    if let m = idMap[p] { return m }
                    if let e = external[p] { return e }
                    throw StoreError.badInput(file: file, reason: "'\(rec.name)' names parent \(p), which the archive does not hold before it")
                }
                // Streamed into the store; the entry's SHA-256 is checked again at its end (the
                // transaction rolls back if the file changed since the first pass).
                let stream = EntryStream(r2, source: "\(file):\(f)", size: size)
                let (stored, added) = try restoreEntry(stream, like: rec, parents: parents)
                guard try stream.finish() == sha else { throw StoreError.badInput(file: file, reason: "\(f) changed while restoring") }
                if added { summary.added += 1 } else { summary.alreadyPresent += 1 }
                idMap[rec.id] = stored.id
            }
            guard idMap.count == records.count else { throw StoreError.badInput(file: file, reason: "archive changed while restoring") }
        }
        return summary
    }

    /// Inserts runs missing here and metric points not already present; returns runs added.
    func importRuns(_ runs: [OrderedJSON], metrics added: inout Int) throws -> Int {
        var n = 0
        for r in runs {
            guard let name = r["name"]?.stringValue else { continue }
            if try run(name) == nil {
                let t = r["created_at"]?.doubleValue ?? timestampNow()
                try db.execute("INSERT INTO run(name, kind, status, config, code_rev, created_at, updated_at) VALUES(?, ?, ?, ?, ?, ?, ?)",
                               [name, r["kind"]?.stringValue ?? "unknown", r["status"]?.stringValue ?? RunStatus.finished,
                                r["config"]?.stringValue ?? "{}", r["code_rev"]?.stringValue, t, t])
                n += 1
            }
            let st = try db.prepare("""
                INSERT INTO metric(run, step, name, value, time) SELECT ?1, ?2, ?3, ?4, ?5
                WHERE NOT EXISTS (SELECT 1 FROM metric WHERE run = ?1 AND step = ?2 AND name = ?3 AND time = ?5)
                """)
            for m in r["metrics"]?.arrayValue ?? [] {
                guard let a = m.arrayValue, a.count == 4, let step = a[0].intValue, let mn = a[1].stringValue,
                      let time = a[3].doubleValue else { continue }
                st.reset()
                try st.bind([name, step, mn, a[2].doubleValue, time])
                try st.step()
                added += db.changes
            }
        }
        return n
    }
}
