import Foundation
import Testing
@testable import Train

/// One case of Fixtures/schedules.json (written by tools/golden/schedule_fixture.py from real diffusers).
private struct FixtureCase: Decodable {
    let steps: Int
    let shift: Float
    let diffusers_sigmas: [Float]
    let diffusers_timesteps: [Float]
    let fixed_sigmas: [Float]
    let fixed_via_diffusers_sigmas: [Float]
}

private struct Fixture: Decodable {
    let diffusers_version: String
    let cases: [FixtureCase]
}

private func loadFixture() throws -> Fixture {
    let url = try #require(Bundle.module.url(forResource: "schedules", withExtension: "json",
                                             subdirectory: "Fixtures"))
    return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
}

private func close(_ a: [Float], _ b: [Float], _ tol: Float) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tol }
}

@Suite struct ScheduleTests {
    /// Paper §6.3, N=4, shift 3: the diffusers flaw (tiny last step) next to the fixed grid.
    @Test func paperNumbersFourStepsShiftThree() {
        let d = SigmaSchedule.make(.diffusers, steps: 4, shift: 3)
        #expect(close(d.sigmas, [1, 0.857692, 0.602151, 0.008929, 0], 5e-7))
        #expect(close(d.timesteps, [1000, 857.6923, 602.1506, 8.928572], 1e-3))
        let f = SigmaSchedule.make(.fixed, steps: 4, shift: 3)
        #expect(f.sigmas == [1, 0.9, 0.75, 0.5, 0])
        #expect(f.timesteps == [1000, 900, 750, 500])
        #expect(close(f.stepSizes, [0.1, 0.15, 0.25, 0.5], 1e-7))
    }

    /// The remaining rows of the paper's §6.3 table.
    @Test func paperTableRows() {
        let tol: Float = 6e-6
        #expect(close(SigmaSchedule.make(.diffusers, steps: 2, shift: 3).sigmas, [1, 0.00893, 0], tol))
        #expect(close(SigmaSchedule.make(.diffusers, steps: 3, shift: 3).sigmas, [1, 0.75112, 0.00893, 0], tol))
        #expect(close(SigmaSchedule.make(.diffusers, steps: 8, shift: 3).sigmas,
                      [1, 0.94754, 0.88279, 0.80084, 0.69379, 0.54805, 0.33797, 0.00893, 0], tol))
        #expect(close(SigmaSchedule.make(.diffusers, steps: 2, shift: 1).sigmas, [1, 0.001, 0], 1e-7))
        #expect(close(SigmaSchedule.make(.diffusers, steps: 4, shift: 1).sigmas, [1, 0.667, 0.334, 0.001, 0], 1e-7))
        #expect(close(SigmaSchedule.make(.fixed, steps: 3, shift: 3).sigmas, [1, 0.85714, 0.6, 0], tol))
        #expect(close(SigmaSchedule.make(.fixed, steps: 8, shift: 3).sigmas,
                      [1, 0.95455, 0.9, 0.83333, 0.75, 0.64286, 0.5, 0.3, 0], tol))
        #expect(SigmaSchedule.make(.fixed, steps: 2, shift: 1).sigmas == [1, 0.5, 0])
        #expect(SigmaSchedule.make(.fixed, steps: 4, shift: 1).sigmas == [1, 0.75, 0.5, 0.25, 0])
    }

    /// Bit-exact agreement with diffusers for N in {1,2,3,4,8,28} x shift in {1,3}.
    @Test func matchesDiffusersFixture() throws {
        let fixture = try loadFixture()
        #expect(fixture.cases.count == 12)
        for c in fixture.cases {
            let d = SigmaSchedule.make(.diffusers, steps: c.steps, shift: c.shift)
            #expect(d.sigmas == c.diffusers_sigmas, "diffusers sigmas N=\(c.steps) shift=\(c.shift)")
            #expect(d.timesteps == c.diffusers_timesteps, "diffusers timesteps N=\(c.steps) shift=\(c.shift)")
            let f = SigmaSchedule.make(.fixed, steps: c.steps, shift: c.shift)
            #expect(f.sigmas == c.fixed_sigmas, "fixed sigmas N=\(c.steps) shift=\(c.shift)")
            // diffusers reaches the same grid via set_timesteps(sigmas=linspace(1, 1/N, N)), in float32.
            #expect(close(f.sigmas, c.fixed_via_diffusers_sigmas, 2.5e-7), "fixed vs diffusers N=\(c.steps)")
        }
    }

    @Test func shapesAndEndpoints() {
        for kind in ScheduleKind.allCases {
            for n in [1, 2, 5, 28] {
                for shift: Float in [1, 3] {
                    let s = SigmaSchedule.make(kind, steps: n, shift: shift)
                    #expect(s.steps == n && s.sigmas.count == n + 1 && s.timesteps.count == n)
                    #expect(s.sigmas.first == 1 && s.sigmas.last == 0)
                    #expect(zip(s.sigmas, s.sigmas.dropFirst()).allSatisfy { $0 > $1 })
                }
            }
        }
    }

    @Test func shiftInvertsExactlyEnough() {
        for shift in [1.0, 3.0, 0.5] {
            for u in stride(from: 0.0, through: 1.0, by: 0.125) {
                let back = SigmaShift.invert(SigmaShift.apply(u, shift: shift), shift: shift)
                #expect(abs(back - u) < 1e-15)
            }
        }
    }

    /// Fixed grid: K segments of S sub-steps each are exactly the fixed K*S-step grid.
    @Test func subdividedFixedGridIsFinerFixedGrid() {
        for k in [1, 2, 3, 4, 8] {
            for sub in 1...8 {
                for shift: Float in [1, 3, 2.5] {
                    let fine = SigmaSchedule.make(.fixed, steps: k, shift: shift).subdivided(substeps: sub)
                    let direct = SigmaSchedule.make(.fixed, steps: k * sub, shift: shift)
                    #expect(fine.sigmas == direct.sigmas, "K=\(k) S=\(sub) shift=\(shift)")
                }
            }
        }
    }

    /// Other grids keep their segment boundaries and gain S uniform (unshifted) sub-steps per segment.
    @Test func subdividedKeepsBoundaries() throws {
        let coarse = SigmaSchedule.make(.diffusers, steps: 4, shift: 3)
        let fine = coarse.subdivided(substeps: 4)
        #expect(fine.steps == 16)
        for k in 0...4 { #expect(fine.sigmas[4 * k] == coarse.sigmas[k]) }
        #expect(SigmaSchedule.segmentRange(2, substeps: 4) == 8...12)
        // Inside the last segment [0.008929, 0] the sub-steps are uniform in unshifted time.
        let u = fine.unshifted
        #expect(abs((u[12] - u[13]) - (u[15] - u[16])) < 1e-12)

        let explicit = try SigmaSchedule(explicit: [1, 0.5], shift: 1)
        #expect(explicit.subdivided(substeps: 2).sigmas == [1, 0.75, 0.5, 0.25, 0])
    }

    @Test func explicitListsAreValidated() throws {
        let s = try SigmaSchedule(explicit: [1, 0.9, 0.75, 0.5])
        #expect(s.sigmas == [1, 0.9, 0.75, 0.5, 0])
        #expect(try SigmaSchedule(parsing: "1, 0.9,0.75,0.5,0").sigmas == s.sigmas)
        #expect(throws: ScheduleError.self) { try SigmaSchedule(explicit: []) }
        #expect(throws: ScheduleError.self) { try SigmaSchedule(explicit: [0.5, 0.7]) }
        #expect(throws: ScheduleError.self) { try SigmaSchedule(explicit: [1.5, 0.5]) }
        #expect(throws: ScheduleError.self) { try SigmaSchedule(parsing: "1,x,0") }
    }
}
