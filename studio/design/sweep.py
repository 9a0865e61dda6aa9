"""Property sweeps through the Janus latent space: designs whose friction coefficient at one load
walks through requested values (Qt-free; the GUI's design map and benchmarks/sweep.py use it).

    steps = property_sweep(janus, N=64, mu=np.linspace(0.2, 1.5, 50), load_N=5.0)
    report = sweep_report(steps)       # Spearman of exact μ vs requested, worst relative error

Each step asks the Janus head for a latent code whose predicted μ = F(load)/load is the requested
value, starting from (and anchored to) the previous step's code, so consecutive designs are
neighbours on one path (`JanusModel.walk`). The code is decoded (valid by construction) and the
design realised under each of `seeds` realisation seeds; the exact float64 physics gives its μ,
and the step keeps the realisation whose μ is closest to the request (a design is the triple
θ, N, seed, as for every engine). The figure with one fixed seed is reported beside it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from studio.physics import LOAD_GRID_N, simulate_many


@dataclass
class SweepStep:
    """One design of a sweep: requested μ, the code, the decoded θ (23,), its seed and exact μ."""

    requested_mu: float
    z: np.ndarray
    theta: np.ndarray
    N: int
    seed: int
    mu: float  # exact (float64) F(load)/load of (θ, N, seed)
    mu_first_seed: float  # the same with the first seed of the list, whichever is closer
    mu_predicted: float  # the Janus head's
    law_N: np.ndarray  # exact law of (θ, N, seed)


def load_index(load_N: float) -> int:
    """The load-grid point a sweep load must be (exactly, to 1e-9 N)."""
    j = int(np.argmin(np.abs(LOAD_GRID_N - float(load_N))))
    if abs(LOAD_GRID_N[j] - float(load_N)) > 1e-9:
        from studio.errors import StudioError
        raise StudioError(f"sweep load {load_N:g} N is not on the load grid (nearest {LOAD_GRID_N[j]:g} N)")
    return j


def property_sweep(janus, N: int, mu, load_N: float = 5.0, seeds=tuple(range(8)), start=None,
                   control=None) -> list[SweepStep]:
    """Designs whose effective friction coefficient F/P at `load_N` follows the values `mu`."""
    j = load_index(load_N)
    mu = np.asarray(mu, dtype=np.float64)
    seeds = [int(s) for s in seeds]
    if start is None:  # the start: the bank code nearest the first value (a flat law through it)
        start = janus.starts(np.full(LOAD_GRID_N.shape, mu[0] * load_N), N, 1,
                             mask=np.arange(len(LOAD_GRID_N)) == j)[0]
    codes, laws_pred = janus.walk(j, mu * load_N, N, start=start, control=control)
    theta = janus.decode(codes, N)
    rows = np.repeat(theta, len(seeds), axis=0)
    laws = simulate_many(rows, int(N), np.tile(seeds, len(theta))).reshape(len(theta), len(seeds), -1)
    mu_exact = laws[:, :, j] / LOAD_GRID_N[j]
    best = np.argmin(np.abs(mu_exact / mu[:, None] - 1.0), axis=1)
    return [SweepStep(requested_mu=float(mu[i]), z=codes[i], theta=theta[i], N=int(N), seed=seeds[best[i]],
                      mu=float(mu_exact[i, best[i]]), mu_first_seed=float(mu_exact[i, 0]),
                      mu_predicted=float(laws_pred[i, j] / LOAD_GRID_N[j]), law_N=laws[i, best[i]])
            for i in range(len(theta))]


def sweep_report(steps: list[SweepStep]) -> dict:
    """Spearman rank correlation of exact μ with the requested values and the relative errors [%],
    for the chosen realisations and for the first seed alone, and for the head's prediction."""
    from scipy.stats import spearmanr

    req = np.array([s.requested_mu for s in steps])
    out = {}
    for name, got in (("chosen_seed", [s.mu for s in steps]), ("first_seed", [s.mu_first_seed for s in steps]),
                      ("predicted", [s.mu_predicted for s in steps])):
        got = np.asarray(got)
        rel = 100.0 * np.abs(got / req - 1.0)
        out[name] = {"spearman": float(spearmanr(req, got).statistic), "max_rel_error_percent": float(rel.max()),
                     "median_rel_error_percent": float(np.median(rel)),
                     "steps_within_2_percent": int((rel <= 2.0).sum()), "steps": len(steps),
                     "monotone": bool(np.all(np.diff(got) > 0))}
    return out
