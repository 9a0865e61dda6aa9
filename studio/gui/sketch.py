"""The target being edited, as plain data (no Qt): a law on the load grid plus draggable handles.

A `TargetSketch` is immutable so the undo stack can hold snapshots. Its law is the
base law (from a stroke, clicked points, a preset or a CSV) plus a smooth correction
interpolated between the handles the user dragged; with no drags the law is the base.
Grid points outside `mask` were not specified by the user: they are extrapolated (the
models need a full law) and shaded in the editor, and errors ignore them.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from scipy.interpolate import PchipInterpolator

from studio.design.core import Target
from studio.errors import StudioError
from studio.io.csv_target import resample_to_grid
from studio.physics import LOAD_GRID_N, MAX_LOAD_N

DEFAULT_HANDLES = 8
MIN_FRICTION_N = 1e-4  # a target must be positive everywhere


class SketchError(StudioError, ValueError):
    """A stroke, point set or preset that cannot become a target (too few points, no load range)."""


@dataclass(frozen=True, eq=False)
class TargetSketch:
    """An editable target law F(P) [N] on LOAD_GRID_N.

    base_N: (128,) law before handle drags. mask: (128,) True where the user specified it.
    handle_idx: grid indices of the handles. handle_offset_N: their vertical drags [N].
    """

    base_N: np.ndarray
    mask: np.ndarray
    handle_idx: tuple[int, ...]
    handle_offset_N: tuple[float, ...]
    source: str = "sketch"
    note: str = ""
    monotone: bool = True
    _law: np.ndarray | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_law(cls, law_N, mask=None, *, source="sketch", note="", monotone=True,
                 handles: int = DEFAULT_HANDLES) -> "TargetSketch":
        law = np.asarray(law_N, dtype=np.float64)
        if law.shape != LOAD_GRID_N.shape:
            raise SketchError(f"a target law needs {LOAD_GRID_N.size} values, got shape {law.shape}")
        mask = np.ones(law.shape, bool) if mask is None else np.asarray(mask, bool)
        if not mask.any():
            raise SketchError("the target covers no load of the grid (0–10 N)")
        law = extrapolate(np.maximum(law, MIN_FRICTION_N), mask)
        idx = tuple(int(i) for i in handle_indices(mask, handles))
        return cls(law, mask, idx, (0.0,) * len(idx), source, note, monotone)

    @property
    def law_N(self) -> np.ndarray:
        """The target law F [N] on the grid (base + handle correction, positive, monotone if asked)."""
        if self._law is None:
            law = self.base_N.copy()
            off = np.asarray(self.handle_offset_N, dtype=np.float64)
            if off.size and np.any(off != 0):
                p = LOAD_GRID_N[list(self.handle_idx)]
                corr = PchipInterpolator(p, off, extrapolate=False)(LOAD_GRID_N) if off.size > 1 else \
                    np.full(LOAD_GRID_N.shape, off[0])
                corr = np.where(LOAD_GRID_N < p[0], off[0], corr)
                corr = np.where(LOAD_GRID_N > p[-1], off[-1], corr)
                law = law + corr
            law = np.maximum(law, MIN_FRICTION_N)
            if self.monotone:
                law = np.maximum.accumulate(law)
            object.__setattr__(self, "_law", law)
        return self._law

    @property
    def handle_load_N(self) -> np.ndarray:
        return LOAD_GRID_N[list(self.handle_idx)]

    @property
    def handle_friction_N(self) -> np.ndarray:
        return self.law_N[list(self.handle_idx)]

    def with_handle(self, i: int, friction_N: float) -> "TargetSketch":
        """The sketch with handle i dragged so the law passes through friction_N at its load."""
        off = list(self.handle_offset_N)
        current = self.base_N[self.handle_idx[i]] + off[i]
        off[i] += max(float(friction_N), MIN_FRICTION_N) - current
        return replace(self, handle_offset_N=tuple(off), _law=None)

    def with_monotone(self, monotone: bool) -> "TargetSketch":
        return replace(self, monotone=bool(monotone), _law=None)

    def target(self, N: int) -> Target:
        """The design target for asperity count N (raises TargetError on an impossible law)."""
        return Target(self.law_N, N, mask=self.mask, source=self.source, note=self.note)

    def same_law(self, other: "TargetSketch | None") -> bool:
        return other is not None and np.array_equal(self.law_N, other.law_N) and \
            np.array_equal(self.mask, other.mask)


def handle_indices(mask: np.ndarray, count: int = DEFAULT_HANDLES) -> np.ndarray:
    """Grid indices of `count` handles spread evenly over the specified (masked-in) range."""
    covered = np.flatnonzero(mask)
    lo, hi = covered[0], covered[-1]
    count = max(1, min(count, hi - lo + 1))
    return np.unique(np.round(np.linspace(lo, hi, count)).astype(int))


def extrapolate(law_N: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Fill the grid outside the specified range: proportional to load below it, last slope above it."""
    law = np.array(law_N, dtype=np.float64)
    covered = np.flatnonzero(mask)
    lo, hi = covered[0], covered[-1]
    p = LOAD_GRID_N
    if lo > 0:
        law[:lo] = law[lo] * p[:lo] / p[lo]  # F ∝ P towards the origin keeps F > 0
    if hi < p.size - 1:
        back = max(lo, hi - 8)
        slope = (law[hi] - law[back]) / (p[hi] - p[back]) if hi > back else 0.0
        law[hi + 1:] = law[hi] + max(slope, 0.0) * (p[hi + 1:] - p[hi])
    return np.maximum(law, MIN_FRICTION_N)


def stroke_to_sketch(load_N, friction_N, *, monotone=True, smooth=True, source="sketch",
                     handles: int = DEFAULT_HANDLES) -> TargetSketch:
    """A freehand stroke (or clicked points) → target: sort by load, smooth, resample, extend.

    Resampling and the extension beyond the stroke are studio.io's (the same as a CSV target).

    Points outside 0–10 N load are dropped; friction below zero is clipped. The grid range
    between the smallest and largest stroke load is marked specified.
    """
    p = np.asarray(load_N, dtype=np.float64).ravel()
    f = np.asarray(friction_N, dtype=np.float64).ravel()
    keep = np.isfinite(p) & np.isfinite(f) & (p > 0) & (p <= MAX_LOAD_N * 1.02)
    p, f = p[keep], np.maximum(f[keep], MIN_FRICTION_N)
    if p.size < 2:
        raise SketchError(f"a target needs at least 2 points between 0 and {MAX_LOAD_N:g} N load; got {p.size}")
    order = np.argsort(p, kind="stable")
    p, f = p[order], f[order]
    # Average points that share a load (a vertical stroke segment).
    up, inv = np.unique(p, return_inverse=True)
    uf = np.bincount(inv, weights=f) / np.bincount(inv)
    if up.size < 2:
        raise SketchError("the stroke has no extent along the load axis; draw from left to right")
    if smooth and up.size >= 5:
        uf = _smooth(up, uf)
    mask = (LOAD_GRID_N >= up[0] - 1e-12) & (LOAD_GRID_N <= up[-1] + 1e-12)
    if not mask.any():  # a very short stroke between two grid points: take the nearest one
        mask[np.argmin(np.abs(LOAD_GRID_N - up.mean()))] = True
    if monotone:
        uf = np.maximum.accumulate(uf)
    # Outside the stroke the law is extended exactly as for a CSV target (for the models' condition).
    law = resample_to_grid(up, uf, LOAD_GRID_N, mask, [])
    return TargetSketch.from_law(law, mask, source=source, monotone=monotone, handles=handles)


def _smooth(p: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Local-linear kernel smoothing along load (Gaussian width 4 % of the span): no bias at the ends."""
    width = max((p[-1] - p[0]) * 0.04, 1e-9)
    w = np.exp(-0.5 * ((p[:, None] - p[None, :]) / width) ** 2)
    dx = p[None, :] - p[:, None]
    s0, s1, s2 = w.sum(1), (w * dx).sum(1), (w * dx * dx).sum(1)
    t0, t1 = w @ f, (w * dx) @ f
    det = s0 * s2 - s1 * s1
    ok = det > 1e-12 * np.maximum(s0 * s2, 1e-300)
    local = np.where(ok, (s2 * t0 - s1 * t1) / np.where(ok, det, 1.0), t0 / s0)
    return local


# --- presets ----------------------------------------------------------------
PRESETS = ("linear", "power law", "bilinear")


def preset_sketch(name: str, *, mu: float = 0.3, exponent: float = 0.67, knee_N: float = 4.0,
                  mu_after: float | None = None) -> TargetSketch:
    """A ready-made law: 'linear' F = μP, 'power law' F = μ·P^n (P in N), 'bilinear' slope μ then μ_after."""
    p = LOAD_GRID_N
    if not mu > 0:
        raise SketchError(f"preset {name!r}: friction coefficient μ must be > 0, got {mu}")
    if name == "linear":
        law, note = mu * p, f"F = {mu:g}·P"
    elif name == "power law":
        law, note = mu * p ** exponent, f"F = {mu:g}·P^{exponent:g}"
    elif name == "bilinear":
        after = mu * 0.4 if mu_after is None else mu_after
        law = np.where(p <= knee_N, mu * p, mu * knee_N + after * (p - knee_N))
        note = f"slope {mu:g} up to {knee_N:g} N, then {after:g}"
    else:
        raise SketchError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return TargetSketch.from_law(law, source=f"preset:{name}", note=note)
