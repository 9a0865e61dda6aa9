"""Metrics of spec/physics.md §5: sMAPE, functional and parameter error, summaries."""
from __future__ import annotations

import numpy as np

from studio.physics.theta import canonical


def smape(a, b, axis=-1, mask=None):
    """Symmetric mean absolute percentage error [%] (0–200) along `axis`.

    A term where both entries are zero counts 0. With `mask` (bool, broadcastable),
    only the masked-in terms are averaged. Works on numpy and JAX arrays alike
    (only arithmetic and `where` of the array's own namespace are used).
    """
    diff = abs(a - b)
    scale = (abs(a) + abs(b)) / 2
    zero = scale == 0
    term = diff / (scale + zero) * (1 - zero)
    if mask is None:
        return 100.0 * term.mean(axis=axis)
    mask = mask * 1.0
    return 100.0 * (term * mask).sum(axis=axis) / mask.sum(axis=axis)


def parameter_error(theta_a, theta_b) -> np.ndarray:
    """sMAPE over the 23 entries of θ, both in canonical order with weights normalised."""
    return smape(canonical(theta_a), canonical(theta_b))


def summary(errors) -> dict:
    """Mean, median and 95th percentile of a set of errors (the project's standard report)."""
    e = np.asarray(errors, dtype=np.float64)
    return {"mean": float(e.mean()), "median": float(np.median(e)), "p95": float(np.percentile(e, 95)),
            "count": int(e.size)}
