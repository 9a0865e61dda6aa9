"""The one rule that turns points into a design target, and the target the studio edits (no Qt).

Every target reaches the engines through this module — a freehand stroke, clicked points,
handles dragged on a law, a preset, a measured CSV (studio.io.csv_target), a session or a
design file — so the studio, the command line and the files build the same law from the
same points:

    points (load_N, friction_N) ──resample_to_grid──▶ law on the load grid + mask
    base law + handle offsets   ──TargetSketch.law_N─▶ the edited law (non_decreasing if asked)
    TargetSketch.target(N)      ──────────────────────▶ studio.design.core.Target

The rule (resample_to_grid). Points sorted by load, one per load. Inside their load range
the law is their linear interpolation and `mask` is True. Outside it (`mask` False,
excluded from every error) the law is extrapolated only so the CVAE has a full condition:
each end continues as a power law through the end point, F = F_end · (P / P_end)^b, with b
the least-squares slope of log F against log P over the last (first) up to 5 points with
P > 0 and F > 0, clipped to [0, 1.5] (b = 1, a constant friction coefficient, when fewer
than 2 such points). With F_end > 0 and b ≥ 0 the extrapolation is positive and
non-decreasing in P. A law that is already on the grid (a CSV target, a session, a file)
is taken as it is: it is never extrapolated a second time.

The load grid is a parameter of the rule and of the sketch (default studio.physics.LOAD_GRID_N,
10·j/128 N): a target on another load range (0, P_max] lives on P_max·j/128
(studio.design.load_range), and `TargetSketch.at_max_load` moves a sketch to another range with
its shape kept (loads ×P_new/P_old, friction ×P_new/P_old: the exact similarity of physics.md §2).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.interpolate import PchipInterpolator

from studio.design import load_range
from studio.design.core import Target
from studio.errors import StudioError
from studio.physics import LOAD_GRID_N

DEFAULT_HANDLES = 8
# Strokes and dragged handles are kept above this fraction of P_max [N/N] (1e-4 N on 10 N): a target is
# positive everywhere, on every load range.
MIN_FRICTION_PER_LOAD = 1e-5
EXTRAPOLATION_POINTS = 5  # points at each end used to fit the extrapolating power law
EXTRAPOLATION_EXPONENT = (0.0, 1.5)  # b is clipped here: ≥ 0 keeps the law non-decreasing
SMOOTHING_WIDTH = 0.04  # of the stroke's load span: the Gaussian width of the stroke smoothing


class SketchError(StudioError, ValueError):
    """A stroke, point set or preset that cannot become a target (too few points, no load range)."""


# --------------------------------------------------------------------------------------------
# The rule


def specified_mask(load_N, load_grid_N=LOAD_GRID_N) -> np.ndarray:
    """True on the grid loads inside the points' load range (sorted loads): the specified part."""
    load = np.asarray(load_N, dtype=np.float64)
    return (load_grid_N >= load[0]) & (load_grid_N <= load[-1])


def resample_to_grid(load, friction, grid, mask, notes) -> np.ndarray:
    """Sorted points → the grid: linear inside the points' range (mask), a power law through each
    end point outside it (module docstring). What was extrapolated is appended to `notes`."""
    out = np.empty(grid.shape)
    out[mask] = np.interp(grid[mask], load, friction)
    below = grid < load[0]
    above = grid > load[-1]
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        if above.any():
            b = _end_exponent(load[-EXTRAPOLATION_POINTS:], friction[-EXTRAPOLATION_POINTS:])
            out[above] = friction[-1] * (grid[above] / load[-1]) ** b
            notes.append(f"extrapolated above {load[-1]:g} N as F ∝ P^{b:.2f} (excluded from errors)")
        if below.any():
            b = _end_exponent(load[:EXTRAPOLATION_POINTS], friction[:EXTRAPOLATION_POINTS])
            out[below] = friction[0] * (grid[below] / load[0]) ** b
            notes.append(f"extrapolated below {load[0]:g} N as F ∝ P^{b:.2f} (excluded from errors)")
    return out


def _end_exponent(load, friction) -> float:
    """Slope of log F against log P over the given points, clipped; 1 when it cannot be fitted."""
    keep = (load > 0) & (friction > 0)
    if keep.sum() < 2:
        return 1.0
    x, y = np.log(load[keep]), np.log(friction[keep])
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))) or np.ptp(x) == 0:
        return 1.0
    slope = float(np.polyfit(x, y, 1)[0])
    if not math.isfinite(slope):
        return 1.0
    return float(np.clip(slope, *EXTRAPOLATION_EXPONENT))


def non_decreasing(law_N) -> np.ndarray:
    """The smallest non-decreasing law above `law_N` (the studio's "Non-decreasing" toggle)."""
    return np.maximum.accumulate(np.asarray(law_N, dtype=np.float64))


# --------------------------------------------------------------------------------------------
# The edited target


@dataclass(frozen=True, eq=False)
class TargetSketch:
    """An editable target law F(P) [N] on a load grid: a base law plus handle drags.

    base_N: law before handle drags. mask: True where the user specified it.
    handle_idx: grid indices of the handles. handle_offset_N: their vertical drags [N].
    monotone: the law is made non-decreasing (`non_decreasing`). measured: (load_N, friction_N,
    outlier) of the record an imported target was made from, shown over the law and never edited
    (None for drawn targets). Immutable, so an undo history can hold snapshots.
    """

    base_N: np.ndarray
    mask: np.ndarray
    handle_idx: tuple[int, ...]
    handle_offset_N: tuple[float, ...]
    source: str = "sketch"
    note: str = ""
    monotone: bool = True
    load_grid_N: np.ndarray = field(default_factory=lambda: LOAD_GRID_N)
    # A preset's parameters as (name, value) pairs, as written on the canonical 10 N range ("name", "mu",
    # "exponent", "knee_N", "mu_after"); () for any other law. preset_parameters() reads them on the
    # sketch's own range, with_preset_parameters() remakes the preset with some changed.
    preset: tuple = ()
    measured: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    _law: np.ndarray | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_law(cls, law_N, mask=None, *, source="sketch", note="", monotone=True, handles: int = DEFAULT_HANDLES,
                 handle_load_N=None, load_grid_N=LOAD_GRID_N) -> "TargetSketch":
        """A law already on the grid (finite everywhere), taken as it is, with handles over its mask.

        handle_load_N: loads of the handles (a restored session's); default `handles` evenly spread.
        """
        law = np.array(law_N, dtype=np.float64)
        if law.shape != load_grid_N.shape:
            raise SketchError(f"a target law needs {load_grid_N.size} values, got shape {law.shape}")
        if not np.all(np.isfinite(law)):
            raise SketchError("a target law must be finite at every load of the grid")
        mask = np.ones(law.shape, bool) if mask is None else np.asarray(mask, bool)
        if not mask.any():
            raise SketchError(f"the target covers no load of the grid ({load_grid_N[0]:g}–{load_grid_N[-1]:g} N)")
        if handle_load_N is not None and len(handle_load_N):
            idx = np.unique(np.abs(np.asarray(handle_load_N, float)[:, None] - load_grid_N[None, :]).argmin(1))
        else:
            idx = handle_indices(mask, handles)
        idx = tuple(int(i) for i in idx)
        return cls(law, mask, idx, (0.0,) * len(idx), source, note, bool(monotone), load_grid_N)

    @classmethod
    def from_target(cls, target: Target, *, monotone: bool = False, handle_load_N=None) -> "TargetSketch":
        """An existing target (CSV, session, design file) as an editable sketch with the very same law."""
        return cls.from_law(target.friction_N, target.mask, source=target.source, note=target.note,
                            monotone=monotone, handle_load_N=handle_load_N, load_grid_N=target.load_N)

    @property
    def law_N(self) -> np.ndarray:
        """The target law F [N] on the grid: base + handle correction, non-decreasing if asked."""
        if self._law is None:
            law = self.base_N.copy()
            off = np.asarray(self.handle_offset_N, dtype=np.float64)
            if off.size and np.any(off != 0):
                grid = self.load_grid_N
                p = grid[list(self.handle_idx)]
                corr = PchipInterpolator(p, off, extrapolate=False)(grid) if off.size > 1 else \
                    np.full(grid.shape, off[0])
                corr = np.where(grid < p[0], off[0], corr)
                corr = np.where(grid > p[-1], off[-1], corr)
                law = np.maximum(law + corr, MIN_FRICTION_PER_LOAD * self.max_load_N)
            if self.monotone:
                law = non_decreasing(law)
            object.__setattr__(self, "_law", law)
        return self._law

    @property
    def handle_load_N(self) -> np.ndarray:
        return self.load_grid_N[list(self.handle_idx)]

    @property
    def handle_friction_N(self) -> np.ndarray:
        return self.law_N[list(self.handle_idx)]

    @property
    def specified_range_N(self) -> tuple[float, float]:
        """The smallest and largest grid load the user specified."""
        covered = np.flatnonzero(self.mask)
        return float(self.load_grid_N[covered[0]]), float(self.load_grid_N[covered[-1]])

    def with_handle(self, i: int, friction_N: float) -> "TargetSketch":
        """The sketch with handle i dragged so the law passes through friction_N at its load."""
        off = list(self.handle_offset_N)
        current = self.base_N[self.handle_idx[i]] + off[i]
        off[i] += max(float(friction_N), MIN_FRICTION_PER_LOAD * self.max_load_N) - current
        return replace(self, handle_offset_N=tuple(off), _law=None)

    def with_monotone(self, monotone: bool) -> "TargetSketch":
        return replace(self, monotone=bool(monotone), _law=None)

    def with_measured(self, load_N, friction_N, outlier=None) -> "TargetSketch":
        """The sketch with the measured points it was made from (shown over the law)."""
        load = np.asarray(load_N, dtype=np.float64)
        flags = np.zeros(load.shape, bool) if outlier is None else np.asarray(outlier, dtype=bool)
        return replace(self, measured=(load, np.asarray(friction_N, dtype=np.float64), flags))

    @property
    def max_load_N(self) -> float:
        """P_max: the largest load of its grid."""
        return float(self.load_grid_N[-1])

    def at_max_load(self, max_load_N: float) -> "TargetSketch":
        """The same target on the load range (0, max_load_N]: loads and forces ×P_new/P_old, shape kept."""
        new = load_range.check_max_load(max_load_N)
        if new == self.max_load_N:
            return self
        k = new / self.max_load_N
        measured = None if self.measured is None else (self.measured[0] * k, self.measured[1] * k, self.measured[2])
        return replace(self, base_N=self.base_N * k, handle_offset_N=tuple(v * k for v in self.handle_offset_N),
                       load_grid_N=load_range.load_grid(new), note=_scaled_note(self.note, self.max_load_N, new),
                       measured=measured, _law=None)

    def target(self, N: int) -> Target:
        """The design target for asperity count N (raises TargetError on an impossible law)."""
        return Target(self.law_N, N, mask=self.mask, source=self.source, note=self.note, max_load_N=self.max_load_N)


_SCALED = re.compile(r"(?:^|; )scaled from 0–([0-9.eE+-]+) N to 0–[0-9.eE+-]+ N$")


def _scaled_note(note: str, old_N: float, new_N: float) -> str:
    """The note of a target moved from (0, old] to (0, new]: its own words (a preset's formula, a CSV's
    notes) hold on the range it was made on, so that range is named once, and dropped on return to it."""
    m = _SCALED.search(note)
    origin = float(m.group(1)) if m else old_N
    base = note[:m.start()] if m else note
    if origin == new_N:
        return base
    return (f"{base}; " if base else "") + f"scaled from 0–{origin:g} N to 0–{new_N:g} N"


def handle_indices(mask: np.ndarray, count: int = DEFAULT_HANDLES) -> np.ndarray:
    """Grid indices of `count` handles spread evenly over the specified (masked-in) range."""
    covered = np.flatnonzero(mask)
    lo, hi = covered[0], covered[-1]
    count = max(1, min(count, hi - lo + 1))
    return np.unique(np.round(np.linspace(lo, hi, count)).astype(int))


def stroke_to_sketch(load_N, friction_N, *, monotone=True, smooth=True, source="sketch",
                     handles: int = DEFAULT_HANDLES, load_grid_N=LOAD_GRID_N) -> TargetSketch:
    """A freehand stroke (or clicked points) → target: sort by load, smooth, then the rule.

    Points outside the grid's load range are dropped; friction is kept above MIN_FRICTION_PER_LOAD·P_max.
    Points that share a load are averaged (a vertical stroke segment).
    """
    p = np.asarray(load_N, dtype=np.float64).ravel()
    f = np.asarray(friction_N, dtype=np.float64).ravel()
    top = float(load_grid_N[-1])
    keep = np.isfinite(p) & np.isfinite(f) & (p > 0) & (p <= top * 1.02)
    p, f = p[keep], np.maximum(f[keep], MIN_FRICTION_PER_LOAD * top)
    if p.size < 2:
        raise SketchError(f"a target needs at least 2 points between 0 and {top:g} N load; got {p.size}")
    order = np.argsort(p, kind="stable")
    p, f = p[order], f[order]
    up, inv = np.unique(p, return_inverse=True)
    uf = np.bincount(inv, weights=f) / np.bincount(inv)
    if up.size < 2:
        raise SketchError("the stroke has no extent along the load axis; draw from left to right")
    if smooth and up.size >= 5:
        uf = _smooth(up, uf)
    mask = specified_mask(up, load_grid_N)
    if not mask.any():  # a very short stroke between two grid points: take the nearest one
        mask[np.argmin(np.abs(load_grid_N - up.mean()))] = True
    law = resample_to_grid(up, uf, load_grid_N, mask, [])
    return TargetSketch.from_law(law, mask, source=source, monotone=monotone, handles=handles,
                                 load_grid_N=load_grid_N)


def _smooth(p: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Local-linear kernel smoothing along load (Gaussian width 4 % of the span): no bias at the ends."""
    return local_linear(p, f, max((p[-1] - p[0]) * SMOOTHING_WIDTH, 1e-9))


MAX_KERNEL_POINTS = 2000  # above this many points, kernel sums use binned data at as many evaluation points


def local_linear(x, y, width: float, at=None, weights=None, leave_one_out: bool = False) -> np.ndarray:
    """Local-linear kernel regression of y on x (Gaussian kernel of standard deviation `width`: one value, or
    one per evaluation point), at `at` (default: at x). weights: per-point weights (robustness).
    leave_one_out: each point's own value is left out of its fit (at=None only), so a point cannot hide its
    own deviation. Unlike a moving average it has no bias at the ends, and it is exact for straight lines
    (power laws, in log–log). Where a point has no neighbours within a few widths the fit falls back to the
    kernel-weighted mean. Long records (more than MAX_KERNEL_POINTS points) are summed in as many bins and
    at as many evaluation points, interpolated: bins and evaluation points are far finer than the kernel."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w_point = np.ones(x.shape) if weights is None else np.asarray(weights, dtype=np.float64)
    s0, s1, s2, t0, t1 = kernel_sums(x, y, width, x if at is None else np.asarray(at, dtype=np.float64), w_point)
    if leave_one_out and at is None:  # at its own load a point adds w·K(0) = w to s0 and w·y to t0, nothing else
        s0, t0 = s0 - w_point, t0 - w_point * y
    det = s0 * s2 - s1 * s1
    ok = (det > 1e-12 * np.maximum(s0 * s2, 1e-300)) & (s0 > 1e-12)
    mean = np.where(s0 > 1e-12, t0 / np.where(s0 > 1e-12, s0, 1.0), np.nan)
    return np.where(ok, (s2 * t0 - s1 * t1) / np.where(ok, det, 1.0), mean)


def kernel_sums(x, y, width, at, weights):
    """Σw·K, Σw·K·dx, Σw·K·dx², Σw·K·y, Σw·K·dx·y at each `at` (K Gaussian of `width`, dx = x − at)."""
    at = np.asarray(at, dtype=np.float64)
    width = np.broadcast_to(np.maximum(np.asarray(width, dtype=np.float64), 1e-12), at.shape)
    if at.size > MAX_KERNEL_POINTS:  # the sums are smooth in `at` on the kernel's scale: interpolate them
        grid = np.linspace(at.min(), at.max(), MAX_KERNEL_POINTS)
        order = np.argsort(at)
        grid_width = np.interp(grid, at[order], width[order])
        return tuple(np.interp(at, grid, s) for s in kernel_sums(x, y, grid_width, grid, weights))
    if x.size > MAX_KERNEL_POINTS:  # bins far narrower than the kernel: weighted sums per bin
        edges = np.linspace(x.min(), x.max(), MAX_KERNEL_POINTS + 1)
        b = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, MAX_KERNEL_POINTS - 1)
        w = np.bincount(b, weights=weights, minlength=MAX_KERNEL_POINTS)
        keep = w > 0
        xb = np.bincount(b, weights=weights * x, minlength=MAX_KERNEL_POINTS)[keep] / w[keep]
        yb = np.bincount(b, weights=weights * y, minlength=MAX_KERNEL_POINTS)[keep] / w[keep]
        x, y, weights = xb, yb, w[keep]
    out = np.empty((5, at.size))
    chunk = max(1, 2_000_000 // max(x.size, 1))  # rows of the kernel matrix held at once (~16 MB)
    for start in range(0, at.size, chunk):
        a = at[start:start + chunk]
        dx = x[None, :] - a[:, None]
        w = np.exp(-0.5 * (dx / width[start:start + chunk, None]) ** 2) * weights[None, :]
        wdx = w * dx
        out[:, start:start + chunk] = (w.sum(1), wdx.sum(1), (wdx * dx).sum(1), w @ y, wdx @ y)
    return tuple(out)


def robust_trend(x, y, width: float, iterations: int = 3, leave_one_out: bool = False):
    """(trend at x, robustness weights) of y on x: local-linear regression re-weighted with Tukey's
    bisquare on the residuals (Cleveland's robust LOWESS, 1979), so a few spikes get weight 0 and do not
    bend the trend. leave_one_out as in `local_linear` (the residuals then measure each point's deviation
    from its neighbours alone)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    weights = np.ones(x.shape)
    trend = local_linear(x, y, width, weights=weights, leave_one_out=leave_one_out)
    for _ in range(iterations):
        r = y - trend
        scale = 6.0 * np.nanmedian(np.abs(r))
        if not scale > 0:
            break
        u = np.clip(np.nan_to_num(r / scale, nan=1.0), -1.0, 1.0)
        weights = (1.0 - u * u) ** 2
        trend = local_linear(x, y, width, weights=weights, leave_one_out=leave_one_out)
    return trend, weights


TREND_WIDTH_PERCENT = 10.0  # ± % of load: the kernel of a target's own smooth trend (studio.io.record's default)
TREND_NEIGHBOURS = 6  # ... widened where fewer grid points than this lie within two widths


def target_trend(target: Target) -> np.ndarray:
    """The target's own smooth trend F [N] on its grid (NaN where not specified): the robust local-linear fit
    in log-load / log-friction that studio.io.record smooths records with. A design that follows it while
    missing the target itself is missing the target's noise or spikes, not a reachable law."""
    out = np.full(target.friction_N.shape, np.nan)
    m = target.mask
    if m.sum() < 8:
        out[m] = target.friction_N[m]
        return out
    x, y = np.log(target.load_N[m]), np.log(target.friction_N[m])
    # at low loads the grid is sparse in log-load: there the kernel spans the nearest TREND_NEIGHBOURS points
    nearest = np.sort(np.abs(x[:, None] - x[None, :]), axis=1)[:, min(TREND_NEIGHBOURS, x.size - 1)]
    trend, _ = robust_trend(x, y, np.maximum(math.log1p(TREND_WIDTH_PERCENT / 100.0), 0.5 * nearest))
    out[m] = np.exp(trend)
    return out


# --------------------------------------------------------------------------------------------
# Presets

PRESETS = ("linear", "power law", "bilinear")
_PRESET_KNEE = 4.0  # the bilinear preset's default knee [N] on the canonical 10 N range


def preset_sketch(name: str, *, mu: float = 0.3, exponent: float = 0.67, knee_N: float = _PRESET_KNEE,
                  mu_after: float | None = None, monotone: bool = True,
                  max_load_N: float = load_range.CANONICAL_MAX_LOAD_N) -> TargetSketch:
    """A ready-made law: 'linear' F = μP, 'power law' F = μ·P^n (P in N), 'bilinear' slope μ then μ_after,
    as written on the canonical 10 N range (knee_N on it); on another range (0, max_load_N] the same
    shape, scaled as a design would be (TargetSketch.at_max_load), so a preset follows the load range."""
    p = LOAD_GRID_N
    if not mu > 0:
        raise SketchError(f"preset {name!r}: friction coefficient μ must be > 0, got {mu}")
    if name == "linear":
        law, note = mu * p, f"F = {mu:g}·P"
    elif name == "power law":
        law, note = mu * p ** exponent, f"F = {mu:g}·P^{exponent:g}"
    elif name == "bilinear":
        after = mu * 0.4 if mu_after is None else float(mu_after)
        if not 0 < knee_N < p[-1]:
            raise SketchError(f"preset 'bilinear': the knee must lie inside the load range (0, {p[-1]:g} N) on "
                              f"the 10 N range, got {knee_N:g} N")
        if not (math.isfinite(after) and after >= 0):
            raise SketchError(f"preset 'bilinear': the slope after the knee must be ≥ 0, got {after}")
        law = np.where(p <= knee_N, mu * p, mu * knee_N + after * (p - knee_N))
        note = f"slope {mu:g} up to {knee_N:g} N, then {after:g}"
    else:
        raise SketchError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    sketch = TargetSketch.from_law(law, source=f"preset:{name}", note=note, monotone=monotone)
    params = {"linear": {}, "power law": {"exponent": exponent},
              "bilinear": {"knee_N": knee_N, "mu_after": mu * 0.4 if mu_after is None else float(mu_after)}}[name]
    sketch = replace(sketch, preset=(("name", name), ("mu", float(mu)),
                                     *((k, float(v)) for k, v in params.items())))
    if load_range.is_canonical(max_load_N):
        return sketch
    return sketch.at_max_load(max_load_N)


def preset_parameters(sketch: TargetSketch) -> dict:
    """The parameters of a preset sketch on its own load range ({} for any other law): "name", "mu",
    and "exponent" (power law) or "knee_N" [N, on the sketch's range] and "mu_after" (bilinear)."""
    params = dict(sketch.preset)
    if "knee_N" in params:
        params["knee_N"] *= sketch.max_load_N / load_range.CANONICAL_MAX_LOAD_N
    return params


def with_preset_parameters(sketch: TargetSketch, **changes) -> TargetSketch:
    """The same preset remade with some parameters changed (knee_N on the sketch's own range), on the same
    load range and with the same non-decreasing flag: e.g. the bilinear preset's knee and second slope."""
    params = preset_parameters(sketch)
    if not params:
        raise SketchError(f"the target ({sketch.source}) is not a preset: its parameters cannot be changed")
    params.update(changes)
    name = params.pop("name")
    if "knee_N" in params:
        params["knee_N"] *= load_range.CANONICAL_MAX_LOAD_N / sketch.max_load_N
    return preset_sketch(name, **params, monotone=sketch.monotone, max_load_N=sketch.max_load_N)
