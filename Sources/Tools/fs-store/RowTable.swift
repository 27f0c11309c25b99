import Foundation
import Store

/// The report's view of a row table (jobs/tables/README.md): its evaluation rows with their table,
/// order, label and attributes, after the same param expansion jobs/rows.sh applies.
struct RowTable {
    struct Row {
        var table: String
        var order: Int
        var label: String
        /// `key=value` words between the label and the command (e.g. `series=teacher`).
        var attributes: [String: String]
        /// The fs-eval `--name`: the eval_result artifact holding the numbers.
        var key: String
        /// Position in the table with its includes read in place (ties of `order` keep it).
        var position: Int
    }
    /// A claim the report decides: `compare TABLE TEXT WORSE BETTER` (FID of WORSE above BETTER's) or
    /// `target TABLE WHO KEY REFERENCE RATIO` (FID(KEY) / FID(REFERENCE) at most RATIO). Keys ending in
    /// '*' are prefixes (every training seed of a row).
    struct Claim {
        var table: String
        var target: Bool
        var text: String
        var a: String, b: String
        var ratio: Double?
    }
    var rows: [Row] = []
    var claims: [Claim] = []
    var params: [String: String] = [:]

    /// Reads `path`; `quick` picks params' QUICK values; the environment overrides params as in rows.sh.
    /// `fid` gives a stored evaluation's FID, for `select` (the CHOICE of lowest FID, or NAME=CHOICE from the
    /// environment; `unselected` while any is not evaluated).
    init(path: String, quick: Bool, environment: [String: String] = ProcessInfo.processInfo.environment,
         fid: (String) -> Double? = { _ in nil }) throws {
        try read(path, depth: 0, quick: quick, environment: environment, fid: fid)
    }

    /// What a select's NAME and NAME_ARGS read while some of its trials are not evaluated (labels show it; a
    /// row whose command uses it names no stored evaluation, so it shows dashes).
    static let unselected = "unselected"

    /// Includes nest at most this deep (a deeper chain is a loop).
    static let maxIncludeDepth = 8

    /// One file's lines in order; `include FILE` reads FILE (relative to this file's directory) in place.
    private mutating func read(_ path: String, depth: Int, quick: Bool, environment: [String: String],
                               fid: (String) -> Double?) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw StoreError.badInput(file: path, reason: "cannot read the row table")
        }
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = raw.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            func bad(_ why: String) -> Error { StoreError.badInput(file: "\(path):\(i + 1)", reason: why) }
            let expanded = try Self.expand(String(raw), params: params.merging(environment) { table, _ in table }, bad: bad)
            let w = try Self.words(expanded, bad: bad)
            switch w[0] {
            case "include":
                guard w.count == 2 else { throw bad("include FILE") }
                guard depth < Self.maxIncludeDepth else { throw bad("include nested deeper than \(Self.maxIncludeDepth) (a loop?)") }
                let file = w[1].hasPrefix("/") ? w[1] : (path as NSString).deletingLastPathComponent + "/" + w[1]
                guard FileManager.default.fileExists(atPath: file) else { throw bad("include: no file '\(w[1])'") }
                try read(file, depth: depth + 1, quick: quick, environment: environment, fid: fid)
            case "param":
                guard (3...4).contains(w.count) else { throw bad("param NAME FULL [QUICK]") }
                if params[w[1]] == nil {
                    params[w[1]] = environment[w[1]] ?? (quick && w.count == 4 ? w[3] : w[2])
                }
            case "row":
                guard w.count >= 5, let order = Int(w[2]) else { throw bad("row TABLE ORDER LABEL fs-eval ... --name KEY") }
                var attributes: [String: String] = [:], j = 4
                while j < w.count, !w[j].hasPrefix("fs-"), let eq = w[j].firstIndex(of: "=") {
                    attributes[String(w[j][..<eq])] = String(w[j][w[j].index(after: eq)...]); j += 1
                }
                guard j < w.count, w[j] == "fs-eval" else { throw bad("a row is an fs-eval command") }
                guard let n = w[j...].firstIndex(of: "--name"), n + 1 < w.count else {
                    throw bad("a row's fs-eval needs --name KEY")
                }
                // quick=no: a row --quick runs leave out (a smoke run needs fewer of them).
                if quick && attributes["quick"] == "no" { continue }
                // The same evaluation listed again (a section that needs another's row) is shown once.
                if rows.contains(where: { $0.table == w[1] && $0.key == w[n + 1] }) { continue }
                rows.append(Row(table: w[1], order: order, label: w[3], attributes: attributes, key: w[n + 1], position: rows.count))
            case "compare":
                guard w.count == 5 else { throw bad("compare TABLE TEXT WORSE BETTER") }
                claims.append(Claim(table: w[1], target: false, text: w[2], a: w[3], b: w[4], ratio: nil))
            case "target":
                guard w.count == 6, let r = Double(w[5]) else { throw bad("target TABLE WHO KEY REFERENCE RATIO") }
                claims.append(Claim(table: w[1], target: true, text: w[2], a: w[3], b: w[4], ratio: r))
            case "select":
                guard w.count >= 4 else { throw bad("select NAME PREFIX CHOICE...") }
                let choices = Array(w[3...])
                for c in choices where params[c] == nil && environment[c] == nil { throw bad("select: choice '\(c)' is not a param") }
                var best = 0
                if let named = environment[w[1]] {   // NAME=CHOICE in the environment fixes it, as in rows.sh
                    guard let k = choices.firstIndex(of: named) else {
                        throw bad("select \(w[1]): the environment's \(w[1])='\(named)' is not one of its choices (\(choices.joined(separator: " ")))")
                    }
                    best = k
                } else {
                    let fids = choices.map { fid(w[2] + $0) }
                    guard fids.allSatisfy({ $0 != nil }) else {
                        // Not every trial is evaluated: no choice, and the page says so rather than naming a guess.
                        (params[w[1]], params[w[1] + "_ARGS"]) = (Self.unselected, Self.unselected)
                        continue
                    }
                    for k in fids.indices where fids[k]! < fids[best]! { best = k }
                }
                params[w[1]] = choices[best]
                params[w[1] + "_ARGS"] = params[choices[best]] ?? environment[choices[best]]
            case "section", "import", "run": continue
            default: throw bad("unknown row kind '\(w[0])' (param, section, include, import, run, row, select, compare, target)")
            }
        }
    }

    /// `${NAME}` replaced by a param's (else the environment's) value, before the line is split (rows.sh's `expand`).
    static func expand(_ line: String, params: [String: String], bad: (String) -> Error) throws -> String {
        var out = "", rest = Substring(line)
        while let open = rest.range(of: "${") {
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else { break }
            let name = String(rest[open.upperBound..<close])
            guard let value = params[name] else { throw bad("${\(name)} is not a param (define it with 'param \(name) VALUE' above) nor set in the environment") }
            out += rest[..<open.lowerBound] + value
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }

    /// Words as xargs splits them: blanks separate, single or double quotes group (no escapes inside).
    static func words(_ line: String, bad: (String) -> Error) throws -> [String] {
        var words: [String] = [], current = "", inWord = false, quote: Character? = nil
        for c in line {
            if let q = quote {
                if c == q { quote = nil } else { current.append(c) }
            } else if c == "\"" || c == "'" {
                quote = c; inWord = true
            } else if c == " " || c == "\t" {
                if inWord { words.append(current); current = ""; inWord = false }
            } else {
                current.append(c); inWord = true
            }
        }
        if quote != nil { throw bad("unbalanced quotes") }
        if inWord { words.append(current) }
        return words
    }
}
