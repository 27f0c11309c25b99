import ArgumentParser
import Datasets
import ImageIO
import Train

// Input-file problems of the data and image modules and unreadable checkpoints are "bad input" (exit 3);
// a malformed explicit sigma or label list is a usage error (exit 2) because it comes from the command line.
extension DatasetError: ToolExitCoded { public var toolExitCode: ExitCode { .badInput } }
extension ImageIOError: ToolExitCoded { public var toolExitCode: ExitCode { .badInput } }
extension CheckpointError: ToolExitCoded { public var toolExitCode: ExitCode { .badInput } }
extension ScheduleError: ToolExitCoded { public var toolExitCode: ExitCode { .usage } }
extension LabelSpecError: ToolExitCoded { public var toolExitCode: ExitCode { .usage } }
// A NaN or infinite velocity or state while sampling is a divergence (exit 5), as in training.
extension SamplingDiverged: ToolExitCoded { public var toolExitCode: ExitCode { .diverged } }
