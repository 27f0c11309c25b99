extension SigmaSchedule {
    /// The grid with every segment split into `substeps` Euler sub-steps, placed uniformly in unshifted
    /// time inside the segment and then shifted.
    ///
    /// This is how the teacher's ODE solver walks a student segment [sigma_k, sigma_{k+1}]: with the
    /// `fixed` grid, K segments of S sub-steps give exactly the fixed K*S-step grid, so the teacher's
    /// solution over the whole range does not depend on how it was cut into segments. Segment k covers
    /// indices `k*substeps ... (k+1)*substeps` of the result.
    public func subdivided(substeps: Int) -> SigmaSchedule {
        precondition(substeps >= 1, "SigmaSchedule.subdivided: substeps must be at least 1, got \(substeps)")
        if substeps == 1 { return self }
        let s = Double(shift)
        var u: [Double] = []
        var sig: [Float] = []
        u.reserveCapacity(steps * substeps + 1)
        sig.reserveCapacity(steps * substeps + 1)
        for k in 0..<steps {
            // Same arithmetic as linspace(u_k, u_{k+1}, S+1) without its endpoint, whose value is
            // taken from the next segment's start (or the final 0) so segment ends stay exact.
            let inner = numpyLinspace(unshifted[k], unshifted[k + 1], substeps + 1).dropLast()
            for (j, v) in inner.enumerated() {
                u.append(v)
                // Keep the original sigma at segment starts, so rounding never moves a boundary.
                sig.append(j == 0 ? sigmas[k] : Float(SigmaShift.apply(v, shift: s)))
            }
        }
        u.append(unshifted[steps])
        sig.append(sigmas[steps])
        return SigmaSchedule(sigmas: sig, shift: shift, unshifted: u)
    }

    /// The index range of `subdivided(substeps:)` points that belong to student segment `k`.
    public static func segmentRange(_ k: Int, substeps: Int) -> ClosedRange<Int> {
        (k * substeps)...((k + 1) * substeps)
    }
}
