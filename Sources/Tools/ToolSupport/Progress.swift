import Foundation
import Synchronization

/// Progress on stderr for long loops (training steps, sampled images, rollouts).
///
/// On a terminal it redraws one live bar with rate and ETA (at most 10 times a second); when stderr is
/// a file or pipe (Slurm logs, cron mail) it prints a whole line every `interval` seconds and a final
/// line, so logs stay readable; `--quiet` silences it. Safe to call from several threads.
public final class Progress: Sendable {
    public enum Mode: Sendable, Equatable {
        case live
        case lines(interval: Double)
        case silent

        /// Live on a terminal, lines every 10 s otherwise, silent when `quiet`.
        public static func automatic(quiet: Bool, isTerminal: Bool = StandardError.isTerminal,
                                     interval: Double = 10) -> Mode {
            quiet ? .silent : (isTerminal ? .live : .lines(interval: interval))
        }
    }

    private struct State {
        var completed: Int
        var detail: String?
        var lastDraw: Double
        var finished = false
        var barVisible = false
    }

    public let label: String
    public let total: Int?
    public let unit: String
    public let mode: Mode
    private let startCompleted: Int
    private let start: Double
    private let clock: @Sendable () -> Double
    private let sink: @Sendable (String) -> Void
    private let state: Mutex<State>

    /// - Parameters:
    ///   - completed: where a resumed job starts (rates and ETA count only new work).
    ///   - clock: seconds from any fixed origin (tests inject a fake one).
    ///   - sink: where text goes (default: stderr).
    public init(label: String, total: Int?, unit: String = "it", completed: Int = 0, mode: Mode,
                clock: @escaping @Sendable () -> Double = Progress.monotonicSeconds,
                sink: @escaping @Sendable (String) -> Void = StandardError.write) {
        self.label = label
        self.total = total
        self.unit = unit
        self.mode = mode
        self.startCompleted = completed
        self.clock = clock
        self.sink = sink
        let now = clock()
        self.start = now
        self.state = Mutex(State(completed: completed, detail: nil, lastDraw: now))
    }

    public static func monotonicSeconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// Adds `n` finished units; `detail` (e.g. "loss 0.0412") is shown after the rate.
    public func advance(by n: Int = 1, detail: String? = nil) {
        report { $0.completed += n; if let detail { $0.detail = detail } }
    }

    /// Sets the number of finished units.
    public func update(completed: Int, detail: String? = nil) {
        report { $0.completed = completed; if let detail { $0.detail = detail } }
    }

    /// Prints a whole line without garbling the live bar (the bar is redrawn on the next update).
    public func message(_ line: String) {
        guard mode != .silent else { return }
        state.withLock { s in
            sink((s.barVisible ? "\r\u{1B}[K" : "") + line + "\n")
            s.barVisible = false
        }
    }

    /// Draws the final state once (live: the completed bar and a newline; lines: a summary line).
    public func finish(detail: String? = nil) {
        state.withLock { s in
            guard !s.finished else { return }
            s.finished = true
            if let detail { s.detail = detail }
            let now = clock()
            switch mode {
            case .silent: return
            case .live: sink("\r" + render(s, now: now, bar: true, final: true) + "\u{1B}[K\n")
            case .lines: sink(render(s, now: now, bar: false, final: true) + "\n")
            }
            s.barVisible = false
        }
    }

    private func report(_ change: (inout State) -> Void) {
        state.withLock { s in
            change(&s)
            guard !s.finished else { return }
            let now = clock()
            switch mode {
            case .silent:
                return
            case .live:
                guard now - s.lastDraw >= 0.1 || !s.barVisible else { return }
                sink("\r" + render(s, now: now, bar: true) + "\u{1B}[K")
                s.barVisible = true
            case .lines(let interval):
                guard now - s.lastDraw >= interval else { return }
                sink(render(s, now: now, bar: false) + "\n")
            }
            s.lastDraw = now
        }
    }

    /// "label [=====>    ]  45% 450/1000 12.3 img/s ETA 0:45 loss 0.04" (bar) or
    /// "label: 450/1000 (45%) 12.3 img/s elapsed 0:37 ETA 0:45 loss 0.04" (line).
    private func render(_ s: State, now: Double, bar: Bool, final: Bool = false) -> String {
        let elapsed = max(0, now - start)
        let done = s.completed - startCompleted
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        var parts: [String] = []
        if let total, total > 0 {
            let frac = min(1, max(0, Double(s.completed) / Double(total)))
            let pct = String(format: "%3.0f%%", frac * 100)
            if bar {
                let width = 24, filled = Int(frac * Double(width))
                let arrow = filled < width ? ">" : ""
                let pad = String(repeating: " ", count: max(0, width - filled - arrow.count))
                parts.append("\(label) [\(String(repeating: "=", count: filled))\(arrow)\(pad)] \(pct) \(s.completed)/\(total)")
            } else {
                parts.append("\(label): \(final ? "done " : "")\(s.completed)/\(total) (\(pct.trimmingCharacters(in: .whitespaces)))")
            }
        } else {
            parts.append(bar ? "\(label) \(s.completed)" : "\(label): \(final ? "done " : "")\(s.completed)")
        }
        if done > 0 && elapsed > 0 { parts.append(Self.rateText(rate, unit: unit)) }
        if !bar || final { parts.append("elapsed \(Self.duration(elapsed))") }
        if !final, let total, rate > 0, s.completed < total {
            parts.append("ETA \(Self.duration(Double(total - s.completed) / rate))")
        }
        if let d = s.detail, !d.isEmpty { parts.append(d) }
        return parts.joined(separator: " ")
    }

    /// "12.3 img/s", or "4.2 s/img" when slower than one unit per second.
    static func rateText(_ rate: Double, unit: String) -> String {
        if rate >= 1 || rate == 0 { return String(format: rate >= 100 ? "%.0f %@/s" : "%.3g %@/s", rate, unit) }
        return String(format: "%.3g s/%@", 1 / rate, unit)
    }

    /// "0:07", "12:34", "3:02:05".
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let t = Int(seconds.rounded())
        let h = t / 3600, m = (t % 3600) / 60, s = t % 60
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, s) : String(format: "%d:%02d", m, s)
    }
}
