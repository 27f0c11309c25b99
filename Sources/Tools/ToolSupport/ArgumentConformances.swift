import ArgumentParser
import Train

// `--schedule fixed|diffusers` for every tool that samples: the enum's raw values are the flag values,
// and `--help` lists them.
extension ScheduleKind: ExpressibleByArgument {}

// `--method euler|heun` for every tool that samples.
extension Sampler.Method: ExpressibleByArgument {}

// `--labels cycle|list` for fs-sample (a bad list is a usage error: `LabelSpecError`).
extension LabelSpec: ExpressibleByArgument {
    public init?(argument: String) { try? self.init(parsing: argument) }
}
