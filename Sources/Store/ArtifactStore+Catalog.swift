import Foundation

extension ArtifactStore {
    /// Artifacts that list `id` as a parent.
    public func children(of id: ArtifactID) throws -> [ArtifactRecord] {
        try artifacts(where: "WHERE id IN (SELECT child FROM lineage WHERE parent = ?) ORDER BY id", [id])
    }

    /// `id` and all of its ancestors, parents before children (ids ascending).
    public func lineageClosure(of ids: [ArtifactID]) throws -> [ArtifactID] {
        var seen = Set<ArtifactID>()
        var stack = ids
        while let id = stack.popLast() {
            guard seen.insert(id).inserted else { continue }
            stack += try artifact(id).parents
        }
        return seen.sorted()
    }

    /// Names a tag (an alias usable as a reference) for an artifact, replacing an older tag.
    /// Refuses a tag name that already means another artifact (a run, a name, a hash prefix): the
    /// tag would make that reference ambiguous.
    public func tag(_ name: String, _ id: ArtifactID) throws {
        try db.transaction {
            _ = try artifact(id)
            let others = try readings(of: name).filter { !$0.via.hasPrefix("tag ") && $0.artifact.id != id }
            if let o = others.first {
                throw StoreError.conflict("\(path): tag '\(name)' would make '\(name)' ambiguous: it already means \(Self.exactReference(o.artifact)) (#\(o.artifact.id), \(o.via)); choose another tag name")
            }
            try db.execute("INSERT INTO tag(name, artifact) VALUES(?, ?) ON CONFLICT(name) DO UPDATE SET artifact = excluded.artifact", [name, id])
        }
    }

    /// Removes a tag; false if there was none.
    @discardableResult
    public func untag(_ name: String) throws -> Bool {
        try db.transaction {
            try db.execute("DELETE FROM tag WHERE name = ?", [name])
            return db.changes > 0
        }
    }

    /// Tags as (name, artifact id).
    public func tags() throws -> [(name: String, artifact: ArtifactID)] {
        let st = try db.prepare("SELECT name, artifact FROM tag ORDER BY name")
        var out: [(String, ArtifactID)] = []
        while try st.step() { out.append((st.string(0), st.int64(1))) }
        return out
    }

    /// Deletes an artifact and its payload. Refuses while other artifacts list it as a parent
    /// unless `force`, which also removes those lineage links.
    public func remove(_ id: ArtifactID, force: Bool = false) throws {
        try db.transaction {
            let a = try artifact(id)
            let kids = try children(of: id)
            if !kids.isEmpty && !force {
                throw StoreError.conflict("\(path): \(a.kind) '\(a.name)' is a parent of \(kids.map { "'\($0.name)'" }.joined(separator: ", ")); use --force")
            }
            try db.execute("DELETE FROM lineage WHERE parent = ?", [id])
            try db.execute("DELETE FROM artifact WHERE id = ?", [id])
        }
    }

    /// Resolves every reference first, then removes them all in one transaction (children before
    /// parents): an unknown reference or a refused removal leaves the store unchanged.
    @discardableResult
    public func removeAll(refs: [String], force: Bool = false) throws -> [ArtifactRecord] {
        try db.transaction {
            var seen = Set<ArtifactID>()
            let targets = try refs.map { try resolve($0) }.filter { seen.insert($0.id).inserted }
            let inSet = Set(targets.map(\.id))
            for a in targets.sorted(by: { $0.id > $1.id }) {
                // Children also being removed do not block their parent.
                let kids = try children(of: a.id).filter { !inSet.contains($0.id) }
                if !kids.isEmpty && !force {
                    throw StoreError.conflict("\(path): \(a.kind) '\(a.name)' is a parent of \(kids.map { "'\($0.name)'" }.joined(separator: ", ")); use --force (nothing was removed)")
                }
                try db.execute("DELETE FROM lineage WHERE parent = ?", [a.id])
                try db.execute("DELETE FROM artifact WHERE id = ?", [a.id])
            }
            return targets
        }
    }

    /// The checkpoints `thinCheckpoints` removes: for each of `runs`, every checkpoint but the newest `keepLast`
    /// (by step), except one that another artifact lists as a parent (an evaluation, a sample set, a bank...)
    /// or that a tag names. A run with no checkpoints is an error naming it.
    public func thinnableCheckpoints(runs: [String], keepLast: Int) throws -> [ArtifactRecord] {
        guard keepLast >= 1 else { throw StoreError.badInput(file: path, reason: "keep at least 1 checkpoint per run, not \(keepLast)") }
        let tagged = Set(try tags().map(\.artifact))
        var thinnable: [ArtifactRecord] = []
        for run in runs {
            let checkpoints = try artifacts(kind: ArtifactKind.checkpoint, run: run)
                .sorted { ($0.step ?? 0, $0.id) < ($1.step ?? 0, $1.id) }
            guard !checkpoints.isEmpty else { throw StoreError.notFound("\(path): run '\(run)' has no checkpoints") }
            for a in checkpoints.dropLast(keepLast) where !tagged.contains(a.id) {
                if try children(of: a.id).isEmpty { thinnable.append(a) }
            }
        }
        return thinnable
    }

    /// Removes `thinnableCheckpoints(runs:keepLast:)` in one transaction (all runs are checked first: one
    /// without checkpoints removes nothing). A resume needs only a run's newest checkpoint; `gc()` reclaims
    /// the payload bytes.
    public func thinCheckpoints(runs: [String], keepLast: Int) throws -> [ArtifactRecord] {
        try db.transaction {
            let thinned = try thinnableCheckpoints(runs: runs, keepLast: keepLast)
            for a in thinned { try remove(a.id) }
            return thinned
        }
    }
}
