import ArgumentParser
import Foundation
import ToolSupport

@main
struct FSStore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fs-store",
        abstract: "Inspect and maintain a FlowSteer artifact store (one SQLite file).",
        discussion: """
        The store holds runs, metrics, checkpoints, trajectory banks and other artifacts with their \
        lineage. Every subcommand takes --store PATH (default $FS_STORE, else ./flowsteer.db) and \
        --json (one JSON object on stdout).

        References (REF): RUN (latest checkpoint of run RUN), RUN@STEP, KIND:NAME, an artifact name, \
        a tag, a hex prefix of a content hash (>= 4 digits), or #ID; a reference that means two \
        different artifacts is an error listing their exact KIND:NAME references.

        Exit codes: 0 ok, 1 failure (also a failed write: read-only store, unwritable output file), \
        2 usage error, 3 bad input (no store, not a store, damaged or altered data, unknown or \
        ambiguous reference), 4 store busy (locked past $FS_STORE_BUSY_TIMEOUT, default 30 s).

        Example:
          fs-store import teacher.safetensors --name teacher
          fs-store ls --kind checkpoint --json
        """,
        subcommands: [InitCommand.self, LsCommand.self, ShowCommand.self, ImportCommand.self, ExportCommand.self,
                      ArchiveCommand.self, RestoreCommand.self, MergeCommand.self, VerifyCommand.self,
                      GcCommand.self, RmCommand.self, ThinCommand.self, TagCommand.self, MetricsCommand.self, ReportCommand.self, BenchCommand.self,
                      StressWriterCommand.self])

    /// ToolSupport's `runAsTool`: usage errors exit 2 as `fs-store: message` like every other tool.
    static func main() { runAsTool() }
}
