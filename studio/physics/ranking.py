"""Ranking proposed designs against a target: the one path for the studio and the published figures.

The candidate engines (studio.design) rank a model's proposals with it, and the held-out model
evaluation (studio.models.evaluate, the README's figures) ranks the same way, so a published
best-of-K figure is what the studio does with K proposals. A proposal θ is realised with its seed
and simulated on the float32 fast path; since the law is linear in τ0 and B, with `fit` each
proposal gets the exact best (τ0, B) in the box for its own realisation (fit_tau0_B, no second
simulation); its error is the masked sMAPE [%] of that law (200, the maximum, where not finite).
Simulated FAST_BLOCK rows per call (studio.physics.realize.simulate_fast): one program per width.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from studio.physics.friction import fit_tau0_B
from studio.physics.metrics import smape
from studio.physics.realize import FAST_BLOCK, simulate_fast
from studio.physics.theta import THETA_SIZE
WORST_SMAPE = 200.0  # the largest sMAPE; given to laws that are not finite, so they rank last


@dataclass(frozen=True)
class Ranking:
    """Proposals scored against one target, in the order given (`order` lists them best first)."""

    theta: np.ndarray           # (P, 23): τ0 and B replaced by the exact fit when ranked with `fit`
    laws_N: np.ndarray          # (P, 128) float32-path laws of those θ [N]
    errors_percent: np.ndarray  # (P,) masked sMAPE of each law against the target
    order: np.ndarray           # (P,) indices, best first (stable for ties)


def errors_percent(laws_N, target_N, mask=None) -> np.ndarray:
    """Masked sMAPE [%] of laws (P, 128) against a target law (128,); WORST_SMAPE where not finite."""
    target = np.asarray(target_N, dtype=np.float64)[None, :]
    err = smape(np.asarray(laws_N, dtype=np.float64), target, mask=None if mask is None else np.asarray(mask)[None, :])
    return np.where(np.isfinite(err), err, WORST_SMAPE)


def rank(theta, n: int, seeds, target_N, mask=None, *, fit: bool = True, block: int = FAST_BLOCK) -> Ranking:
    """Score proposals θ (P, 23) with N asperities realised with `seeds` (P,) or one seed against a
    target law (128,) on the masked loads; with `fit`, τ0 and B solved exactly first (see the module)."""
    theta = np.asarray(theta, dtype=np.float64).reshape(-1, THETA_SIZE)
    laws = simulate_fast(theta, n, seeds, block=block)
    if fit:
        theta, laws = fit_tau0_B(theta, laws, target_N, mask)
    err = errors_percent(laws, target_N, mask)
    return Ranking(theta=theta, laws_N=laws, errors_percent=err, order=np.argsort(err, kind="stable"))
