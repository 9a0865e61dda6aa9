"""The design vector θ ∈ R^23 (spec/physics.md §3): names, units, bounds, normalisation.

This module is the single home of the θ layout and its box. Everything else
(data sampling, model heads, CMA-ES bounds, files, GUI) imports from here.
"""
from __future__ import annotations

from studio.errors import StudioError

import numpy as np

N_COMPONENTS = 4
PER_COMPONENT = 5
COMPONENT_SIZE = N_COMPONENTS * PER_COMPONENT  # 20: θ[:COMPONENT_SIZE] are the mixture components
THETA_SIZE = COMPONENT_SIZE + 3  # 23: then the material E*, τ0, B

MIN_ASPERITIES = 16
MAX_ASPERITIES = 256
MIN_RADIUS_MM = 0.05  # realised radii are clamped here (spec §4)

COMPONENT_FIELDS = ("w", "mu_h", "sd_h", "mu_R", "sd_R")
COMPONENT_UNITS = ("-", "mm", "mm", "mm", "mm")
COMPONENT_LOWER = (0.0, 0.0, 0.005, 0.25, 0.0)
COMPONENT_UPPER = (1.0, 1.0, 0.2, 4.0, 0.5)
MATERIAL_FIELDS = ("E_star", "tau0", "B")
MATERIAL_UNITS = ("MPa", "MPa", "-")
MATERIAL_LOWER = (1.0, 0.05, 0.0)
MATERIAL_UPPER = (10.0, 0.5, 0.5)

THETA_NAMES: tuple[str, ...] = tuple(
    f"{field}_{k + 1}" for k in range(N_COMPONENTS) for field in COMPONENT_FIELDS
) + MATERIAL_FIELDS
THETA_UNITS: tuple[str, ...] = COMPONENT_UNITS * N_COMPONENTS + MATERIAL_UNITS
THETA_LOWER = np.array(COMPONENT_LOWER * N_COMPONENTS + MATERIAL_LOWER, dtype=np.float64)
THETA_UPPER = np.array(COMPONENT_UPPER * N_COMPONENTS + MATERIAL_UPPER, dtype=np.float64)

# Index helpers (component k occupies 5k .. 5k+4).
W_IDX = np.arange(N_COMPONENTS) * PER_COMPONENT + 0
MU_H_IDX = W_IDX + 1
SD_H_IDX = W_IDX + 2
MU_R_IDX = W_IDX + 3
SD_R_IDX = W_IDX + 4
E_STAR_IDX, TAU0_IDX, B_IDX = COMPONENT_SIZE, COMPONENT_SIZE + 1, COMPONENT_SIZE + 2  # 20, 21, 22
MATERIAL_IDX = np.array([E_STAR_IDX, TAU0_IDX, B_IDX])  # θ[MATERIAL_IDX] = (E* [MPa], τ0 [MPa], B)


class ThetaError(StudioError, ValueError):
    """A θ vector that is malformed or outside the design box; the message names the entry."""


def normalise_weights(w):
    """Mixture weights normalised to sum 1; all zero means uniform (spec §3). Works on numpy or JAX arrays."""
    w = w * 1.0
    total = w.sum(axis=-1, keepdims=True)
    uniform = w * 0.0 + 1.0 / w.shape[-1]
    safe = total + (total == 0)
    return (total > 0) * (w / safe) + (total == 0) * uniform


def to_unit(theta: np.ndarray) -> np.ndarray:
    """Map θ from its physical box to [0, 1]^23."""
    return (np.asarray(theta, dtype=np.float64) - THETA_LOWER) / (THETA_UPPER - THETA_LOWER)


def from_unit(x: np.ndarray) -> np.ndarray:
    """Map [0, 1]^23 back to the physical box."""
    return THETA_LOWER + np.asarray(x, dtype=np.float64) * (THETA_UPPER - THETA_LOWER)


def canonical(theta: np.ndarray) -> np.ndarray:
    """θ with weights normalised and components sorted by mean height, highest first (spec §3).

    Accepts a single θ (23,) or a batch (..., 23). Sorting is stable, so equal
    heights keep their order.
    """
    theta = np.array(theta, dtype=np.float64, copy=True)
    comps = theta[..., :COMPONENT_SIZE].reshape(theta.shape[:-1] + (N_COMPONENTS, PER_COMPONENT))
    comps[..., 0] = normalise_weights(comps[..., 0])
    order = np.argsort(-comps[..., 1], axis=-1, kind="stable")
    comps = np.take_along_axis(comps, order[..., None], axis=-2)
    theta[..., :COMPONENT_SIZE] = comps.reshape(theta.shape[:-1] + (COMPONENT_SIZE,))
    return theta


def validate(theta, *, what: str = "theta") -> np.ndarray:
    """Return θ as float64 (23,) or raise ThetaError naming the offending entry and its box."""
    try:
        arr = np.asarray(theta, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ThetaError(f"{what}: not a numeric vector ({exc})") from None
    if arr.shape != (THETA_SIZE,):
        raise ThetaError(f"{what}: expected {THETA_SIZE} values, got shape {arr.shape}")
    for i, (value, lo, hi) in enumerate(zip(arr, THETA_LOWER, THETA_UPPER)):
        name, unit = THETA_NAMES[i], THETA_UNITS[i]
        if not np.isfinite(value):
            raise ThetaError(f"{what}[{i}] ({name}) is {value}, not a finite number")
        # A hair of tolerance so a value written to a file and read back stays valid.
        tol = 1e-9 * (hi - lo)
        if value < lo - tol or value > hi + tol:
            raise ThetaError(
                f"{what}[{i}] ({name}) = {value:g} {unit} is outside its box [{lo:g}, {hi:g}]"
            )
    return arr


def validate_asperity_count(n) -> int:
    """Return N as int or raise ThetaError explaining the allowed range."""
    if isinstance(n, (bool, np.bool_)) or int(n) != n:
        raise ThetaError(f"asperity count must be an integer, got {n!r}")
    n = int(n)
    if not MIN_ASPERITIES <= n <= MAX_ASPERITIES:
        raise ThetaError(f"asperity count N = {n} is outside [{MIN_ASPERITIES}, {MAX_ASPERITIES}]")
    return n
