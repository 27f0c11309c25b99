import ArgumentParser
import Foundation
import ImageIO
import NN
import Store

/// `report`: rewrites the marked blocks of a results page from the store's evaluations and the row
/// table that made them, so the numbers come from one place and the narrative stays hand-written.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Render a results page's marked blocks from stored evaluations.",
        discussion: """
        Each block of PAGE between a line `<!-- report:WHAT ARGS -->` and the
        next `<!-- /report -->` is replaced; the rest of PAGE is kept. WHAT:
          table NAME        the rows of table NAME of the row table (fs-eval
                            eval_results named by the rows): FID (with its
                            95% interval when stored), KID, class accuracy,
                            trajectory MSE, NFE, s/step, L_dist, D accuracy
                            and the grid of each row
          orderings NAME    the compare and target lines of table NAME,
                            decided by intervals (a side spans its seeds
                            and their 95% intervals)
          plot FILE [T,..]  FID against NFE (log-log) of the rows with a
                            series=NAME attribute (of tables T, if given),
                            drawn by LinePlot into FILE (.png or .svg,
                            relative to PAGE), and linked
        Rows not evaluated yet show dashes. --blocks rewrites only the named
        blocks and keeps the others as they are: a page whose sections were
        rendered from different stores (runs made at different times) keeps
        each section's numbers. Exit 3 for an unknown or unclosed block, a
        --blocks name no block has, a table no row names, or a malformed row
        table.

        Example:
          fs-store report --table jobs/tables/fashion-mnist.rows \\
            --page docs/results-fashion-mnist.md \\
            --grids docs/results-fashion-mnist/grids
        """)
    @OptionGroup var options: StoreOptions
    @Option(help: "The row table (jobs/tables/*.rows).") var table: String
    @Option(help: "The page whose marked blocks are rewritten.") var page: String
    @Option(help: "Directory of the rows' grids (KEY, '/' as '_', .png).") var grids: String?
    @Flag(help: "Read the table's params with their --quick values.") var quick = false
    @Flag(help: "Exit 1 if the page would change; write nothing.") var check = false
    @Option(help: ArgumentHelp("Rewrite only these blocks (comma-separated; a table or orderings NAME, a plot FILE).",
                               valueName: "names"))
    var blocks: String?

    func run() throws {
        try guarded {
            let store = try options.openForReading()
            let evals = try storedEvaluations(store)
            let rowTable = try RowTable(path: table, quick: quick) { evals[$0]?.fid }
            guard let text = try? String(contentsOfFile: page, encoding: .utf8) else {
                throw StoreError.badInput(file: page, reason: "cannot read the page")
            }
            let render = ReportRender(rows: rowTable.rows, claims: rowTable.claims, evals: evals, gridDirectory: grids,
                                      pageDirectory: (page as NSString).deletingLastPathComponent)
            let (updated, rewritten) = try rewrite(text, render)
            if check {
                if updated != text { info("fs-store report: \(page) is out of date"); throw ExitCode(1) }
                return
            }
            if updated != text {
                let tmp = page + ".part"
                // Written beside the page, then renamed over it: a failed write leaves the page as it was.
                do { try updated.write(toFile: tmp, atomically: false, encoding: .utf8) } catch {
                    throw StoreError.writeFailed(path: page, reason: "\(error)")
                }
                guard rename(tmp, page) == 0 else {
                    let why = String(cString: strerror(errno))
                    unlink(tmp)
                    throw StoreError.writeFailed(path: page, reason: why)
                }
            }
            if options.json {
                printJSON(.object([("page", .string(page)), ("blocks", OrderedJSON(rewritten)), ("changed", .bool(updated != text))]))
            } else {
                info("fs-store report: \(page): \(rewritten) blocks \(updated != text ? "rewritten" : "already current")")
            }
        }
    }

    /// The names `--blocks` selects (nil: every block).
    var selectedBlocks: Set<String>? {
        blocks.map { Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) }
    }

    /// The page with every selected block replaced, and the number of blocks replaced.
    func rewrite(_ text: String, _ render: ReportRender) throws -> (String, Int) {
        let lines = text.components(separatedBy: "\n")
        let selected = selectedBlocks
        var out: [String] = [], i = 0, blocks = 0, named = Set<String>()
        while i < lines.count {
            let line = lines[i]
            out.append(line)
            i += 1
            guard let spec = Self.blockSpec(line) else { continue }
            let start = i
            while i < lines.count, lines[i].trimmingCharacters(in: .whitespaces) != "<!-- /report -->" { i += 1 }
            guard i < lines.count else {
                throw StoreError.badInput(file: "\(page):\(start)", reason: "'\(line)' has no closing <!-- /report -->")
            }
            if selected != nil, spec.count > 1 { named.insert(spec[1]) }
            if let selected, !(spec.count > 1 && selected.contains(spec[1])) {
                out.append(contentsOf: lines[start..<i])   // not selected: kept as it is
                continue
            }
            do {
                out.append(contentsOf: try body(spec, render).components(separatedBy: "\n"))
            } catch let e as ReportError {
                throw StoreError.badInput(file: "\(page):\(start)", reason: e.description)
            }
            blocks += 1
        }
        if let missing = selected?.subtracting(named).sorted(), !missing.isEmpty {
            throw StoreError.badInput(file: page, reason: "--blocks names no block of the page: \(missing.joined(separator: ", "))")
        }
        return (out.joined(separator: "\n"), blocks)
    }

    /// `<!-- report:WHAT ARGS -->` -> [WHAT, ARGS...].
    static func blockSpec(_ line: String) -> [String]? {
        let t = line.trimmingCharacters(in: .whitespaces)
        guard t.hasPrefix("<!-- report:"), t.hasSuffix("-->") else { return nil }
        let inner = t.dropFirst("<!-- report:".count).dropLast(3)
        return inner.split(separator: " ").map(String.init)
    }

    /// A block's new text (without its marker lines), ending in a blank line so markdown closes tables.
    func body(_ spec: [String], _ render: ReportRender) throws -> String {
        switch (spec.first, spec.count) {
        case ("table", 2):
            return "\n" + (try render.table(spec[1]))
        case ("orderings", 2):
            return try render.orderings(spec[1])
        case ("plot", 2), ("plot", 3):
            let tables = spec.count == 3 ? spec[2].split(separator: ",").map(String.init) : []
            let series = render.plotSeries(tables: tables)
            guard !series.isEmpty else { return "\n(no evaluation with a plot series is stored yet)\n" }
            let file = (render.pageDirectory as NSString).appendingPathComponent(spec[1])
            try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            if !check { try writePlot(series, to: file) }
            return "\n![FID against NFE](\(spec[1]))\n"
        default:
            throw ReportError("unknown block '\(spec.joined(separator: " "))' (table NAME, orderings NAME, plot FILE [TABLES])")
        }
    }

    func writePlot(_ series: [LinePlot.Series], to file: String) throws {
        let title = "FID against NFE (log-log; lower is better)"
        let x = "NFE (network evaluations per sample; guidance counts 2 per step)"
        do {
            if file.hasSuffix(".svg") {
                try LinePlot.svg(series: series, title: title, xLabel: x, yLabel: "FID", logX: true, logY: true, markers: true)
                    .write(toFile: file, atomically: true, encoding: .utf8)
            } else if file.hasSuffix(".png") {
                try PNG.write(LinePlot.raster(series: series, title: title, xLabel: x, yLabel: "FID", logX: true, logY: true), to: file)
            } else {
                throw ReportError("plot file '\(file)' is neither .png nor .svg")
            }
        } catch let e as ReportError {
            throw e
        } catch {
            throw StoreError.writeFailed(path: file, reason: "\(error)")
        }
    }
}
