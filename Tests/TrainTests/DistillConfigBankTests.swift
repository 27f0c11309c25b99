import NN
import Testing
@testable import Train

/// The domain checks fs-distill delegates to Train: a bank's defaults and grid against the run's config,
/// and the LoRA a resumed run may ask for.
@Suite struct DistillConfigBankTests {
    func bank(segments: Int = 4, schedule: ScheduleKind = .fixed, shift: Float = 3, teacherHash: String? = "aa",
              sigmas: [Float]? = nil) -> BankManifest {
        BankManifest(teacher: "t", teacherHash: teacherHash, teacherConfig: nil, schedule: schedule, shift: shift,
                     segments: segments, substeps: 5, teacherSteps: nil,
                     boundarySigmas: sigmas ?? SigmaSchedule.make(schedule, steps: segments, shift: shift).sigmas,
                     cfgRange: (lo: 1.5, hi: 2.5), stateShape: [1, 28, 28], seeds: "0-9", count: 10, shards: 1, data: nil)
    }

    func config(segments: Int = 2) -> DistillConfig {
        var c = DistillConfig.preset("tiny", method: .flowsteer)!
        (c.ota, c.segments) = (true, segments)
        return c
    }

    @Test func adoptsTheBanksDefaultsUnlessGiven() throws {
        var c = config()
        try c.adopt(bank: bank(), segments: 4, name: "bank 'b'", teacherHash: "aa",
                    keepSegments: false, keepSubsteps: false, keepCFGRange: false)
        #expect(c.segments == 4 && c.substeps == 5 && c.cfgLow == 1.5 && c.cfgHigh == 2.5)
        var kept = config(segments: 4)
        let (sub, lo) = (kept.substeps, kept.cfgLow)
        try kept.adopt(bank: bank(), segments: 4, name: "bank 'b'", teacherHash: "aa",
                       keepSegments: true, keepSubsteps: true, keepCFGRange: true)
        #expect(kept.substeps == sub && kept.cfgLow == lo)
    }

    @Test func refusesAnotherTeacherOrGrid() {
        func refusal(_ m: BankManifest, segments k: Int = 4, keepSegments: Bool = false, _ c: DistillConfig? = nil) -> String? {
            var c = c ?? config(segments: 2)
            do {
                try c.adopt(bank: m, segments: k, name: "bank 'b'", teacherHash: "aa", keepSegments: keepSegments,
                            keepSubsteps: false, keepCFGRange: false)
                return nil
            } catch let e as BankMismatch { return e.description } catch { return "\(error)" }
        }
        #expect(refusal(bank(teacherHash: "bb"))?.contains("rolled out by teacher bb") == true)
        #expect(refusal(bank(), keepSegments: true) == "bank 'b' holds K = 4 segments per trajectory but --segments is 2; "
                + "roll out a bank with --segments 2 or drop --segments")
        #expect(refusal(bank(schedule: .diffusers))?.contains("rolled out on the diffusers grid but --schedule is fixed") == true)
        #expect(refusal(bank(shift: 2))?.contains("rolled out with shift 2.0 but --shift is 3.0") == true)
        #expect(refusal(bank(sigmas: [1, 0.7, 0.5, 0.2, 0]))?.contains("differ from the fixed grid") == true)
        // ReFlow reads only the noise and the endpoint: any grid will do.
        var reflow = config(segments: 2)
        reflow.method = .reflow
        #expect(refusal(bank(schedule: .diffusers), keepSegments: true, reflow) == nil)
        #expect(refusal(bank()) == nil)
    }

    @Test func loraOnResumeMayOnlyRepeatTheRecordedOne() throws {
        var c = config()
        #expect(throws: LoRAResumeConflict.self) { try c.checkLoRAResume(rank: 4, alpha: nil, targets: nil) }
        c.lora = LoRAConfig(rank: 4, alpha: 8, targets: ["a", "b"])
        try c.checkLoRAResume(rank: 4, alpha: nil, targets: nil)
        try c.checkLoRAResume(rank: 4, alpha: 8, targets: ["a", "b"])
        #expect(throws: LoRAResumeConflict.self) { try c.checkLoRAResume(rank: 8, alpha: nil, targets: nil) }
        #expect(throws: LoRAResumeConflict.self) { try c.checkLoRAResume(rank: 4, alpha: 4, targets: nil) }
        #expect(throws: LoRAResumeConflict.self) { try c.checkLoRAResume(rank: 4, alpha: nil, targets: ["a"]) }
    }
}
