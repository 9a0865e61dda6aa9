"""Ranking proposed designs against a target: the one path for the studio and the published figures.

The candidate engines (studio.design) rank a model's proposals with it, and the held-out model
evaluation (studio.models.evaluate, the README's figures) ranks the same way, so a published
best-of-K figure is what the studio does with K proposals. A proposal θ is realised with its seed
and simulated on the float32 fast path; since the law is linear in τ0 and B, with `fit` each
proposal gets the exact best (τ0, B) in the box for its own realisation (fit_tau0_B, no second
simulation); its error is the masked sMAPE [%] of that law (200, the maximum, where not finite).
Simulated FAST_BLOCK rows per call (studio.physics.realize.simulate_fast): one program per width.

Small-strain validity (issue 21): every ranked proposal also carries its largest d/R at the largest
load (`strain`, realize.strain_fast). With `limit` (HERTZ_LIMIT, on by default in the engines) the
ranking is by `scores`: the error plus, for a design over the limit, FEASIBILITY_PENALTY plus its
relative excess (feasibility: every valid design before every invalid one; the measured choice,
docs/design-engines.md), or only the relative excess ×100 (mode "penalty"). The final order of exact
designs is `preferred_order`: an invalid design never comes first when a valid one is within
PREFERENCE_MARGIN percentage points of it, whatever the constraint.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from studio.physics.friction import HERTZ_LIMIT, fit_tau0_B
from studio.physics.metrics import smape
from studio.physics.realize import FAST_BLOCK, simulate_fast, strain_fast
from studio.physics.theta import THETA_SIZE
WORST_SMAPE = 200.0  # the largest sMAPE; given to laws that are not finite, so they rank last
FEASIBILITY_PENALTY = WORST_SMAPE  # added to an invalid design's error: it ranks after every valid one
PREFERENCE_MARGIN = 0.1  # sMAPE points [%]: a valid design this close to an invalid one comes first
VALIDITY_MODES = ("feasibility", "penalty")


@dataclass(frozen=True)
class Ranking:
    """Proposals scored against one target, in the order given (`order` lists them best first)."""

    theta: np.ndarray           # (P, 23): τ0 and B replaced by the exact fit when ranked with `fit`
    laws_N: np.ndarray          # (P, 128) float32-path laws of those θ [N]
    errors_percent: np.ndarray  # (P,) masked sMAPE of each law against the target
    order: np.ndarray           # (P,) indices, best first (stable for ties; by `scores`)
    strain: np.ndarray | None = None  # (P,) largest d/R at the largest load (with `limit`)
    scores: np.ndarray | None = None  # (P,) errors with the validity term (`scores`), what `order` sorts


def errors_percent(laws_N, target_N, mask=None) -> np.ndarray:
    """Masked sMAPE [%] of laws (P, 128) against a target law (128,); WORST_SMAPE where not finite."""
    target = np.asarray(target_N, dtype=np.float64)[None, :]
    err = smape(np.asarray(laws_N, dtype=np.float64), target, mask=None if mask is None else np.asarray(mask)[None, :])
    return np.where(np.isfinite(err), err, WORST_SMAPE)


def scores(errors, strain, limit: float | None = HERTZ_LIMIT, mode: str = "feasibility") -> np.ndarray:
    """Errors [%] with the small-strain validity term (see the module); the errors unchanged without `limit`."""
    errors = np.asarray(errors, dtype=np.float64)
    if limit is None or strain is None:
        return errors
    if mode not in VALIDITY_MODES:
        raise ValueError(f"validity mode {mode!r}: choose one of {', '.join(VALIDITY_MODES)}")
    excess = np.maximum(0.0, np.nan_to_num(np.asarray(strain, dtype=np.float64), nan=np.inf) / limit - 1.0)
    excess = np.minimum(excess, 1e3)  # a bound, so an infinite strain still orders
    if mode == "penalty":
        return errors + 100.0 * excess
    return errors + np.where(excess > 0, FEASIBILITY_PENALTY + 100.0 * excess, 0.0)


def preferred_order(errors, valid, margin: float = PREFERENCE_MARGIN, *, require_valid: bool = False) -> np.ndarray:
    """Indices of designs best first: by error, a valid design ahead of an invalid one unless it is more
    than `margin` sMAPE points worse (so an invalid design is never first when a valid one is within
    `margin` of it); with `require_valid`, every valid design ahead of every invalid one."""
    errors = np.asarray(errors, dtype=np.float64)
    valid = np.asarray(valid, dtype=bool)
    if require_valid:
        return np.lexsort((errors, ~valid))
    # a hair of tolerance: "within 0.1 %" includes 0.1 % itself despite round-off; on ties the valid one leads
    key = np.where(valid, errors - margin - 1e-9, errors)
    return np.lexsort((~valid, key))


def rank(theta, n: int, seeds, target_N, mask=None, *, fit: bool = True, block: int = FAST_BLOCK,
         tau0_range=None, B_range=None, limit: float | None = None, mode: str = "feasibility") -> Ranking:
    """Score proposals θ (P, 23) with N asperities realised with `seeds` (P,) or one seed against a
    target law (128,) on the masked loads; with `fit`, τ0 and B solved exactly first (within
    `tau0_range`, `B_range` when given: the user's material); with `limit`, ordered by `scores`."""
    theta = np.asarray(theta, dtype=np.float64).reshape(-1, THETA_SIZE)
    laws = simulate_fast(theta, n, seeds, block=block)
    if fit:
        theta, laws = fit_tau0_B(theta, laws, target_N, mask, tau0_range=tau0_range, B_range=B_range)
    err = errors_percent(laws, target_N, mask)
    strain = strain_fast(theta, n, seeds, block=block) if limit is not None else None
    key = scores(err, strain, limit, mode)
    return Ranking(theta=theta, laws_N=laws, errors_percent=err, order=np.argsort(key, kind="stable"),
                   strain=strain, scores=key)
