"""Golden FID and KID values computed the way the Python tools do, for Tests/EvalTests.

Writes Tests/EvalTests/Fixtures/fid_fixture.json, which Tests/EvalTests/FixtureTests.swift compares
against Sources/Eval (FrechetDistance, GaussianAccumulator, KernelInceptionDistance). Run from the
repository root with a Python that has numpy and scipy:

    /root/venv/bin/python tools/golden/fid_fixture.py

Contents:
  pairs: D=16 (mu1, sigma1, mu2, sigma2) pairs, well conditioned by construction (random, anisotropic
      with condition number 1e4, nearly equal, diagonal), and "fid" from pytorch-fid's
      calculate_frechet_distance (copied below verbatim up to the scipy `disp` shim): scipy.linalg.sqrtm
      of the non-symmetric product sigma1 @ sigma2.
  features: two fixed feature sets x, y of shape [120, 16] (float32 values, so Swift's Float features
      are the same numbers), their np.mean / np.cov(rowvar=False) statistics in float64, the FID of
      those statistics, and the unbiased MMD^2 with the cubic polynomial kernel (x.y/d + 1)^3 over the
      full sets, exactly as clean-fid's kernel_distance computes it for one subset. With subset size
      >= 120 every KID subset is a permutation of the full sets, so KID equals this value exactly.
Floats are written with repr() (float64 round trip).
"""
import json
import os

import numpy as np
import scipy
from scipy import linalg

D = 16
N = 120


def sqrtm_no_disp(a):
    """scipy.linalg.sqrtm(a, disp=False) across scipy versions (disp was deprecated in 1.16)."""
    try:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return linalg.sqrtm(a, disp=False)
    except TypeError:
        return linalg.sqrtm(a), None


def calculate_frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """pytorch-fid src/pytorch_fid/fid_score.py, unchanged except for the sqrtm call."""
    mu1 = np.atleast_1d(mu1)
    mu2 = np.atleast_1d(mu2)
    sigma1 = np.atleast_2d(sigma1)
    sigma2 = np.atleast_2d(sigma2)
    assert mu1.shape == mu2.shape
    assert sigma1.shape == sigma2.shape
    diff = mu1 - mu2
    covmean, _ = sqrtm_no_disp(sigma1.dot(sigma2))
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean, _ = sqrtm_no_disp((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            m = np.max(np.abs(covmean.imag))
            raise ValueError("Imaginary component {}".format(m))
        covmean = covmean.real
    tr_covmean = np.trace(covmean)
    return diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean


def unbiased_mmd2_poly(x, y):
    """One subset of clean-fid's kernel_distance (cleanfid/fid.py), returned before averaging."""
    n = x.shape[1]
    m = x.shape[0]
    a = (x @ x.T / n + 1) ** 3 + (y @ y.T / n + 1) ** 3
    b = (x @ y.T / n + 1) ** 3
    t = (a.sum() - np.diag(a).sum()) / (m - 1) - b.sum() * 2 / m
    return t / m


def random_spd(rng, d, cond=None):
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    if cond is None:
        a = rng.standard_normal((d, d))
        return a @ a.T / d + 0.1 * np.eye(d)
    ev = np.logspace(0, np.log10(cond), d) / np.sqrt(cond)
    s = (q * ev) @ q.T
    return 0.5 * (s + s.T)


def flat(a):
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


def main():
    rng = np.random.default_rng(20240605)
    pairs = []

    def add(name, mu1, s1, mu2, s2):
        pairs.append({"name": name, "dim": D, "mu1": flat(mu1), "sigma1": flat(s1),
                      "mu2": flat(mu2), "sigma2": flat(s2),
                      "fid": float(calculate_frechet_distance(mu1, s1, mu2, s2))})

    add("random", rng.standard_normal(D), random_spd(rng, D), rng.standard_normal(D), random_spd(rng, D))
    add("anisotropic_cond1e4", rng.standard_normal(D), random_spd(rng, D, 1e4),
        0.5 * rng.standard_normal(D), random_spd(rng, D, 1e4))
    s1 = random_spd(rng, D)
    p = 1e-3 * rng.standard_normal((D, D))
    mu1 = rng.standard_normal(D)
    add("nearly_equal", mu1, s1, mu1 + 1e-2 * rng.standard_normal(D), s1 + p @ p.T)
    add("diagonal", rng.standard_normal(D), np.diag(rng.uniform(0.1, 3, D)),
        rng.standard_normal(D), np.diag(rng.uniform(0.1, 3, D)))
    add("scaled_large", 100 * rng.standard_normal(D), 1e4 * random_spd(rng, D),
        100 * rng.standard_normal(D), 1e4 * random_spd(rng, D))

    # Feature sets: ReLU-like positive features with a large common offset (tests the shifted sums).
    mix = rng.standard_normal((D, D))
    x = np.maximum(rng.standard_normal((N, D)) @ mix, 0) + 5.0
    y = np.maximum(1.3 * rng.standard_normal((N, D)) @ mix + 0.4, 0) + 5.0
    x = x.astype(np.float32).astype(np.float64)
    y = y.astype(np.float32).astype(np.float64)
    mx, sx = np.mean(x, axis=0), np.cov(x, rowvar=False)
    my, sy = np.mean(y, axis=0), np.cov(y, rowvar=False)
    features = {"dim": D, "rows": N, "x": flat(x), "y": flat(y),
                "mu_x": flat(mx), "sigma_x": flat(sx), "mu_y": flat(my), "sigma_y": flat(sy),
                "fid": float(calculate_frechet_distance(mx, sx, my, sy)),
                "kid": float(unbiased_mmd2_poly(x, y))}

    out = {"generator": "tools/golden/fid_fixture.py", "numpy": np.__version__, "scipy": scipy.__version__,
           "pairs": pairs, "features": features}
    path = os.path.join("Tests", "EvalTests", "Fixtures", "fid_fixture.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    for p in pairs:
        print(f"{p['name']}: fid = {p['fid']!r}")
    print(f"features: fid = {features['fid']!r}, kid = {features['kid']!r}")


if __name__ == "__main__":
    main()
