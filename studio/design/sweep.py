"""Property sweeps through the Janus latent space: designs whose friction coefficient at one load
walks through requested values (Qt-free; the GUI's design map and benchmarks/sweep.py use it).

    steps = property_sweep(janus, N=64, mu=np.linspace(0.2, 1.5, 50), load_N=5.0)
    report = sweep_report(steps)       # Spearman of exact μ vs requested, worst relative error

Each step asks the Janus head for a latent code whose predicted μ = F(load)/load is the requested
value (times a correction), starting from (and anchored to) the previous step's code, so
consecutive designs are neighbours on one path (`JanusModel.walk`). The code is decoded (valid by
construction) and the design realised under each of `seeds` realisation seeds; the step keeps the
realisation whose μ is closest to the request (a design is the triple θ, N, seed, as for every
engine), and the correction (requested / realised) is applied again until the realised μ is within
a tolerance: the head predicts a design's expected law, the physics decides. The exact float64 μ
is reported, with the first seed's beside it and the head's own prediction.
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


@dataclass
class SweepProgress:
    """Progress of a sweep job (plain, picklable): steps done of all."""

    fraction: float
    iteration: int
    message: str


def property_sweep(janus, N: int, mu, load_N: float = 5.0, **options) -> list[SweepStep]:
    """`sweep_job` driven to its end (studio.jobs.drive); the same options."""
    from studio.jobs import drive

    return drive(sweep_job(janus, N, mu, load_N, **options), options.get("control"))


def sweep_job(janus, N: int, mu, load_N: float = 5.0, seeds=tuple(range(8)), start=None, rounds: int = 3,
              tolerance: float = 0.005, control=None):
    """A job (studio.jobs): designs whose effective friction coefficient F/P at `load_N` follows the
    values `mu`; yields SweepProgress after each step, checks `control` within steps, returns the steps.

    Each step walks from the previous step's code to one whose predicted μ is the request times a
    correction, decodes it and realises it under `seeds` (float32); the correction is then multiplied
    by requested / realised μ of the closest realisation, up to `rounds` times or until within
    `tolerance` (the head predicts the expected law; this closes the gap to the physics, one scalar
    per step, and carries over to the next step). `rounds=1` is the plain walk."""
    from studio.physics import simulate_batch, bucket_width

    j = load_index(load_N)
    load = LOAD_GRID_N[j]
    mu = np.asarray(mu, dtype=np.float64)
    seeds = np.array([int(s) for s in seeds])
    def realised_mu(theta):  # (P, 23) → μ (P, seeds), float32 physics
        rows = np.repeat(np.atleast_2d(theta), len(seeds), 0)
        laws = simulate_batch(rows, np.full(len(rows), int(N)), np.tile(seeds, len(rows) // len(seeds)),
                              width=bucket_width(int(N)))
        return np.asarray(laws, dtype=np.float64)[:, j].reshape(-1, len(seeds)) / load

    if start is None:  # the start: of the 16 bank codes predicted nearest, the one whose design realises it best
        candidates = janus.starts(np.full(LOAD_GRID_N.shape, mu[0] * load), N, 16,
                                  mask=np.arange(len(LOAD_GRID_N)) == j)
        miss = np.abs(realised_mu(janus.decode(candidates, N)) / mu[0] - 1.0).min(1)
        start = candidates[int(np.argmin(miss))]
    z_prev = np.asarray(start, dtype=np.float64)
    checkpoint = None if control is None else control.checkpoint  # walk calls it between iterations
    correction = 1.0
    codes, thetas, chosen, predicted = [], [], [], []
    for value in mu:
        for _ in range(max(1, int(rounds))):
            code, law_pred = janus.walk(j, [value * load * correction], N, start=z_prev, control=checkpoint)
            theta = janus.decode(code, N)[0]
            mu_real = realised_mu(theta)[0]
            k = int(np.argmin(np.abs(mu_real / value - 1.0)))
            if rounds == 1 or abs(mu_real[k] / value - 1.0) <= tolerance:
                break
            correction *= value / mu_real[k]
        z_prev = code[0]
        codes.append(code[0])
        thetas.append(theta)
        chosen.append(int(seeds[k]))
        predicted.append(float(law_pred[0, j] / load))
        yield SweepProgress(len(codes) / (len(mu) + 1), len(codes), f"μ = {value:.3g} at {load:g} N "
                                                                    f"(step {len(codes)} of {len(mu)})")
    theta = np.array(thetas)
    exact = simulate_many(theta, int(N), chosen)
    first = simulate_many(theta, int(N), np.full(len(theta), seeds[0]))
    return [SweepStep(requested_mu=float(mu[i]), z=codes[i], theta=theta[i], N=int(N), seed=chosen[i],
                      mu=float(exact[i, j] / load), mu_first_seed=float(first[i, j] / load),
                      mu_predicted=predicted[i], law_N=exact[i])
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
