/// The one reference resolver every tool uses (docs/store.md, "References").
///
/// A reference is read every way it can mean something, and all readings must agree:
///   `#ID` row id · `KIND:NAME` · a tag · `RUN@STEP` (the checkpoint of run RUN at STEP) ·
///   `RUN` (the run's latest complete checkpoint) · an exact artifact name · a hex prefix
///   (>= 4 digits) of a content hash.
/// One artifact: resolved. Two different artifacts (a tag and a run of the same name, two
/// checkpoints at one step, a name that is also a hash prefix): `ambiguousRef`, listing each with
/// its exact reference `KIND:NAME` (#ID) and the reading that found it, so nothing is redirected
/// silently. None: `unknownRef` with the nearest existing references. `kind` (when given)
/// keeps only artifacts of that kind.
extension ArtifactStore {
    struct RefMatch { var artifact: ArtifactRecord; var via: String }

    public func resolve(_ ref: String, kind: String? = nil) throws -> ArtifactRecord {
        let matches = try readings(of: ref).filter { kind == nil || $0.artifact.kind == kind }
        var distinct: [ArtifactID: [String]] = [:]
        var order: [ArtifactRecord] = []
        for m in matches {
            if distinct[m.artifact.id] == nil { order.append(m.artifact) }
            distinct[m.artifact.id, default: []].append(m.via)
        }
        if order.count == 1 { return order[0] }
        if order.count > 1 {
            throw StoreError.ambiguousRef(ref, candidates: order.map { a in
                "\(Self.exactReference(a)) (#\(a.id), \(distinct[a.id]!.joined(separator: " and ")))"
            })
        }
        throw StoreError.unknownRef(kind.map { "\(ref)' of kind '\($0)" } ?? ref, near: try nearest(to: ref, kind: kind))
    }

    /// The reference that names `a` and nothing else: `KIND:NAME` (names are unique per kind).
    public static func exactReference(_ a: ArtifactRecord) -> String { "\(a.kind):\(a.name)" }

    /// Every reading of `ref` that finds an artifact.
    func readings(of ref: String) throws -> [RefMatch] {
        var out: [RefMatch] = []
        if ref.hasPrefix("#"), let id = Int64(ref.dropFirst()), let a = try artifacts(where: "WHERE id = ?", [id]).first {
            out.append(RefMatch(artifact: a, via: "row id"))
        }
        if let colon = ref.firstIndex(of: ":"), colon != ref.startIndex, ref.index(after: colon) != ref.endIndex {
            let k = String(ref[..<colon]), n = String(ref[ref.index(after: colon)...])
            if let a = try artifactIfExists(kind: k, name: n) { out.append(RefMatch(artifact: a, via: "kind:name")) }
        }
        if let id = try db.scalarInt("SELECT artifact FROM tag WHERE name = ?", [ref]) {
            out.append(RefMatch(artifact: try artifact(Int64(id)), via: "tag '\(ref)'"))
        }
        if let at = ref.lastIndex(of: "@"), let step = Int(ref[ref.index(after: at)...]) {
            let run = String(ref[..<at])
            for a in try artifacts(where: "WHERE run = ? AND step = ? AND kind = ? AND state = 'complete' ORDER BY id",
                                   [run, step, ArtifactKind.checkpoint]) {
                out.append(RefMatch(artifact: a, via: "checkpoint of run '\(run)' at step \(step)"))
            }
        }
        // The latest step of the run; two checkpoints at that step are two readings (ambiguous).
        if let top = try db.scalarInt("SELECT MAX(step) FROM artifact WHERE run = ? AND kind = ? AND state = 'complete'",
                                      [ref, ArtifactKind.checkpoint]) {
            for a in try artifacts(where: "WHERE run = ? AND kind = ? AND state = 'complete' AND step = ? ORDER BY id",
                                   [ref, ArtifactKind.checkpoint, top]) {
                out.append(RefMatch(artifact: a, via: "latest checkpoint of run '\(ref)'"))
            }
        } else if let a = try artifacts(where: "WHERE run = ? AND kind = ? AND state = 'complete' AND step IS NULL ORDER BY id DESC LIMIT 1",
                                        [ref, ArtifactKind.checkpoint]).first {
            out.append(RefMatch(artifact: a, via: "latest checkpoint of run '\(ref)'"))
        }
        for a in try artifacts(where: "WHERE name = ? ORDER BY id", [ref]) {
            out.append(RefMatch(artifact: a, via: "name"))
        }
        let hex = ref.lowercased()
        if hex.count >= 4, hex.allSatisfy({ $0.isHexDigit }) {
            for a in try artifacts(where: "WHERE hash >= ? AND hash < ? ORDER BY id", [hex, hex + "g"]) {
                out.append(RefMatch(artifact: a, via: "hash prefix"))
            }
        }
        return out
    }

    /// Up to 5 existing references closest to `ref` (edit distance, or containing it), exact forms.
    func nearest(to ref: String, kind: String?) throws -> [String] {
        var names: [String] = []
        for a in try artifacts(kind: kind) { names += [a.name, Self.exactReference(a)] }
        if kind == nil || kind == ArtifactKind.checkpoint {
            let st = try db.prepare("SELECT DISTINCT run FROM artifact WHERE kind = 'checkpoint' AND run IS NOT NULL")
            while try st.step() { names.append(st.string(0)) }
        }
        for t in try tags() where kind == nil || (try? artifact(t.artifact).kind) == kind { names.append(t.name) }
        let r = Array(ref.lowercased())
        let scored = Set(names).map { n -> (Int, String) in
            let l = n.lowercased()
            let d = l.contains(String(r)) || String(r).contains(l) && l.count >= 3 ? 1 : editDistance(r, Array(l))
            return (d, n)
        }
        let limit = max(2, r.count / 3)
        return scored.filter { $0.0 <= limit }.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.prefix(5).map(\.1)
    }
}

/// Levenshtein distance (references are short).
func editDistance(_ a: [Character], _ b: [Character]) -> Int {
    if a.isEmpty { return b.count }
    var prev = Array(0...b.count)
    for i in 1...a.count {
        var cur = [i] + [Int](repeating: 0, count: b.count)
        for j in stride(from: 1, through: b.count, by: 1) {
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        prev = cur
    }
    return prev[b.count]
}
