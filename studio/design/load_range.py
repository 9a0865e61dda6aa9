"""Any load range, exactly: a target on (0, P_max] is the canonical 10 N problem, scaled (no Qt).

physics.md §2 ("Other load ranges: exact similarity"): scaling every length of a design by λ
multiplies each asperity's load and contact area by λ², so its friction law becomes
λ²·F(P/λ²) with E*, τ0 and B unchanged. With λ = √(P_max / 10 N) a target on the grid
P_max·j/128 is the canonical problem on 10·j/128 N with every force divided by λ² = P_max/10 N:

    real target ──canonical_target──▶ canonical target (10 N) ──any engine──▶ canonical designs
    canonical designs ──at_load_range(design, P_max)──▶ real designs (lengths ×λ, forces ×λ²)

This module is the one place that maps between the two. Everything else asks it:
the engines (`scaled_engine`, wrapped around each registered engine), `Target` and `Design`
(studio.design.core: their grid and their realisation), the command line (`--max-load`), the
CSV reader (P_max from the largest load, `check_loads`), the design file (real θ, geometry and
grid, `max_load_N`), the exports and the studio's load-range field.

A Design keeps θ canonical (the models' and engines' coordinates, inside the Sobol box), and
`max_load_N` says at which load range its stored geometry and law are: asperities, layout,
band and law are real (what is simulated, shown, filed and fabricated). `real_theta` gives θ
in real millimetres (for files and people). Forces scale by P_max/10 N (not λ², which would
round through a square root), lengths by λ.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Callable, Iterator

import numpy as np

from studio.errors import StudioError
from studio.physics.friction import LOAD_GRID_N, MAX_LOAD_N, N_LOADS
from studio.physics.theta import MIN_RADIUS_MM, MU_H_IDX, MU_R_IDX, SD_H_IDX, SD_R_IDX

CANONICAL_MAX_LOAD_N = MAX_LOAD_N  # the load range the models were trained on (physics.md §2: P_j = 10·j/128 N)
MAX_LOAD_DECADES = 6.0  # loads of one target may span at most this many decades (the float64 law's headroom)
# Fabrication range of a realised radius and of a height relief: outside it a design is flagged, not refused.
FABRICATION_RANGE_MM = (0.05, 50.0)
LENGTH_IDX = np.sort(np.concatenate([MU_H_IDX, SD_H_IDX, MU_R_IDX, SD_R_IDX]))  # θ entries in mm


class LoadRangeError(StudioError, ValueError):
    """A load range that cannot be designed for: P_max not positive and finite, or loads over > 6 decades."""


# --------------------------------------------------------------------------------------------
# The range and its grid


def check_max_load(max_load_N, where: str = "load range") -> float:
    """P_max [N] as a float, or LoadRangeError naming `where` (a file and line, an option)."""
    try:
        value = float(max_load_N)
    except (TypeError, ValueError):
        raise LoadRangeError(f"{where}: the largest load must be a number of newtons, got {max_load_N!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise LoadRangeError(f"{where}: the largest load must be positive and finite, got {value:g} N")
    return value


def load_grid(max_load_N: float = CANONICAL_MAX_LOAD_N) -> np.ndarray:
    """The 128-point load grid P_max·j/128 [N] (at 10 N physics.LOAD_GRID_N itself; read-only use)."""
    if float(max_load_N) == CANONICAL_MAX_LOAD_N:
        return LOAD_GRID_N
    return float(max_load_N) * np.arange(1, N_LOADS + 1, dtype=np.float64) / N_LOADS


def force_scale(max_load_N: float) -> float:
    """λ² = P_max / 10 N: real force / canonical force."""
    return float(max_load_N) / CANONICAL_MAX_LOAD_N


def length_scale(max_load_N: float) -> float:
    """λ = √(P_max / 10 N): real length / canonical length."""
    return math.sqrt(force_scale(max_load_N))


def is_canonical(max_load_N: float) -> bool:
    return float(max_load_N) == CANONICAL_MAX_LOAD_N


def check_loads(load_N, lines=None, where: str = "loads") -> None:
    """Refuse loads (sorted, ≥ 0) whose positive values span more than MAX_LOAD_DECADES decades.

    lines: the file line of each load, named in the message. The float64 law resolves six decades
    of load on one design; beyond that the smallest loads are numerical noise of the largest."""
    load = np.asarray(load_N, dtype=np.float64)
    positive = np.flatnonzero(load > 0)
    if positive.size < 2:
        return
    lo, hi = positive[0], positive[-1]
    if load[hi] / load[lo] > 10.0 ** MAX_LOAD_DECADES:
        at = f", line {int(lines[lo])}" if lines is not None else ""
        raise LoadRangeError(f"{where}{at}: loads span {load[lo]:g}–{load[hi]:g} N, "
                             f"{math.log10(load[hi] / load[lo]):.1f} decades; one target covers at most "
                             f"{MAX_LOAD_DECADES:g} decades (split the curve or drop the smallest loads)")


# --------------------------------------------------------------------------------------------
# Geometry


def real_theta(theta, max_load_N: float) -> np.ndarray:
    """θ with its heights, spreads and radii [mm] scaled from the canonical range to P_max (material unchanged)."""
    out = np.array(theta, dtype=np.float64, copy=True)
    out[..., LENGTH_IDX] *= length_scale(max_load_N)
    return out


def canonical_theta(theta_real, max_load_N: float) -> np.ndarray:
    """The inverse of real_theta: a file's real θ back to the models' canonical θ."""
    out = np.array(theta_real, dtype=np.float64, copy=True)
    out[..., LENGTH_IDX] /= length_scale(max_load_N)
    return out


def radius_floor_mm(max_load_N: float) -> float:
    """The realisation's smallest tip radius at this load range (physics.md §4's 0.05 mm, scaled)."""
    return MIN_RADIUS_MM * length_scale(max_load_N)


def scale_asperities(asperities, factor: float):
    """Asperities with heights and radii multiplied by `factor` (components unchanged)."""
    if asperities is None or factor == 1.0:
        return asperities
    return dataclasses.replace(asperities, height_mm=np.asarray(asperities.height_mm, np.float64) * factor,
                               radius_mm=np.asarray(asperities.radius_mm, np.float64) * factor)


def scale_layout(layout, factor: float):
    """A studio.physics.layout.Layout with every length ×factor and its load range ×factor²."""
    if layout is None or factor == 1.0:
        return layout
    return dataclasses.replace(
        layout, x_mm=np.asarray(layout.x_mm, np.float64) * factor, y_mm=np.asarray(layout.y_mm, np.float64) * factor,
        base_level_mm=layout.base_level_mm * factor, flat_lowest_mm=layout.flat_lowest_mm * factor,
        max_load_N=layout.max_load_N * factor * factor, clearance_mm=layout.clearance_mm * factor,
        relief_mm=layout.relief_mm * factor, footprint_mm=tuple(v * factor for v in layout.footprint_mm),
        plate_mm=tuple(v * factor for v in layout.plate_mm))


def _times(values, factor: float):
    return None if values is None else np.asarray(values, dtype=np.float64) * factor


def at_load_range(design, max_load_N: float):
    """The design (studio.design.core.Design) with its geometry and law at load range P_max.

    θ stays canonical; asperities and layout ×λ, law and band ×λ² relative to the design's own
    range (design.max_load_N). Its error is unchanged: the target scales with it."""
    if design is None:
        return None
    new = check_max_load(max_load_N)
    old = float(design.max_load_N)
    if new == old:
        return design
    forces = new / old
    lengths = math.sqrt(forces)
    strain = design.known_strain
    out = dataclasses.replace(design, max_load_N=new, asperities=scale_asperities(design.asperities, lengths),
                              friction_N=_times(design.friction_N, forces), band_p05=_times(design.band_p05, forces),
                              band_p95=_times(design.band_p95, forces), layout=scale_layout(design.layout, lengths))
    if strain is not None:  # d/R is the same at every range (lengths ×λ, loads ×λ²): no second solve
        out.__dict__["_strain"] = (out._strain_key(), strain)
    return out


# --------------------------------------------------------------------------------------------
# Targets and engines


def canonical_target(target):
    """The canonical (10 N) problem of a target (studio.design.core.Target): forces ÷ λ², same mask."""
    if is_canonical(target.max_load_N):
        return target
    return dataclasses.replace(target, friction_N=target.friction_N / force_scale(target.max_load_N),
                               max_load_N=CANONICAL_MAX_LOAD_N)


def at_target_range(target, max_load_N: float):
    """The target with its load range changed to P_max and its shape kept: forces ×(P_max/P_old)."""
    new = check_max_load(max_load_N)
    if new == float(target.max_load_N):
        return target
    return dataclasses.replace(target, friction_N=target.friction_N * (new / float(target.max_load_N)),
                               max_load_N=new)


def scaled_engine(engine: Callable[..., Iterator]) -> Callable[..., Iterator]:
    """An engine (generator function `engine(target, *, start=None, ...)`) for targets on any load range.

    It runs the engine on the canonical target (a design to refine, `start`, taken to 10 N too)
    and gives every Progress's best and the returned designs back at the target's load range."""
    def run(target, **options):
        if is_canonical(target.max_load_N):
            return (yield from engine(target, **options))
        real = float(target.max_load_N)
        canon = canonical_target(target)
        if options.get("start") is not None:
            options["start"] = at_load_range(options["start"], CANONICAL_MAX_LOAD_N)
        job = engine(canon, **options)
        try:
            while True:
                try:
                    progress = next(job)
                except StopIteration as stop:
                    return [_real_design(d, real, target) for d in (stop.value or [])]
                yield _real_progress(progress, canon, target)
        finally:
            job.close()

    run.__name__ = getattr(engine, "__name__", "engine")
    run.__doc__ = engine.__doc__
    run.__wrapped__ = engine
    return run


def _real_design(design, max_load_N: float, target):
    real = at_load_range(design, max_load_N)
    if real is not None and real.friction_N is not None:
        real.error_percent = target.error(real.friction_N)
    return real


def _real_progress(progress, canon, target):
    """A Progress of the canonical job at the target's range (its best, and loads named in its message)."""
    best = progress.best
    if best is None:
        return progress
    message = progress.message
    if "at loads" in message and best.friction_N is not None:
        from studio.design.search import reach_report  # the engines' words, with the real loads

        real_best = _real_design(best, target.max_load_N, target)
        message = message.replace(reach_report(best, canon), reach_report(real_best, target))
        return dataclasses.replace(progress, best=real_best, message=message)
    return dataclasses.replace(progress, best=_real_design(best, target.max_load_N, target))


# --------------------------------------------------------------------------------------------
# Fabrication


def fabrication_warnings(height_mm, radius_mm) -> list[str]:
    """Lines for the user when radii or the height relief leave FABRICATION_RANGE_MM (flagged, not refused)."""
    lo, hi = FABRICATION_RANGE_MM
    radius = np.asarray(radius_mm, dtype=np.float64)
    height = np.asarray(height_mm, dtype=np.float64)
    out = []
    small, large = int(np.sum(radius < lo)), int(np.sum(radius > hi))
    if small:
        out.append(f"{small} of {radius.size} tip radii are under {lo * 1e3:g} µm (smallest "
                   f"{radius.min() * 1e3:.3g} µm): finer than most moulds and printers make")
    if large:
        out.append(f"{large} of {radius.size} tip radii are over {hi:g} mm (largest {radius.max():.3g} mm)")
    relief = float(np.ptp(height)) if height.size else 0.0
    if height.size > 1 and 0 < relief < lo:
        out.append(f"the summits differ in height by {relief * 1e3:.3g} µm only, under {lo * 1e3:g} µm: "
                   "within a fabrication tolerance")
    elif relief > hi:
        out.append(f"the summits differ in height by {relief:.3g} mm, over {hi:g} mm")
    return out


__all__ = ["CANONICAL_MAX_LOAD_N", "FABRICATION_RANGE_MM", "LoadRangeError", "MAX_LOAD_DECADES", "at_load_range",
           "at_target_range", "canonical_target", "canonical_theta", "check_loads", "check_max_load",
           "fabrication_warnings", "force_scale", "is_canonical", "length_scale", "load_grid", "radius_floor_mm",
           "real_theta", "scale_asperities", "scale_layout", "scaled_engine"]
