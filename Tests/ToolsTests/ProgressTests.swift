import Synchronization
import Testing
@testable import ToolSupport

/// A fake clock and a capturing sink, so progress output is deterministic.
private final class Harness: Sendable {
    let time = Mutex<Double>(100)
    let out = Mutex<[String]>([])

    func make(_ mode: Progress.Mode, total: Int?, completed: Int = 0) -> Progress {
        Progress(label: "train", total: total, unit: "step", completed: completed, mode: mode,
                 clock: { self.time.withLock { $0 } }, sink: { s in self.out.withLock { $0.append(s) } })
    }
    func advanceClock(_ dt: Double) { time.withLock { $0 += dt } }
    var text: String { out.withLock { $0.joined() } }
    var writes: Int { out.withLock { $0.count } }
}

@Suite struct ProgressTests {
    @Test func linesModeIsThrottledWholeLines() {
        let h = Harness()
        let p = h.make(.lines(interval: 10), total: 100)
        for _ in 0..<25 { h.advanceClock(1); p.advance(detail: "loss 0.5") }
        p.finish()
        let lines = h.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.count == 4 && lines.last == "")
        #expect(lines[0] == "train: 10/100 (10%) 1 step/s elapsed 0:10 ETA 1:30 loss 0.5")
        #expect(lines[1].hasPrefix("train: 20/100 (20%)"))
        #expect(lines[2] == "train: done 25/100 (25%) 1 step/s elapsed 0:25 loss 0.5")
        #expect(!h.text.contains("\r"))
    }

    @Test func liveModeRedrawsOneLineWithETA() {
        let h = Harness()
        let p = h.make(.live, total: 1000, completed: 500)
        for _ in 0..<100 { h.advanceClock(0.01); p.advance(by: 2) }
        #expect(h.writes == 10)  // first update, then at most every 0.1 s
        #expect(h.text.hasPrefix("\rtrain [============>           ]  50% 502/1000"))
        #expect(h.text.contains("200 step/s") && h.text.contains("ETA 0:02"))
        #expect(!h.text.contains("\n"))
        p.message("checkpoint saved at step 700")
        #expect(h.text.hasSuffix("\r\u{1B}[Kcheckpoint saved at step 700\n"))
        p.finish()
        p.finish()
        #expect(h.text.hasSuffix("\rtrain [================>       ]  70% 700/1000 200 step/s elapsed 0:01\u{1B}[K\n"))
    }

    @Test func unknownTotalAndQuiet() {
        let h = Harness()
        let p = h.make(.lines(interval: 5), total: nil)
        h.advanceClock(10)
        p.advance(by: 3)
        #expect(h.text == "train: 3 3.33 s/step elapsed 0:10\n")
        let q = Harness()
        let s = q.make(.silent, total: 10)
        s.advance(); s.message("x"); s.finish()
        #expect(q.text.isEmpty)
        #expect(Progress.Mode.automatic(quiet: true, isTerminal: true) == .silent)
        #expect(Progress.Mode.automatic(quiet: false, isTerminal: true) == .live)
        #expect(Progress.Mode.automatic(quiet: false, isTerminal: false) == .lines(interval: 10))
    }

    @Test func formatting() {
        #expect(Progress.duration(7) == "0:07" && Progress.duration(754) == "12:34" && Progress.duration(10925) == "3:02:05")
        #expect(Progress.duration(.infinity) == "?")
        #expect(Progress.rateText(12.34, unit: "img") == "12.3 img/s")
        #expect(Progress.rateText(1234, unit: "img") == "1234 img/s")
        #expect(Progress.rateText(0.25, unit: "step") == "4 s/step")
    }
}
