"""Will the part give the promised law? Boundary-element validation of a design's fabrication layout.

    validate_layout(...)  generator: ValidationProgress per step, returns a Validation
    find_spacing(...)     generator: the smallest clearance whose layout passes, returns a SpacingSearch

Both are jobs in the engines' sense (studio/design/core.py): they yield plain progress objects
and call `control.checkpoint()` between loads, so a driver can pause and cancel them (Cancelled
propagates) and the GUI can run them as background jobs. No Qt.

The comparison. The laid-out surface (studio.physics.contact) is solved as one elastic body at K
loads P_j = P_max·j/K; its contact area A_BEM gives F_BEM = τ0·A_BEM + B·P, beside the
independent-asperity law F_ind = τ0·A_ind + B·P at the same loads. interaction_error_percent is
sMAPE(F_BEM, F_ind) over the K loads (studio.physics.smape), per-load terms beside it. A grid
check re-solves the lowest, middle and largest load on cells CONVERGENCE_FACTOR times coarser
and reports the largest change of F there.

The spacing search. Interaction falls off slowly (a contact pushes its neighbours down by
P/(π·E*·r)), so on a soft, crowded design the needed spacing can be many millimetres. The search
walks a ladder of clearances (doubling from the layout's) with the first-order interaction model
(estimated_interaction_error: the neighbours' push moves the loads and reshapes each contact;
milliseconds per rung), takes the first rung that
model puts within FIRST_ORDER_SAFETY × tolerance, and then lets the BEM decide: up the ladder
while it fails, down (and one step between rungs) while it passes. Only BEM results count.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from studio.design.core import JobControl
from studio.errors import StudioError
from studio.physics import smape
from studio.physics.contact import (
    CELLS_PER_CONTACT_RADIUS,
    DEFAULT_BUDGET_CELLS,
    INTERACTION_ALLOWANCE,
    ContactError,
    EdgeContactError,
    GridBudgetError,
    Interface,
    choose_grid,
    contact_library_versions,
    independent_contacts,
    solve_at,
)
from studio.physics.layout import DEFAULT_MAX_LOAD_N, Layout, plan_layout

DEFAULT_LOADS = 16
DEFAULT_TOLERANCE_PERCENT = 1.0
MAX_LOADS = 128
CONVERGENCE_FACTOR = 1.5
# The grid check passes when F changes by less than this share of the tolerance on the coarser cells;
# the validated grid's own error is smaller (errors fall with the cell: 1.5x coarser cells err ~2x more).
CONVERGENCE_SHARE = 0.5
FIRST_ORDER_SAFETY = 0.8  # the estimate gave 93-104 % of the BEM's error on 20 layouts (benchmarks/interaction_guess.py)
MAX_CLEARANCE_MM = 51.2  # top of the spacing ladder (0.05 mm doubled ten times)
METHOD = ("BEM: ContactMechanics FreeFFTElasticHalfSpace (free boundaries) + constrained conjugate gradients "
          "at fixed load; Hertz-paraboloid caps; area 3P/(2p0) per contact patch")


class ValidationError(StudioError, ValueError):
    """A validation that cannot run as asked (no layout, bad loads or tolerance)."""


@dataclass
class ValidationProgress:
    """One step of a validation or spacing search (plain data; the GUI turns it into a signal)."""

    stage: str  # "solve", "grid check", "spacing"
    step: int
    steps: int
    load_N: float | None
    elapsed_s: float
    message: str = ""

    @property
    def fraction(self) -> float:
        return self.step / max(self.steps, 1)


@dataclass(eq=False)  # holds arrays
class PressureMap:
    """The BEM contact pressure at one validated load, for display (not stored in design files).

    pressure_MPa (nx, ny) float32 on `grid` (studio.physics.contact.Grid: cell (i, j) is centred at
    x0 + (i + ½)·cell, y0 + (j + ½)·cell); independent_radius_mm (N,): each asperity's Hertz contact
    radius at this load in the independent-asperity model (0: not touching), to draw beside it.
    """

    load_N: float
    grid: object
    pressure_MPa: np.ndarray
    independent_radius_mm: np.ndarray


@dataclass(eq=False)  # holds arrays: compare fields, not objects
class Validation:
    """The BEM law of one laid-out design beside its independent-asperity law, and how it was solved.

    Per load (K,): load_N, friction_bem_N, friction_independent_N, area_bem_mm2,
    area_independent_mm2, area_cells_mm2 (cell counting, for reference), error_percent (sMAPE
    term), flat_bem_mm, cell_mm, grid_shape (K, 2), iterations. Per load and asperity (K, N):
    asperity_load_N, asperity_area_mm2.
    """

    loads_N: np.ndarray
    friction_bem_N: np.ndarray
    friction_independent_N: np.ndarray
    area_bem_mm2: np.ndarray
    area_independent_mm2: np.ndarray
    area_cells_mm2: np.ndarray
    error_percent: np.ndarray
    flat_bem_mm: np.ndarray
    cell_mm: np.ndarray
    grid_shape: np.ndarray
    iterations: np.ndarray
    asperity_load_N: np.ndarray
    asperity_area_mm2: np.ndarray
    interaction_error_percent: float
    tolerance_percent: float
    grid_change_percent: float
    clearance_mm: float
    max_load_N: float
    x_mm: np.ndarray  # the layout validated
    y_mm: np.ndarray
    elapsed_s: float
    cells_per_radius: float = CELLS_PER_CONTACT_RADIUS
    libraries: dict = field(default_factory=dict)
    method: str = METHOD
    notes: list[str] = field(default_factory=list)
    created: str = ""
    pressure_maps: list[PressureMap] = field(default_factory=list)  # per load when asked (keep_pressure)

    @property
    def passed(self) -> bool:
        return bool(self.interaction_error_percent <= self.tolerance_percent)

    @property
    def grid_converged(self) -> bool:
        return bool(self.grid_change_percent <= CONVERGENCE_SHARE * self.tolerance_percent)

    def matches_layout(self, x_mm, y_mm) -> bool:
        """True when this validation was made for the layout (x_mm, y_mm) (else it is stale)."""
        x, y = np.asarray(x_mm, dtype=np.float64), np.asarray(y_mm, dtype=np.float64)
        return x.shape == self.x_mm.shape and bool(np.allclose(x, self.x_mm, atol=1e-9) and
                                                    np.allclose(y, self.y_mm, atol=1e-9))

    def summary(self) -> dict:
        """The figures a user reads first (the `validate` command's JSON line)."""
        largest = int(np.argmax(self.grid_shape.prod(axis=1)))
        return {"interaction_error_percent": round(float(self.interaction_error_percent), 4),
                "tolerance_percent": float(self.tolerance_percent), "passed": self.passed,
                "worst_load_N": float(self.loads_N[int(np.argmax(self.error_percent))]),
                "worst_load_error_percent": round(float(np.max(self.error_percent)), 4),
                "loads": int(self.loads_N.size), "max_load_N": float(self.max_load_N),
                "grid": {"largest": [int(v) for v in self.grid_shape[largest]],
                         "cell_mm_min": float(np.min(self.cell_mm)), "cell_mm_max": float(np.max(self.cell_mm)),
                         "change_percent": round(float(self.grid_change_percent), 4),
                         "converged": self.grid_converged},
                "clearance_mm": float(self.clearance_mm), "elapsed_s": round(float(self.elapsed_s), 2)}


@dataclass
class SpacingSearch:
    """Result of find_spacing: the layout chosen and its validation, and every rung tried."""

    layout: Layout
    validation: Validation | None
    reached: bool
    tried: list[dict]  # {"clearance_mm", "first_order_percent", "bem_percent" (None if not solved), "note"}
    message: str


def validation_loads(count: int = DEFAULT_LOADS, max_load_N: float = DEFAULT_MAX_LOAD_N) -> np.ndarray:
    """K loads P_max·j/K, j = 1..K [N] (the model's grid when K = 128)."""
    if isinstance(count, bool) or int(count) != count or not 1 <= int(count) <= MAX_LOADS:
        raise ValidationError(f"number of loads must be a whole number from 1 to {MAX_LOADS}, got {count!r}")
    if not (np.isfinite(max_load_N) and max_load_N > 0):
        raise ValidationError(f"the largest load must be a finite force > 0 N, got {max_load_N!r}")
    return float(max_load_N) * np.arange(1, int(count) + 1) / int(count)


def validate_layout(height_mm, radius_mm, layout: Layout, E_star_MPa: float, tau0_MPa: float, B: float, *,
                    loads: int = DEFAULT_LOADS, tolerance_percent: float = DEFAULT_TOLERANCE_PERCENT,
                    control: JobControl | None = None, budget_cells: int = DEFAULT_BUDGET_CELLS,
                    cells_per_radius: float = CELLS_PER_CONTACT_RADIUS, grid_check: bool = True,
                    keep_pressure: bool = False) -> Iterator[ValidationProgress]:
    """Generator: solve the laid-out design at `loads` loads up to the layout's max load; returns a Validation.

    keep_pressure: the result also holds each load's pressure map (`pressure_maps`, float32; the
    studio draws them).

    Raises ValidationError / ContactError (GridBudgetError, SolverError) with one-line messages,
    and Cancelled when `control` is cancelled (between loads).
    """
    import datetime as _dt

    t0 = time.perf_counter()
    tolerance = _checked_tolerance(tolerance_percent)
    if layout is None:
        raise ValidationError("the design has no fabrication layout to validate")
    interface = Interface.of(height_mm, radius_mm, layout.x_mm, layout.y_mm, E_star_MPa)
    load_grid = validation_loads(loads, layout.max_load_N)
    check = sorted({0, load_grid.size // 2, load_grid.size - 1}) if grid_check else []
    steps = load_grid.size + len(check)
    # Every grid first: a layout over the budget is refused before any solve.
    grids = [choose_grid(interface, p, cells_per_radius=cells_per_radius, budget_cells=budget_cells)
             for p in load_grid]
    depth_ind, _, area_ind = independent_contacts(interface, load_grid)
    solutions = []
    for j, (load, grid) in enumerate(zip(load_grid, grids)):
        if control is not None:
            control.checkpoint()
        yield ValidationProgress("solve", j, steps, float(load), time.perf_counter() - t0,
                                 f"solving {load:g} N on a {grid.shape[0]} x {grid.shape[1]} grid")
        try:
            solutions.append(solve_at(interface, load, grid))
        except EdgeContactError:  # interaction took the flat lower than the grid allowed for: wider, once
            grids[j] = choose_grid(interface, load, cells_per_radius=cells_per_radius, budget_cells=budget_cells,
                                   allowance=4 * INTERACTION_ALLOWANCE)
            solutions.append(solve_at(interface, load, grids[j]))
    change = 0.0
    for k, j in enumerate(check):
        if control is not None:
            control.checkpoint()
        coarse_grid = grids[j].coarser(CONVERGENCE_FACTOR)
        yield ValidationProgress("grid check", load_grid.size + k, steps, float(load_grid[j]),
                                 time.perf_counter() - t0, f"re-solving {load_grid[j]:g} N on cells "
                                 f"{CONVERGENCE_FACTOR:g}x coarser")
        coarse = solve_at(interface, load_grid[j], coarse_grid)
        fine_F = tau0_MPa * solutions[j].contact_area_mm2 + B * load_grid[j]
        coarse_F = tau0_MPa * coarse.contact_area_mm2 + B * load_grid[j]
        change = max(change, 100.0 * abs(coarse_F - fine_F) / fine_F)
    area_bem = np.array([s.contact_area_mm2 for s in solutions])
    f_bem = tau0_MPa * area_bem + B * load_grid
    f_ind = tau0_MPa * area_ind.sum(axis=1) + B * load_grid
    per_load = smape(f_bem[:, None], f_ind[:, None], axis=-1)
    notes = sorted({n for s in solutions for n in s.notes})
    result = Validation(
        loads_N=load_grid, friction_bem_N=f_bem, friction_independent_N=f_ind, area_bem_mm2=area_bem,
        area_independent_mm2=area_ind.sum(axis=1), area_cells_mm2=np.array([s.cell_area_mm2 for s in solutions]),
        error_percent=np.asarray(per_load, dtype=np.float64), flat_bem_mm=np.array([s.flat_mm for s in solutions]),
        cell_mm=np.array([g.cell_mm for g in grids]), grid_shape=np.array([g.shape for g in grids], dtype=np.int64),
        iterations=np.array([s.iterations for s in solutions], dtype=np.int64),
        asperity_load_N=np.stack([s.asperity_load_N for s in solutions]),
        asperity_area_mm2=np.stack([s.area_mm2 for s in solutions]),
        interaction_error_percent=float(smape(f_bem, f_ind)), tolerance_percent=tolerance,
        grid_change_percent=float(change), clearance_mm=float(layout.clearance_mm),
        max_load_N=float(layout.max_load_N), x_mm=np.array(layout.x_mm, dtype=np.float64),
        y_mm=np.array(layout.y_mm, dtype=np.float64), elapsed_s=time.perf_counter() - t0,
        cells_per_radius=float(cells_per_radius), libraries=contact_library_versions(), notes=notes,
        created=_dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"))
    if keep_pressure:
        radius_ind = np.sqrt(interface.radius_mm[None, :] * depth_ind)
        result.pressure_maps = [PressureMap(float(p), s.grid, s.pressure_MPa.astype(np.float32), r)
                                for p, s, r in zip(load_grid, solutions, radius_ind)]
    if grid_check and not result.grid_converged:
        result.notes.append(f"on cells {CONVERGENCE_FACTOR:g}x coarser F changes by {change:.2f} %, more than "
                            f"{CONVERGENCE_SHARE:g} of the tolerance: refine the grid (cells per contact radius)")
    yield ValidationProgress("solve", steps, steps, None, result.elapsed_s,
                             f"interaction error {result.interaction_error_percent:.3f} %")
    return result


def validate_design(design, layout: Layout, **options) -> Iterator[ValidationProgress]:
    """validate_layout for a studio.design.Design (its realised asperities at its load range, and material)."""
    a = design.real_asperities()
    E_star, tau0, B = design_material(design.theta)
    return (yield from validate_layout(a.height_mm, a.radius_mm, layout, E_star, tau0, B, **options))


def find_spacing(height_mm, radius_mm, E_star_MPa: float, tau0_MPa: float, B: float, *,
                 max_load_N: float = DEFAULT_MAX_LOAD_N, start_clearance_mm: float | None = None,
                 loads: int = DEFAULT_LOADS, tolerance_percent: float = DEFAULT_TOLERANCE_PERCENT,
                 control: JobControl | None = None, budget_cells: int = DEFAULT_BUDGET_CELLS,
                 cells_per_radius: float = CELLS_PER_CONTACT_RADIUS, keep_pressure: bool = False
                 ) -> Iterator[ValidationProgress]:
    """Generator: the smallest clearance (on a doubling ladder, refined once) whose BEM law is within tolerance.

    Returns a SpacingSearch (keep_pressure: its validation holds the pressure maps). When no rung
    within MAX_CLEARANCE_MM and the grid budget passes, `reached` is False and the layout is the best
    one the BEM could solve.
    """
    t0 = time.perf_counter()
    tolerance = _checked_tolerance(tolerance_percent)
    found = yield from first_order_clearance(height_mm, radius_mm, E_star_MPa, tau0_MPa, B, max_load_N=max_load_N,
                                             start_clearance_mm=start_clearance_mm, loads=loads,
                                             tolerance_percent=tolerance, control=control)
    ladder, layouts, first, guess = found.ladder, found.layouts, found.errors, found.index  # guess: a rung
    options = dict(loads=loads, tolerance_percent=tolerance, control=control, budget_cells=budget_cells,
                   cells_per_radius=cells_per_radius, keep_pressure=keep_pressure)
    bem, results = {}, {}

    def run(k):  # BEM at rung k; None when the grid budget refuses it
        c = ladder[k]
        if c not in bem:
            try:
                results[c] = yield from validate_layout(height_mm, radius_mm, layouts.get(c) or _layout_at(c),
                                                        E_star_MPa, tau0_MPa, B, grid_check=False, **options)
                bem[c] = results[c].interaction_error_percent
            except GridBudgetError as exc:
                bem[c] = None
                results[c] = str(exc)
        return bem[c]

    def _layout_at(c):
        layouts[c] = plan_layout(height_mm, radius_mm, E_star_MPa, max_load_N, clearance_mm=c)
        return layouts[c]

    k = guess
    error = yield from run(k)
    while error is None and k > 0:  # over the grid budget: the largest rung the BEM can solve
        k -= 1
        error = yield from run(k)
    while error is not None and error > tolerance and k + 1 < len(ladder):
        k += 1
        error = yield from run(k)
    passing = [c for c, e in bem.items() if e is not None and e <= tolerance]
    if passing:
        best = min(passing)
        k = ladder.index(best)
        while k > 0 and ladder[k - 1] not in bem:  # walk down while the BEM still passes
            if (yield from run(k - 1)) is None or bem[ladder[k - 1]] > tolerance:
                break
            k -= 1
        best = min(c for c, e in bem.items() if e is not None and e <= tolerance)
        below = [c for c, e in bem.items() if c < best and (e is None or e > tolerance)]
        if below:  # one step between the last failing rung and the first passing one
            between = float(np.sqrt(max(below) * best))
            ladder.append(between)
            layouts[between] = plan_layout(height_mm, radius_mm, E_star_MPa, max_load_N, clearance_mm=between)
            e = yield from run(len(ladder) - 1)
            if e is not None and e <= tolerance:
                best = between
        chosen, reached = best, True
        message = f"clearance {best:g} mm keeps the BEM law within {tolerance:g} % ({bem[best]:.3f} %)"
    else:
        solved = {c: e for c, e in bem.items() if e is not None}
        reached = False
        if solved:
            chosen = min(solved, key=solved.get)
            message = (f"no clearance up to {max(bem):g} mm within the grid budget keeps the BEM law within "
                       f"{tolerance:g} %; the best solved, {chosen:g} mm, gives {solved[chosen]:.3f} %")
        else:
            chosen = ladder[guess]
            message = f"the clearance the first-order model needs ({chosen:g} mm) is over the grid budget: " + \
                str(results[chosen])
    tried = [{"clearance_mm": c, "first_order_percent": first.get(c),
              "bem_percent": bem.get(c), "note": results[c] if isinstance(results.get(c), str) else ""}
             for c in sorted(set(first) | set(bem))]
    validation = results.get(chosen) if isinstance(results.get(chosen), Validation) else None
    yield ValidationProgress("spacing", len(ladder), len(ladder), None, time.perf_counter() - t0, message)
    return SpacingSearch(layout=layouts[chosen], validation=validation, reached=reached, tried=tried,
                         message=message)


# ------------------------------------------------------------------------------ the studio's two jobs

@dataclass(eq=False)
class ValidationReport:
    """What the studio's Validation workspace shows for one design: the layout validated, its validation
    (with pressure maps), and, outside the tolerance, the clearance the first-order model expects to fix it."""

    design_name: str
    layout: Layout
    validation: Validation | None
    clearance_estimate_mm: float | None = None  # first-order estimate (only when the validation failed)
    estimate_note: str = ""  # why there is no estimate, when the validation failed without one
    search: SpacingSearch | None = None  # set by respace_design


def check_design(design, layout: Layout | None = None, *, loads: int = DEFAULT_LOADS,
                 tolerance_percent: float = DEFAULT_TOLERANCE_PERCENT, control: JobControl | None = None,
                 budget_cells: int = DEFAULT_BUDGET_CELLS) -> Iterator[ValidationProgress]:
    """Generator: the studio's "Validate (BEM)" of a design on `layout` (default: the design's own,
    studio.design.details.design_layout); returns a ValidationReport with the pressure maps and, when
    the error exceeds the tolerance, the first-order clearance estimate."""
    from studio.design.details import design_layout

    if layout is None:
        layout = design_layout(design)
    validation = yield from validate_design(design, layout, loads=loads, tolerance_percent=tolerance_percent,
                                            control=control, budget_cells=budget_cells, keep_pressure=True)
    report = ValidationReport(design.name, layout, validation)
    if not validation.passed:
        a = design.real_asperities()
        E_star, tau0, B = design_material(design.theta)
        guess = yield from first_order_clearance(a.height_mm, a.radius_mm, E_star, tau0, B,
                                                 max_load_N=layout.max_load_N,
                                                 start_clearance_mm=max(layout.clearance_mm, 1e-3), loads=loads,
                                                 tolerance_percent=tolerance_percent, control=control)
        if guess.within and guess.index > 0:
            report.clearance_estimate_mm = guess.clearance_mm
        elif guess.within:  # the BEM and the estimate disagree about this layout (near the tolerance)
            report.estimate_note = (f"the first-order interaction model puts this layout within the tolerance "
                                    f"({guess.errors[guess.ladder[0]]:.2f} %) where the BEM does not, so only "
                                    "the BEM can say how far apart the caps must be")
        else:
            report.estimate_note = (f"no clearance up to {guess.ladder[-1]:g} mm brings the first-order estimate "
                                    "within the tolerance")
    return report


def respace_design(design, layout: Layout | None = None, *, loads: int = DEFAULT_LOADS,
                   tolerance_percent: float = DEFAULT_TOLERANCE_PERCENT, control: JobControl | None = None,
                   budget_cells: int = DEFAULT_BUDGET_CELLS) -> Iterator[ValidationProgress]:
    """Generator: the studio's spacing search from the design's layout (find_spacing); returns a
    ValidationReport of the layout chosen (its validation with pressure maps; None when the BEM could
    solve no rung) and the search."""
    from studio.design.details import design_layout

    if layout is None:
        layout = design_layout(design)
    a = design.real_asperities()
    E_star, tau0, B = design_material(design.theta)
    search = yield from find_spacing(a.height_mm, a.radius_mm, E_star, tau0, B, max_load_N=layout.max_load_N,
                                     start_clearance_mm=max(layout.clearance_mm, 1e-3), loads=loads,
                                     tolerance_percent=tolerance_percent, control=control,
                                     budget_cells=budget_cells, keep_pressure=True)
    return ValidationReport(design.name, search.layout, search.validation, search=search)


@dataclass
class FirstOrderGuess:
    """The first-order model's walk up the clearance ladder (find_spacing's starting rung)."""

    ladder: list[float]  # clearances [mm], doubling from the start
    index: int  # the first rung within FIRST_ORDER_SAFETY x tolerance (the top one when none is)
    within: bool  # whether any rung was
    layouts: dict  # clearance → Layout planned on the way
    errors: dict  # clearance → first-order interaction error [%]

    @property
    def clearance_mm(self) -> float | None:
        """The clearance the first-order model expects to pass (None: none on the ladder)."""
        return self.ladder[self.index] if self.within else None


def estimated_interaction_error(height_mm, radius_mm, x_mm, y_mm, E_star_MPa: float, tau0_MPa: float, B: float,
                                loads_N) -> float:
    """The first-order model's interaction error [%] of a layout at `loads_N` (milliseconds; no BEM).

    The contact-pattern models' interaction estimate (studio.physics.patterns.interaction_estimate: the
    neighbours' point-load push moves the loads, its curvature sharpens each contact) gives the total
    contact area's change at each load, hence F = τ0·A + B·P beside the independent law, compared as the
    BEM's is (sMAPE). benchmarks/interaction_guess.py measures it against the BEM and against
    first_order_contacts (which moves the loads with Hertz pressure fields but keeps each contact's shape).
    """
    from studio.physics.patterns import interaction_estimate

    h = np.asarray(height_mm, dtype=np.float64)
    R = np.asarray(radius_mm, dtype=np.float64)
    loads = np.asarray(loads_N, dtype=np.float64)
    depth, load, area = independent_contacts(Interface.of(h, R, x_mm, y_mm, E_star_MPa), loads)
    flat = np.max(np.where(depth > 0, h[None, :] - depth, -np.inf), axis=1)
    change, _ = interaction_estimate(x_mm, y_mm, R, E_star_MPa, h[None, :] - flat[:, None], load)
    area_ind = area.sum(axis=1)
    return float(smape(tau0_MPa * area_ind * (1.0 + change / 100.0) + B * loads, tau0_MPa * area_ind + B * loads))


def first_order_clearance(height_mm, radius_mm, E_star_MPa: float, tau0_MPa: float, B: float, *,
                          max_load_N: float = DEFAULT_MAX_LOAD_N, start_clearance_mm: float | None = None,
                          loads: int = DEFAULT_LOADS, tolerance_percent: float = DEFAULT_TOLERANCE_PERCENT,
                          control: JobControl | None = None) -> Iterator[ValidationProgress]:
    """Generator: the first rung of the clearance ladder that the first-order interaction model puts within
    FIRST_ORDER_SAFETY x tolerance (milliseconds per rung); returns a FirstOrderGuess. An estimate: only
    the BEM (find_spacing) decides."""
    from studio.physics.layout import DEFAULT_CLEARANCE_MM

    t0 = time.perf_counter()
    tolerance = _checked_tolerance(tolerance_percent)
    start = DEFAULT_CLEARANCE_MM if start_clearance_mm is None else float(start_clearance_mm)
    if not (np.isfinite(start) and start > 0):
        raise ValidationError(f"the starting clearance must be > 0 mm, got {start_clearance_mm!r}")
    ladder = [start * 2.0 ** k for k in range(64) if start * 2.0 ** k <= max(MAX_CLEARANCE_MM, start)]
    load_grid = validation_loads(loads, max_load_N)
    guess = FirstOrderGuess(ladder, len(ladder) - 1, False, {}, {})
    for k, c in enumerate(ladder):
        if control is not None:
            control.checkpoint()
        yield ValidationProgress("spacing", k, len(ladder), None, time.perf_counter() - t0,
                                 f"first-order model at clearance {c:g} mm")
        guess.layouts[c] = plan_layout(height_mm, radius_mm, E_star_MPa, max_load_N, clearance_mm=c)
        guess.errors[c] = estimated_interaction_error(height_mm, radius_mm, guess.layouts[c].x_mm,
                                                      guess.layouts[c].y_mm, E_star_MPa, tau0_MPa, B, load_grid)
        if guess.errors[c] <= FIRST_ORDER_SAFETY * tolerance:
            guess.index, guess.within = k, True
            break
    return guess


def _checked_tolerance(tolerance_percent) -> float:
    try:
        value = float(tolerance_percent)
    except (TypeError, ValueError):
        raise ValidationError(f"tolerance must be a percentage, got {tolerance_percent!r}") from None
    if not (np.isfinite(value) and 0 < value < 200):
        raise ValidationError(f"tolerance must be a percentage above 0 and below 200, got {tolerance_percent!r}")
    return value


def design_material(theta):
    """(E* [MPa], τ0 [MPa], B) of a design vector θ."""
    from studio.physics.theta import B_IDX, E_STAR_IDX, TAU0_IDX

    t = np.asarray(theta, dtype=np.float64)
    return float(t[E_STAR_IDX]), float(t[TAU0_IDX]), float(t[B_IDX])


__all__ = ["ContactError", "GridBudgetError", "Validation", "ValidationError", "ValidationProgress", "SpacingSearch",
           "PressureMap", "ValidationReport", "FirstOrderGuess", "check_design", "respace_design",
           "first_order_clearance", "estimated_interaction_error", "find_spacing", "validate_design", "validate_layout", "validation_loads", "DEFAULT_LOADS",
           "DEFAULT_TOLERANCE_PERCENT"]
