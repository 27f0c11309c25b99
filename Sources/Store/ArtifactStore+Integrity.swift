extension ArtifactStore {
    /// Throws `corrupt` naming the artifact when payload bytes read for use or for copying out do
    /// not hash to the artifact's recorded content hash (bytes altered or damaged inside the
    /// store). Open banks have no hash yet and are not checked.
    func checkContent(_ a: ArtifactRecord, hash: String, size: Int) throws {
        guard a.state == "complete", !a.hash.isEmpty else { return }
        guard hash == a.hash, size == a.size else {
            throw StoreError.corrupt(path: path, reason: "\(a.kind) '\(a.name)' (#\(a.id), ref \(Self.exactReference(a))): stored payload "
                + (hash == a.hash ? "is \(size) bytes, recorded \(a.size)" : "hashes to \(hash.prefix(12)), recorded \(a.shortHash)")
                + "; it was altered or damaged inside the store (`fs-store verify` lists all damage; restore it from an archive)")
        }
    }
}
