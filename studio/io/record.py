"""A tribometer record before it becomes a target: branches, repeats, outliers, noise and smoothing.

studio.io.csv_target reads the rows; this module decides which rows make the target and how, and
says so in notes (the target's note, the import banner, the command line's JSON):

Branches
    The rows are taken in file order. The load's direction (rising, falling) is followed with a
    hysteresis of TURN_FRACTION of the load span, so load-cell noise is not a turn. Runs of at least
    3 rows rising are the loading branch, falling the unloading branch; a 2-row fall between two rising
    runs is the return to the start of another sweep (a load column that repeats). The turning row
    belongs to the branch that ends at it. `branch`: "loading" (default), "unloading", or "mean" (each
    branch's curve interpolated onto the loads both cover, averaged). Rows in no such order (a table
    typed by hand, or rising runs over separate load ranges: rows out of order, not repeated sweeps) are
    one branch, sorted by load.
Repeats
    Rows of a branch at the same load (within REPEAT_FRACTION of the largest load: several sweeps, or
    repeats written one after the other) are averaged; the note says how many at how many loads.
Outliers and noise (branches of at least QUALITY_MIN_POINTS rows)
    In log-load / log-friction (where a power law F = aP^b is a straight line) each row is compared with
    a robust local-linear trend of its neighbours (studio.design.targets.robust_trend: Gaussian kernel
    of ±`smoothing` % of the load but at least ±DETECTION_MIN_PERCENT %, bisquare re-weighting, the row
    itself left out). The noise is the
    robust scatter (1.4826·median |residual|, in % of friction); an outlier is a row more than
    OUTLIER_SIGMAS noise widths and OUTLIER_MIN_PERCENT % off that trend. Rows with fewer than
    MIN_NEIGHBOURS effective neighbours within the kernel are not judged (a lone point cannot be called
    an outlier). Outliers are named (line, load, % off).
Smoothing (why this method)
    The same robust local-linear fit in log–log, evaluated at each measured load: unlike a moving
    average or Savitzky–Golay it needs no even spacing, has no bias at the ends of the record and none
    for a power law whatever the width; the bisquare weights keep a spike from bending it, and outliers
    are left out first. Strength = the kernel width in % of the load (± `smoothing` %: at 5 N, rows
    within about ±0.5 N at 10 %). "auto" (default): DEFAULT_SMOOTHING_PERCENT when the record is measured-
    looking — noise above NOISE_FLAG_PERCENT or an outlier found — and off for clean curves (a simulated
    law, a hand-made table), which stay exactly as written. 0 (or "off"): the rows as they are, outliers
    kept and named.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from studio.errors import StudioError

BRANCHES = ("loading", "unloading", "mean")
DEFAULT_BRANCH = "loading"
DEFAULT_SMOOTHING_PERCENT = 10.0  # kernel width ± % of load: about 10–40 rows of a typical sweep per width
MAX_SMOOTHING_PERCENT = 100.0
TURN_FRACTION = 0.02    # of the load span: a reversal smaller than this is load noise, not a turn
REPEAT_FRACTION = 1e-6  # of the largest load: loads closer than this are one load measured again
MIN_BRANCH_ROWS = 3
QUALITY_MIN_POINTS = 8  # fewer rows than this: too few to tell noise from the law's shape
NOISE_FLAG_PERCENT = 1.5  # scatter above this is reported as noise (and turns "auto" smoothing on)
OUTLIER_SIGMAS = 5.0
OUTLIER_MIN_PERCENT = 10.0
MIN_NEIGHBOURS = 1.5
DETECTION_MIN_PERCENT = 20.0  # the outlier/noise kernel is at least this wide, so sparse low loads have neighbours
MAX_NAMED = 5  # outliers named one by one in a note; the rest are counted


class RecordError(StudioError, ValueError):
    """A branch or smoothing choice the record cannot satisfy (csv_target turns it into a CsvError)."""


@dataclass
class Record:
    """What a record's rows become. load_N/friction_N: the points the target goes through (sorted, one
    per load). measured_load_N/measured_friction_N/measured_line: the rows of the chosen branch(es),
    sorted by load; outlier: True for rows flagged as outliers. noise_percent: the scatter (None: too
    few rows to tell). smoothing_percent: the strength applied (0: none). branches: the branches found."""

    load_N: np.ndarray
    friction_N: np.ndarray
    measured_load_N: np.ndarray
    measured_friction_N: np.ndarray
    measured_line: np.ndarray
    outlier: np.ndarray
    noise_percent: float | None
    smoothing_percent: float
    branch: str
    branches: tuple[str, ...]
    notes: list[str] = field(default_factory=list)


def check_branch(branch) -> str:
    value = DEFAULT_BRANCH if branch is None else str(branch).strip().lower()
    if value not in BRANCHES:
        raise RecordError(f"branch {branch!r}: choose one of {', '.join(BRANCHES)}")
    return value


def check_smoothing(smoothing) -> float | None:
    """None for "auto", else the strength in % of load (0: off); RecordError for anything else."""
    if smoothing is None or (isinstance(smoothing, str) and smoothing.strip().lower() == "auto"):
        return None
    if isinstance(smoothing, str) and smoothing.strip().lower() in ("off", "none", "no"):
        return 0.0
    try:
        value = float(smoothing)
    except (TypeError, ValueError):
        raise RecordError(f"smoothing {smoothing!r}: give auto, off or a width in % of the load "
                          f"(0–{MAX_SMOOTHING_PERCENT:g})") from None
    if not (math.isfinite(value) and 0 <= value <= MAX_SMOOTHING_PERCENT):
        raise RecordError(f"smoothing {smoothing!r}: the width must be between 0 and {MAX_SMOOTHING_PERCENT:g} "
                          "% of the load (0 turns it off)")
    return value


def prepare_record(load_N, friction_N, lines, *, branch=DEFAULT_BRANCH, smoothing="auto") -> Record:
    """The points a target goes through, from rows in file order (loads ≥ 0, friction ≥ 0, finite)."""
    branch = check_branch(branch)
    strength = check_smoothing(smoothing)
    load = np.asarray(load_N, dtype=np.float64)
    friction = np.asarray(friction_N, dtype=np.float64)
    lines = np.asarray(lines)
    notes: list[str] = []
    found = _branches(load)
    if found is None:  # a table, not a record in time order
        rows = {"loading": np.arange(load.size)}
        if np.any(np.diff(load) < 0):
            notes.append("rows were not sorted by load; sorted them")
    else:
        rows = {name: np.unique(np.concatenate(runs)) for name, runs in found.items() if runs}
    names = tuple(rows)
    chosen = _choose(branch, rows, found, lines, notes)
    width_percent = max(DEFAULT_SMOOTHING_PERCENT if not strength else strength, DETECTION_MIN_PERCENT)
    curves, measured, noises, applied = [], [], [], 0.0
    for name in chosen:
        idx = rows[name]
        order = np.argsort(load[idx], kind="stable")
        idx = idx[order]
        label = f"{name} branch: " if len(chosen) > 1 else ""
        outlier, noise, off = _quality(load[idx], friction[idx], width_percent)
        smooth = strength if strength is not None else (
            DEFAULT_SMOOTHING_PERCENT if outlier.any() or (noise is not None and noise >= NOISE_FLAG_PERCENT) else 0.0)
        _quality_notes(label, load[idx], lines[idx], outlier, off, noise, smooth, notes)
        keep = ~outlier if smooth > 0 and (~outlier).sum() >= MIN_BRANCH_ROWS else np.ones(idx.size, bool)
        p, f, count = _average_repeats(load[idx][keep], friction[idx][keep])
        if count.max() > 1:
            repeated = count > 1
            notes.append(f"{label}averaged repeated measurements: {_range_text(count[repeated])} rows at each of "
                         f"{int(repeated.sum())} load(s)")
        if smooth > 0:
            f = _smooth(p, f, count, smooth)
            applied = smooth
        curves.append((p, f))
        measured.append((idx, outlier))
        noises.append(noise)
    if applied:
        notes.append(f"smoothed: robust local-linear fit in log-load, width ±{applied:g} % of the load "
                     "(smoothing 0 keeps the rows as measured)")
    if branch == "mean":
        p, f = _mean_of_branches(curves, notes)
    else:
        p, f = curves[0]
    idx = np.concatenate([m[0] for m in measured])
    outlier = np.concatenate([m[1] for m in measured])
    order = np.argsort(load[idx], kind="stable")
    known = [n for n in noises if n is not None]
    return Record(load_N=p, friction_N=f, measured_load_N=load[idx][order], measured_friction_N=friction[idx][order],
                  measured_line=lines[idx][order], outlier=outlier[order],
                  noise_percent=max(known) if known else None, smoothing_percent=applied, branch=branch,
                  branches=names, notes=notes)


# --------------------------------------------------------------------------------------------
# Branches


def _runs(load: np.ndarray) -> list[tuple[int, int, int]]:
    """(direction +1/−1/0, first row, last row) of each monotone run in file order; turns need a reversal
    of more than TURN_FRACTION of the load span, and the turning row ends one run and starts the next."""
    span = float(load.max() - load.min()) if load.size else 0.0
    tol = TURN_FRACTION * span
    runs, start, direction, extreme = [], 0, 0, 0
    for i in range(1, load.size):
        p = load[i]
        if direction == 0:
            if abs(p - load[start]) > tol:
                direction = 1 if p > load[start] else -1
                segment = load[start:i + 1]
                extreme = start + int(np.argmax(segment if direction > 0 else -segment))
                if direction * (p - load[extreme]) >= 0:
                    extreme = i
            continue
        if direction * (p - load[extreme]) >= 0:
            extreme = i
        elif direction * (load[extreme] - p) > tol:
            runs.append((direction, start, extreme))
            start, direction, extreme = extreme, -direction, i
    runs.append((direction, start, load.size - 1))
    return runs


def _branches(load: np.ndarray) -> dict[str, list[np.ndarray]] | None:
    """{"loading": [row indices of each rising run], "unloading": [... falling]} of a record in time order,
    or None when the rows are in no such order (runs shorter than MIN_BRANCH_ROWS other than the return
    between two sweeps, or a single run that does not move)."""
    runs = _runs(load)
    if len(runs) == 1 and runs[0][0] == 0:
        return None
    out: dict[str, list[np.ndarray]] = {"loading": [], "unloading": []}
    for k, (direction, a, b) in enumerate(runs):
        if b - a + 1 >= MIN_BRANCH_ROWS and direction != 0:
            # the turning row was measured on the way there: it belongs to the branch that ends at it
            turned = k > 0 and runs[k - 1][2] - runs[k - 1][1] + 1 >= MIN_BRANCH_ROWS
            out["loading" if direction > 0 else "unloading"].append(np.arange(a + turned, b + 1))
            continue
        between = 0 < k < len(runs) - 1 and runs[k - 1][0] == runs[k + 1][0] == -direction
        if not (b - a + 1 == 2 and between):
            return None
    if not out["loading"] and not out["unloading"]:
        return None
    present = [runs for runs in out.values() if runs]
    if len(present) == 1 and len(present[0]) > 1:  # runs one way over separate load ranges: rows out of order
        spans = sorted((load[r].min(), load[r].max()) for r in present[0])
        if all(b[0] > a[1] for a, b in zip(spans, spans[1:])):
            return None
    return out


def _choose(branch, rows, found, lines, notes) -> list[str]:
    """The branch names that make the target, with the notes that say which rows they are."""
    def where(name):
        runs = found[name]
        spans = ", ".join(f"{int(lines[r[0]])}–{int(lines[r[-1]])}" for r in runs)
        sweeps = f"{len(runs)} sweeps, " if len(runs) > 1 else ""
        return f"{sweeps}{rows[name].size} rows, lines {spans}"

    if found is None:
        if branch in ("unloading", "mean"):
            raise RecordError(f"branch {branch}: the rows are not a record in time order (loads do not rise "
                              "then fall), so there is no unloading branch; use branch loading")
        return ["loading"]
    both = "loading" in rows and "unloading" in rows
    if branch == "mean":
        if not both:
            only = next(iter(rows))
            raise RecordError(f"branch mean needs loading and unloading branches; the record has only a "
                              f"{only} branch ({where(only)})")
        notes.append(f"mean of the loading ({where('loading')}) and unloading ({where('unloading')}) branches")
        return ["loading", "unloading"]
    if branch in rows:
        other = "unloading" if branch == "loading" else "loading"
        if both:
            notes.append(f"{branch} branch ({where(branch)}); the {other} branch ({where(other)}) left out "
                         "(branch: loading, unloading or mean)")
        elif len(found[branch]) > 1:
            notes.append(f"{branch} branch: {where(branch)}")
        return [branch]
    only = next(iter(rows))
    if branch == "loading":  # loads written from high to low: the only branch there is
        notes.append(f"loads fall throughout ({where(only)}): no loading branch, so the unloading rows are used")
        return [only]
    raise RecordError(f"branch {branch}: the record has no {branch} branch; loads rise throughout ({where(only)})")


def _mean_of_branches(curves, notes):
    """Both branches' curves (sorted points) interpolated onto the loads both cover, averaged."""
    (p1, f1), (p2, f2) = curves
    lo, hi = max(p1[0], p2[0]), min(p1[-1], p2[-1])
    p = np.unique(np.concatenate([p1, p2]))
    p = p[(p >= lo) & (p <= hi)]
    if p.size < MIN_BRANCH_ROWS:
        raise RecordError(f"branch mean: the loading ({p1[0]:g}–{p1[-1]:g} N) and unloading ({p2[0]:g}–{p2[-1]:g} N) "
                          "branches share too few loads to average")
    a, b = np.interp(p, p1, f1), np.interp(p, p2, f2)
    gap = 100.0 * float(np.median((b - a) / a))
    notes.append(f"averaged over {p[0]:g}–{p[-1]:g} N, the loads both branches cover (unloading is "
                 f"{abs(gap):.1f} % {'below' if gap < 0 else 'above'} loading, median)")
    return p, 0.5 * (a + b)


# --------------------------------------------------------------------------------------------
# Repeats, outliers, noise, smoothing


def _average_repeats(load, friction):
    """(unique loads, mean friction, rows per load) of sorted rows; loads within REPEAT_FRACTION of the
    largest load are one load."""
    tol = REPEAT_FRACTION * max(float(load.max()), 1e-300) if load.size else 0.0
    new = np.concatenate([[True], np.diff(load) > tol]) if load.size else np.zeros(0, bool)
    group = np.cumsum(new) - 1
    count = np.bincount(group)
    return (np.bincount(group, weights=load) / count, np.bincount(group, weights=friction) / count,
            count)


def _log_width(percent: float) -> float:
    return math.log1p(percent / 100.0)


def _quality(load, friction, width_percent):
    """(outlier mask, noise in % or None, each row's fractional deviation from its neighbours' trend) of one
    branch's rows sorted by load (module docstring)."""
    outlier, off = np.zeros(load.size, bool), np.zeros(load.size)
    judged = (load > 0) & (friction > 0)
    if judged.sum() < QUALITY_MIN_POINTS:
        return outlier, None, off
    from studio.design.targets import robust_trend  # the one smoother (lazy: `--help` imports this module)

    x, y = np.log(load[judged]), np.log(friction[judged])
    h = _log_width(width_percent)
    trend, _ = robust_trend(x, y, h, leave_one_out=True)
    neighbours = _kernel_neighbours(x, h)
    residual = y - trend
    ok = (neighbours >= MIN_NEIGHBOURS) & np.isfinite(residual)
    if ok.sum() < QUALITY_MIN_POINTS:
        return outlier, None, off
    sigma = 1.4826 * float(np.median(np.abs(residual[ok])))
    bad = ok & (np.abs(residual) > max(OUTLIER_SIGMAS * sigma, math.log1p(OUTLIER_MIN_PERCENT / 100.0)))
    if bad.any():
        sigma = 1.4826 * float(np.median(np.abs(residual[ok & ~bad])))
    outlier[np.flatnonzero(judged)[bad]] = True
    off[judged] = np.expm1(residual)
    return outlier, 100.0 * sigma, off


def _kernel_neighbours(x, h):
    """Σ over the other rows of the Gaussian kernel weight: the effective number of neighbours of each row."""
    from studio.design.targets import kernel_sums

    return kernel_sums(x, np.zeros(x.shape), h, x, np.ones(x.shape))[0] - 1.0


def _quality_notes(label, load, lines, outlier, off, noise, smooth, notes):
    if outlier.any():
        where = np.flatnonzero(outlier)
        named = ", ".join(f"line {int(lines[i])} ({load[i]:.4g} N, {100 * off[i]:+.0f} %)" for i in where[:MAX_NAMED])
        more = f" and {where.size - MAX_NAMED} more" if where.size > MAX_NAMED else ""
        fate = "left out of the target" if smooth > 0 else "kept in the target: smoothing is off"
        notes.append(f"{label}{where.size} outlier(s) far off their neighbours' trend: {named}{more}; {fate}")
    if noise is not None and noise >= NOISE_FLAG_PERCENT:
        notes.append(f"{label}noisy record: scatter ≈ {noise:.1f} % of friction about the local trend"
                     + ("" if smooth > 0 else "; smoothing is off, so the target follows the noise"))


def _smooth(load, friction, count, percent):
    """The robust local-linear fit in log–log at each (unique) load; rows of zero load or friction unchanged."""
    out = friction.copy()
    pos = (load > 0) & (friction > 0)
    if pos.sum() < 3:
        return out
    from studio.design.targets import local_linear, robust_trend

    x, y = np.log(load[pos]), np.log(friction[pos])
    h = _log_width(percent)
    trend, weights = robust_trend(x, y, h)
    # the averaged points carry their row counts, so a load measured three times weighs three rows
    out[pos] = np.exp(local_linear(x, y, h, weights=weights * count[pos]))
    return out


def _range_text(values) -> str:
    lo, hi = int(values.min()), int(values.max())
    return f"{lo}" if lo == hi else f"{lo}–{hi}"
