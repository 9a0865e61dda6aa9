"""Boundary-element (BEM) contact of a laid-out interface: one elastic body, all asperities at once.

The independent-asperity law (physics.md §1) lets every contact deform only itself. On a real
part each contact also pushes down its neighbours through the shared elastic body. This module
solves the laid-out surface against a rigid flat as one contact problem, so the difference can
be measured (studio/design/validation.py compares the two laws).

The solve is ContactMechanics' (contact.engineering, MIT; docs/validation.md says why and which
versions): FreeFFTElasticHalfSpace (Love's uniform-pressure pixels, non-periodic by Hockney's
doubling, so no periodic images) and the constrained conjugate gradients of Polonsky & Keer at a
fixed total load. Units: mm, MPa, N (MPa·mm² = N), as in studio.physics.friction.

Surface. Each asperity is the Hertz paraboloid of its cap, z = h_i − r²/(2 R_i), the shape the
law's Hertz model assumes, so the two laws differ by interaction only (not by the cap's
departure from a paraboloid at large d/R, which is Hertz validity's business). The surface is
the highest paraboloid at each cell; `owner` records which asperity that is.

Grid (choose_grid), one per load. Contacts are ranked by their area (predicted by the independent
model): those holding the largest 80 % of the contact area get CELLS_PER_CONTACT_RADIUS cells per
contact radius (5: their area comes from the patch fit), the next ones up to 98 % get 2 (their
area comes from their load, which is within 0.2 % at 2 cells per radius: measured on a small cap
beside a large one), and the smallest, holding the last 2 %, may get fewer. The domain covers every
asperity that may touch at that load (contact_reach_mm: the flat allowed lower than the
independent model puts it, for interaction) with a margin of cells; a grid over `budget_cells`
is refused. Low loads thus get small fine grids, high loads larger coarse ones.

Contact area of each asperity (what the law needs, and what pixel counting gets wrong by a few
% at any affordable grid). A contact patch whose neighbours act through the elastic body is, to
high order, an elliptical Hertz contact: p² is a quadratic in x, y and P = (2/3)·p0·A exactly.
So each patch's load P_i (a sum of cell forces, accurate at coarse grids) and its peak pressure
p0 (from a least-squares quadratic fit of p² over the patch's interior cells) give
A_i = 3·P_i/(2·p0) ("fit"). Measured on a Hertz sphere over cell offsets: −0.31 … +0.01 % at 4
cells per contact radius, −0.17 … −0.04 % at 5, −0.06 … +0.01 % at 6, where counting cells is off
by 2–13 % at 5 (benchmarks/bem.py; docs/validation.md).
Patches too small to fit take the Hertz area of their own load ("force"), exact for an isolated
contact; patches merged with a neighbour's ("coalesced") are counted cell by cell ("cells").
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from studio.errors import StudioError

CELLS_PER_CONTACT_RADIUS = 5.0  # for the contacts holding the largest FITTED_AREA_SHARE of the area
FITTED_AREA_SHARE = 0.8
FORCE_CELLS_SHARE = 0.4  # the next contacts, up to 1 − UNRESOLVED_AREA_SHARE, get 0.4 x as many (2 at 5)
UNRESOLVED_AREA_SHARE = 0.02
DEFAULT_BUDGET_CELLS = 640 * 640  # a 1280² FFT per step once padded: several seconds per load on one core
MARGIN_CELLS = 4  # free cells between the outermost possible contact and the domain's edge
MIN_FIT_CELLS = 12  # interior cells a patch needs for the 6-coefficient fit of p²
PENETRATION_TOL = 1e-5  # solver tolerance on penetration, relative to the deepest indentation
FORCE_TOL = 1e-7  # solver tolerance on tensile cell forces, relative to the load
MAX_ITERATIONS = 3000
INTERACTION_ALLOWANCE = 2.0  # × the first-order estimate of how far interaction lowers the flat
AREA_METHODS = ("none", "fit", "force", "cells")  # codes 0..3 of ContactSolution.area_method


class ContactError(StudioError, ValueError):
    """A contact problem that cannot be solved as asked (bad input, grid over budget, no convergence)."""


class GridBudgetError(ContactError):
    """The layout and the smallest contact need more cells than the grid budget allows."""


class SolverError(ContactError):
    """The boundary-element solver did not converge or its solution is not admissible."""


class EdgeContactError(SolverError):
    """The contact reached the edge of the grid's domain (free boundaries need it inside)."""


@dataclass(frozen=True, eq=False)  # holds arrays: compare fields, not objects
class Interface:
    """Laid-out asperities on one elastic body: summits, tip radii and centres [mm], E* [MPa]."""

    height_mm: np.ndarray
    radius_mm: np.ndarray
    x_mm: np.ndarray
    y_mm: np.ndarray
    E_star_MPa: float

    @classmethod
    def of(cls, height_mm, radius_mm, x_mm, y_mm, E_star_MPa) -> "Interface":
        arrays = [np.asarray(a, dtype=np.float64).ravel() for a in (height_mm, radius_mm, x_mm, y_mm)]
        n = arrays[0].size
        for label, a in zip(("height_mm", "radius_mm", "x_mm", "y_mm"), arrays):
            if a.size != n or n == 0:
                raise ContactError(f"{label}: {a.size} values, expected {n} (one per asperity, at least one)")
            bad = np.flatnonzero(~np.isfinite(a))
            if bad.size:
                raise ContactError(f"{label}: asperity {bad[0]} is {a[bad[0]]!r}; every value must be finite "
                                   "(is the layout missing?)")
        if np.any(arrays[1] <= 0):
            raise ContactError(f"radius_mm: asperity {int(np.flatnonzero(arrays[1] <= 0)[0])} has a tip radius ≤ 0")
        E = float(E_star_MPa)
        if not (np.isfinite(E) and E > 0):
            raise ContactError(f"E* must be a finite modulus > 0 MPa, got {E_star_MPa!r}")
        return cls(*arrays, E_star_MPa=E)

    def rotated(self, angle_rad: float) -> "Interface":
        """The same interface turned about the origin (for symmetry checks)."""
        c, s = np.cos(angle_rad), np.sin(angle_rad)
        return Interface(self.height_mm, self.radius_mm, c * self.x_mm - s * self.y_mm,
                         s * self.x_mm + c * self.y_mm, self.E_star_MPa)


@dataclass(frozen=True)
class Grid:
    """A regular grid of square cells: cell (i, j) is centred at (x0 + (i + ½)·cell, y0 + (j + ½)·cell)."""

    x0_mm: float
    y0_mm: float
    cell_mm: float
    shape: tuple[int, int]

    @property
    def x_mm(self) -> np.ndarray:
        return self.x0_mm + (np.arange(self.shape[0]) + 0.5) * self.cell_mm

    @property
    def y_mm(self) -> np.ndarray:
        return self.y0_mm + (np.arange(self.shape[1]) + 0.5) * self.cell_mm

    @property
    def cells(self) -> int:
        return int(self.shape[0] * self.shape[1])

    def coarser(self, factor: float) -> "Grid":
        """A grid over the same domain with cells `factor` times larger (for convergence checks)."""
        cell = self.cell_mm * factor
        shape = (max(8, int(np.ceil(self.shape[0] / factor))), max(8, int(np.ceil(self.shape[1] / factor))))
        cx = self.x0_mm + self.shape[0] * self.cell_mm / 2
        cy = self.y0_mm + self.shape[1] * self.cell_mm / 2
        return Grid(cx - shape[0] * cell / 2, cy - shape[1] * cell / 2, cell, shape)


@dataclass(eq=False)  # holds arrays: compare fields, not objects
class ContactSolution:
    """The BEM solution at one load: the pressure map and what each asperity carries.

    pressure_MPa, owner: (nx, ny) on `grid` (owner: index of the asperity whose cap is highest
    at the cell, −1 where none reaches). Per asperity (N,): load_N, area_mm2, patch_cells
    (cells in contact), coalesced (its patch touches another asperity's), area_method (index
    into AREA_METHODS). flat_mm: the flat's position (same datum as the heights).
    """

    load_N: float
    flat_mm: float
    grid: Grid
    pressure_MPa: np.ndarray
    owner: np.ndarray
    asperity_load_N: np.ndarray
    area_mm2: np.ndarray
    patch_cells: np.ndarray
    coalesced: np.ndarray
    area_method: np.ndarray
    iterations: int
    notes: list[str] = field(default_factory=list)

    @property
    def contact_area_mm2(self) -> float:
        return float(self.area_mm2.sum())

    @property
    def cell_area_mm2(self) -> float:
        """The contact area by counting cells (biased high by a few % at affordable grids; reported beside)."""
        return float(self.patch_cells.sum() * self.grid.cell_mm ** 2)


# ------------------------------------------------------------------------------------------ independent law

def independent_contacts(interface: Interface, loads_N):
    """Independent-asperity (Hertz) prediction: indentation d, load P_i, area A_i [mm, N, mm²], each (K, N)."""
    from studio.physics.friction import indentation_mm

    loads = _checked_loads(loads_N)
    d = indentation_mm(interface.height_mm, interface.radius_mm, interface.E_star_MPa, loads)
    R = interface.radius_mm[None, :]
    load = 4.0 / 3.0 * interface.E_star_MPa * np.sqrt(R) * d ** 1.5
    return d, load, np.pi * R * d


def first_order_contacts(interface: Interface, loads_N, *, iterations: int = 60, tol_mm: float = 1e-7):
    """Independent Hertz contacts plus their first-order interaction: d, P_i, A_i [mm, N, mm²], each (K, N).

    Every contact's Hertz pressure lowers each neighbour by the Boussinesq displacement of that
    pressure (outside a Hertz contact of radius a, u(r) = p0/(2 a E*)·[(2a² − r²)·asin(a/r) +
    a·sqrt(r² − a²)], Johnson 1985 §3.4), which acts as a lower summit; the Hertz problem with
    those summits is solved again until the displacements settle (damped fixed point). Cheap
    (milliseconds): the spacing search uses it to guess where to run the BEM. It misses what the
    neighbours' fields do to each contact's shape, which the BEM keeps.
    """
    from studio.physics.friction import indentation_mm

    loads = _checked_loads(loads_N)
    h, R, E = interface.height_mm, interface.radius_mm, interface.E_star_MPa
    x, y = interface.x_mm, interface.y_mm
    dist = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    np.fill_diagonal(dist, np.inf)
    push = np.zeros((loads.size, h.size))
    for _ in range(iterations):
        d = np.stack([indentation_mm(h - u, R, E, [p])[0] for u, p in zip(push, loads)])
        a = np.sqrt(R[None, :] * d)
        p0 = 2 * E * a / (np.pi * R[None, :])
        aj = np.broadcast_to(a[:, None, :], (loads.size, h.size, h.size))
        r = np.maximum(np.where(np.isfinite(dist), dist, 1.0)[None], aj)  # (K, N receiving, N pushing)
        u = p0[:, None, :] / (2 * E * np.where(aj > 0, aj, 1.0)) * (
            (2 * aj * aj - r * r) * np.arcsin(np.clip(aj / r, 0, 1)) + aj * np.sqrt(np.clip(r * r - aj * aj, 0, None)))
        new = np.where((aj > 0) & np.isfinite(dist)[None], u, 0.0).sum(axis=2)
        change = float(np.max(np.abs(new - push)))
        push = 0.5 * push + 0.5 * new  # damped: soft materials push nearly as far as they indent
        if change < tol_mm:
            break
    d = np.stack([indentation_mm(h - u, R, E, [p])[0] for u, p in zip(push, loads)])
    load = 4.0 / 3.0 * E * np.sqrt(R[None, :]) * d ** 1.5
    return d, load, np.pi * R[None, :] * d


def _checked_loads(loads_N) -> np.ndarray:
    loads = np.atleast_1d(np.asarray(loads_N, dtype=np.float64))
    if loads.ndim != 1 or loads.size == 0:
        raise ContactError("loads: give at least one load")
    bad = np.flatnonzero(~np.isfinite(loads) | (loads <= 0))
    if bad.size:
        raise ContactError(f"loads: {loads[bad[0]]!r} N is not a finite load > 0")
    return loads


# ------------------------------------------------------------------------------------------------- grid

def choose_grid(interface: Interface, load_N: float, *, cells_per_radius: float = CELLS_PER_CONTACT_RADIUS,
                budget_cells: int = DEFAULT_BUDGET_CELLS, allowance: float = INTERACTION_ALLOWANCE) -> Grid:
    """The automatic grid for solving `interface` at one load (module docstring, "Grid")."""
    load = float(_checked_loads(load_N)[0])
    if not (np.isfinite(cells_per_radius) and cells_per_radius > 0):
        raise ContactError(f"cells per contact radius must be > 0, got {cells_per_radius!r}")
    d, carried, _ = independent_contacts(interface, [load])
    radius = np.sqrt(interface.radius_mm * d[0])  # Hertz contact radii
    a = np.sort(radius[radius > 0])[::-1]  # largest first
    share = np.cumsum(a * a) / np.sum(a * a)  # area held by this contact and the larger ones

    def smallest_within(fraction):
        return float(a[min(np.searchsorted(share, fraction), a.size - 1)])

    fitted, resolved = smallest_within(FITTED_AREA_SHARE), smallest_within(1 - UNRESOLVED_AREA_SHARE)
    cell = min(fitted / cells_per_radius, resolved / (FORCE_CELLS_SHARE * cells_per_radius))
    reach = contact_reach_mm(interface, d[0], carried[0], allowance)
    x, y = interface.x_mm, interface.y_mm
    may_touch = reach > 0
    margin = MARGIN_CELLS * cell
    x0, x1 = np.min(x[may_touch] - reach[may_touch]) - margin, np.max(x[may_touch] + reach[may_touch]) + margin
    y0, y1 = np.min(y[may_touch] - reach[may_touch]) - margin, np.max(y[may_touch] + reach[may_touch]) + margin
    shape = (int(np.ceil((x1 - x0) / cell)), int(np.ceil((y1 - y0) / cell)))
    if shape[0] * shape[1] > budget_cells:
        raise GridBudgetError(
            f"at {load:g} N the contacts span {x1 - x0:.2f} mm x {y1 - y0:.2f} mm and the smallest one to resolve "
            f"has a radius of {resolved:.3g} mm: cells of {cell:.3g} mm make a {shape[0]} x {shape[1]} grid, over "
            f"the budget of {budget_cells} cells; validate at larger loads (the lowest sets the cell) or raise "
            "the budget")
    x0, y0 = (x0 + x1 - shape[0] * cell) / 2, (y0 + y1 - shape[1] * cell) / 2  # centred: symmetric layouts stay so
    return Grid(float(x0), float(y0), cell, shape)


def contact_reach_mm(interface: Interface, depth_mm: np.ndarray, load_N: np.ndarray,
                     allowance: float = INTERACTION_ALLOWANCE) -> np.ndarray:
    """How far from its centre each asperity may touch [mm] (0: it does not), given the independent solution.

    Interaction pushes every asperity down by its neighbours' loads, the ones amid the contacts
    most, so the flat sits lower and an asperity k may touch if h_k > g − A·(u_max − u_k): u the
    first-order (point-load, Boussinesq) push P_j/(π E* r_kj) summed over the contacts, u_max its
    largest value on a contact, A = INTERACTION_ALLOWANCE. The reach is the cap's cross-section there.
    """
    h, R, x, y = interface.height_mm, interface.radius_mm, interface.x_mm, interface.y_mm
    touching = depth_mm > 0
    flat = float(np.max(h[touching] - depth_mm[touching]))
    contact = np.sqrt(R * depth_mm)
    dist = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    dist = np.maximum(dist, contact[None, :])  # inside a contact its pressure pushes no more than at its edge
    np.fill_diagonal(dist, np.inf)
    push = (load_N[None, :] / (np.pi * interface.E_star_MPa * dist)).sum(axis=1)
    lowest = flat - allowance * np.clip(np.max(push[touching]) - push, 0.0, None)
    return np.sqrt(2 * R * np.clip(h - lowest, 0.0, None))


# -------------------------------------------------------------------------------------------- the solve

class ContactModel:
    """One interface on one grid: the surface, the owner map and the half-space, ready for solves.

    Successive solves start from the previous solution scaled to the new load (warm start).
    """

    def __init__(self, interface: Interface, grid: Grid, floor_mm: float | None = None):
        from ContactMechanics import FreeFFTElasticHalfSpace, make_system
        from SurfaceTopography import Topography

        self.interface = interface
        self.grid = grid
        self.top_mm = float(np.max(interface.height_mm))
        self.surface_mm, self.owner = surface_of(interface, grid, floor_mm)
        self.surface_mm -= self.top_mm  # solve relative to the highest summit (round-off)
        size = (grid.shape[0] * grid.cell_mm, grid.shape[1] * grid.cell_mm)
        substrate = FreeFFTElasticHalfSpace(grid.shape, interface.E_star_MPa, physical_sizes=size, fft="serial")
        # Keyword arguments: positional ones fail inside ContactMechanics with a confusing AttributeError.
        self.system = make_system(surface=Topography(self.surface_mm, physical_sizes=size), substrate=substrate)
        self._last = None  # (load, padded forces) of the last solve

    def solve(self, load_N: float, depth_scale_mm: float) -> ContactSolution:
        """Solve at one total load [N]; depth_scale_mm: the deepest indentation expected (sets tolerances)."""
        load = float(load_N)
        initial = None
        if self._last is not None:
            previous_load, forces = self._last
            initial = forces * (load / previous_load)
        result = self.system.minimize_proxy(
            external_force=load, initial_forces=initial, pentol=PENETRATION_TOL * depth_scale_mm,
            forcetol=FORCE_TOL * load, maxiter=MAX_ITERATIONS)
        if not result.success:
            self._last = None
            raise SolverError(f"the boundary-element solver did not converge at {load:g} N within "
                              f"{MAX_ITERATIONS} iterations on a {self.grid.shape[0]} x {self.grid.shape[1]} grid "
                              f"({result.message})")
        force = np.asarray(result.jac, dtype=np.float64)  # compressive cell forces [N], (nx, ny)
        padded = np.zeros(self.system.substrate.nb_domain_grid_pts)
        padded[:force.shape[0], :force.shape[1]] = -force
        self._last = (load, padded)
        solution = measure(self.interface, self.grid, force, self.owner)
        solution.load_N = load
        solution.flat_mm = self.top_mm - float(result.offset)
        solution.iterations = int(result.nit)
        edge = np.concatenate([force[0], force[-1], force[:, 0], force[:, -1]])
        if np.any(edge > 0):
            raise EdgeContactError(f"at {load:g} N the contact reaches the edge of the BEM domain even with the "
                                   "widest allowance for interaction")
        return solution


def surface_of(interface: Interface, grid: Grid, floor_mm: float | None = None):
    """(surface height [mm] (nx, ny), owner (nx, ny) int32): the highest cap paraboloid at each cell.

    Cells no cap reaches keep the floor (default: 1 mm + the height span below the lowest summit;
    it must lie well below the flat) and owner −1.
    """
    xs, ys = grid.x_mm, grid.y_mm
    h, R, x, y = interface.height_mm, interface.radius_mm, interface.x_mm, interface.y_mm
    floor = float(np.min(h)) - 1.0 - float(np.ptp(h)) if floor_mm is None else float(floor_mm)
    z = np.full(grid.shape, floor)
    owner = np.full(grid.shape, -1, dtype=np.int32)
    reach = np.sqrt(2 * R * (h - floor))  # where each paraboloid meets the floor
    for i in np.argsort(h)[::-1]:
        i0, i1 = np.searchsorted(xs, [x[i] - reach[i], x[i] + reach[i]])
        j0, j1 = np.searchsorted(ys, [y[i] - reach[i], y[i] + reach[i]])
        if i0 >= i1 or j0 >= j1:
            continue
        cap = h[i] - (np.square(xs[i0:i1, None] - x[i]) + np.square(ys[None, j0:j1] - y[i])) / (2 * R[i])
        window = z[i0:i1, j0:j1]
        higher = cap > window
        window[higher] = cap[higher]
        owner[i0:i1, j0:j1][higher] = i
    return z, owner


def measure(interface: Interface, grid: Grid, force_N: np.ndarray, owner: np.ndarray) -> ContactSolution:
    """Per-asperity loads, contact areas and patches of a solved force map (module docstring, "Contact area")."""
    from scipy import ndimage

    n = interface.height_mm.size
    cell = grid.cell_mm
    contact = force_N > 0
    if np.any(contact & (owner < 0)):
        raise SolverError("the flat reaches the floor between the caps: the contact is deeper than the surface "
                          "built for it")
    pressure = force_N / (cell * cell)
    who = np.where(contact, owner, -1)
    index = who[contact]
    asperity_load = np.bincount(index, weights=force_N[contact], minlength=n)[:n] if index.size else np.zeros(n)
    cells = np.bincount(index, minlength=n)[:n] if index.size else np.zeros(n, dtype=np.int64)
    # A patch is coalesced when one of its cells has a contact cell of another asperity among its 8 neighbours.
    coalesced = np.zeros(n, dtype=bool)
    padded = np.pad(who, 1, constant_values=-1)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di == 0 and dj == 0:
                continue
            other = padded[1 + di:1 + di + who.shape[0], 1 + dj:1 + dj + who.shape[1]]
            clash = contact & (other >= 0) & (other != who)
            coalesced[np.unique(who[clash])] = True
    # Interior cells: the patch's own cells whose 4 neighbours are in contact with the same owner.
    interior = contact & ndimage.binary_erosion(contact, border_value=0)
    for shift in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        interior &= np.roll(who, shift, axis=(0, 1)) == who
    p0 = _peak_pressure(interface, grid, pressure, who, interior, n)
    R = interface.radius_mm
    area = np.zeros(n)
    method = np.zeros(n, dtype=np.int8)
    has_load = asperity_load > 0
    fit = has_load & ~coalesced & np.isfinite(p0) & (p0 > 0)
    area[fit] = 1.5 * asperity_load[fit] / p0[fit]
    method[fit] = 1
    small = has_load & ~coalesced & ~fit
    area[small] = np.pi * (3 * asperity_load[small] * R[small] / (4 * interface.E_star_MPa)) ** (2.0 / 3.0)
    method[small] = 2
    merged = has_load & coalesced
    area[merged] = cells[merged] * cell * cell
    method[merged] = 3
    notes = []
    if merged.any():
        notes.append(f"{int(merged.sum())} contacts merged with a neighbour's: their area is counted cell by cell")
    return ContactSolution(load_N=float(force_N.sum()), flat_mm=float("nan"), grid=grid, pressure_MPa=pressure,
                           owner=owner, asperity_load_N=asperity_load, area_mm2=area, patch_cells=cells,
                           coalesced=coalesced, area_method=method, iterations=0, notes=notes)


def _peak_pressure(interface, grid, pressure, who, interior, n) -> np.ndarray:
    """p0 of each asperity [MPa]: the peak of a least-squares quadratic fit of p² over its interior cells.

    NaN where a patch has fewer than MIN_FIT_CELLS interior cells or the fit is not a cap (its
    quadratic part not negative definite). All patches are fitted at once through their 6×6
    normal equations, accumulated with bincount.
    """
    p0 = np.full(n, np.nan)
    idx = who[interior]
    if idx.size == 0:
        return p0
    counts = np.bincount(idx, minlength=n)[:n]
    gi, gj = np.nonzero(interior)
    # Coordinates relative to each asperity's centre, in cells (keeps the normal equations well scaled).
    u = (grid.x_mm[gi] - interface.x_mm[idx]) / grid.cell_mm
    v = (grid.y_mm[gj] - interface.y_mm[idx]) / grid.cell_mm
    q = pressure[interior] ** 2
    basis = np.stack([np.ones_like(u), u, v, u * u, u * v, v * v], axis=1)
    normal = np.zeros((n, 6, 6))
    rhs = np.zeros((n, 6))
    for a in range(6):
        rhs[:, a] = np.bincount(idx, weights=basis[:, a] * q, minlength=n)[:n]
        for b in range(a, 6):
            normal[:, a, b] = normal[:, b, a] = np.bincount(idx, weights=basis[:, a] * basis[:, b], minlength=n)[:n]
    ok = counts >= MIN_FIT_CELLS
    if not ok.any():
        return p0
    try:
        coef = np.linalg.solve(normal[ok], rhs[ok][..., None])[..., 0]
    except np.linalg.LinAlgError:
        coef = np.stack([np.linalg.lstsq(m, r, rcond=None)[0] for m, r in zip(normal[ok], rhs[ok])])
    C = np.stack([np.stack([coef[:, 3], coef[:, 4] / 2], -1), np.stack([coef[:, 4] / 2, coef[:, 5]], -1)], -2)
    b = coef[:, 1:3]
    det = C[:, 0, 0] * C[:, 1, 1] - C[:, 0, 1] ** 2
    cap = (C[:, 0, 0] < 0) & (det > 0)
    safe = np.where(cap[:, None, None], C, -np.eye(2)[None])
    centre = -0.5 * np.linalg.solve(safe, b[..., None])[..., 0]
    peak = coef[:, 0] + 0.5 * np.einsum("ka,ka->k", b, centre)
    p0[np.flatnonzero(ok)] = np.where(cap & (peak > 0), np.sqrt(np.clip(peak, 0, None)), np.nan)
    return p0


def solve_at(interface: Interface, load_N: float, grid: Grid | None = None, **grid_options) -> ContactSolution:
    """The ContactSolution at one load [N] on `grid` (default: the automatic grid for that load)."""
    load = float(_checked_loads(load_N)[0])
    d, _, _ = independent_contacts(interface, [load])
    if grid is not None:
        return ContactModel(interface, grid, floor_mm(interface, d[0])).solve(load, float(d.max()))
    try:
        grid = choose_grid(interface, load, **grid_options)
        return ContactModel(interface, grid, floor_mm(interface, d[0])).solve(load, float(d.max()))
    except EdgeContactError:  # interaction took the flat lower than allowed for: once more, wider
        grid = choose_grid(interface, load, **{**grid_options, "allowance": 4 * INTERACTION_ALLOWANCE})
        return ContactModel(interface, grid, floor_mm(interface, d[0])).solve(load, float(d.max()))


def floor_mm(interface: Interface, depth_mm: np.ndarray) -> float:
    """A floor for the surface between caps: three deepest indentations below the independent flat's position."""
    touching = depth_mm > 0
    flat = float(np.max(interface.height_mm[touching] - depth_mm[touching]))
    return min(float(np.min(interface.height_mm)), flat) - 3.0 * float(np.max(depth_mm))


def solve_loads(interface: Interface, loads_N, **grid_options):
    """Generator: the ContactSolution at each load of `loads_N`, each on its own automatic grid.

    One grid per load: the domain holds the asperities that may touch at that load and the cell
    resolves that load's contacts, so low loads get small fine grids and high loads larger
    coarse ones (on the benchmark designs 3-10x fewer cells than one grid for every load).
    """
    for load in _checked_loads(loads_N):
        yield solve_at(interface, load, **grid_options)


def contact_library_versions() -> dict:
    """Versions of the contact-mechanics libraries in use (recorded with every validation)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("ContactMechanics", "SurfaceTopography", "muGrid"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out
