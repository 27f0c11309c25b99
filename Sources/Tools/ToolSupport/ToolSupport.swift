// ToolSupport: shared CLI options, progress, exit codes (docs/design.md).
