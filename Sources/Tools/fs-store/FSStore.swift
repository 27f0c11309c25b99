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

        References (REF): RUN (latest checkpoint of run RUN), RUN@STEP, an artifact name, a tag, \
        a hex prefix of a content hash (>= 4 digits), or #ID.

        Exit codes: 0 ok, 1 failure, 2 usage error, 3 bad input (artifact/file), 4 store busy.

        Example:
          fs-store import teacher.safetensors --name teacher
          fs-store ls --kind checkpoint --json
        """,
        subcommands: [InitCommand.self, LsCommand.self, ShowCommand.self, ImportCommand.self, ExportCommand.self,
                      ArchiveCommand.self, RestoreCommand.self, MergeCommand.self, VerifyCommand.self,
                      GcCommand.self, RmCommand.self, TagCommand.self, MetricsCommand.self, BenchCommand.self,
                      StressWriterCommand.self])

    /// ToolSupport's `runAsTool`: usage errors exit 2 as `fs-store: message` like every other tool.
    static func main() { runAsTool() }
}
