"""Fabrication layout: where N spherical caps stand on a flat base plate, so the part is the one simulated.

The part. Asperity i is the sphere of radius R_i whose summit is at height h_i above the datum,
centred at (x_i, y_i). Above the base plate it is the part of that sphere above the plate's top
face, standing on a cylindrical pillar of radius R_i where it is taller than R_i (studio/io/export.py
draws the same solid). The flat's lowest position g_low [mm] is where the independent-asperity
model puts it at the largest load P_max (physics.md §2); asperity i touches the flat somewhere in
(0, P_max] when h_i > g_low, and its contact depth there is d_i = h_i − g_low.

Plate. Its top face lies max(relief, largest d_i) below g_low and at least `relief`
(MIN_RELIEF_MM) below every summit (plate_level_mm): the flat never reaches the plate (the
BEM check, studio.physics.contact, measures how much lower than g_low interaction takes it;
fabrication tolerances are tens of µm) and every asperity stands out of it.

Rules (studio.physics.layout_faults counts breaches). Two asperities do not meet above the plane
z_ij and stand at least `clearance_mm` apart there:
    z_ij = g_low                          when both touch the flat (issue 21's rule), and
    z_ij = min(h_i, h_j) − relief         otherwise, so a never-touching cap shows at least its
                                          top `relief` as a free cap and no summit is buried.
Asperities that never touch are placed as real caps (never left out), after the touching ones.
Each solid gets narrower upwards, so it lies inside the cylinder over its cross-section at z_ij;
disjoint cross-sections (discs of radius w(z_ij), solid_half_width_mm) hence mean disjoint caps
above z_ij: the required centre distance is D_ij = w_i(z_ij) + w_j(z_ij) + clearance.

Packing (greedy, deterministic; compact, never at the price of the rules). Touching asperities
first, widest cross-section first, then the never-touching ones, tallest first (they end up
around the contact region, which keeps it and a BEM check of it small). The first goes at the
origin; every next one goes at the free position closest to the origin, which is tangent (at the
required distance) to one placed asperity on the side facing the origin, or to two; only these
candidates are tried. Candidates are built around "frontier" asperities only (an asperity none of
whose candidates was free at one step is left out until the asperities being placed have halved in
size, or the never-touching ones begin); every candidate is still tested against every placed
asperity, so the frontier affects compactness and speed, never the rules. The result is shifted so
the footprint (the caps' bounding box at the plate) is centred on (0, 0).

Numpy only, except `layout_for`/`plan_layout`, which find g_low with the physics model first.
Everything scales: a design scaled by λ with P_max = λ²·10 N lays out as λ times the canonical
layout when the clearance and MIN_RELIEF_MM are scaled too (physics.md §2).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from studio.errors import StudioError

DEFAULT_CLEARANCE_MM = 0.05  # smallest gap between two caps at their plane z_ij (a mould's thinnest wall)
MIN_RELIEF_MM = 0.1  # free cap height of a never-touching asperity, and the least gap from the flat to the plate
PLATE_MARGIN_MM = 0.5  # plate edge beyond the outermost cap
DEFAULT_MAX_LOAD_N = 10.0  # the canonical load range (physics.md §2); scaled designs pass their own
ALGORITHM = "caps-v2: greedy, touching caps apart above the flat's lowest position, summits free"
_CHUNK = 256  # candidates tested at once
_TOUCH_TOL = 1e-9  # mm of numerical slack when testing a tangent candidate against its own neighbours


class LayoutError(StudioError, ValueError):
    """Heights, radii, loads or clearance that cannot be laid out (not finite, negative, empty)."""


@dataclass(frozen=True, eq=False)  # holds arrays: compare fields, not objects
class Layout:
    """Where each asperity stands on the part, and the part's key levels and sizes [mm].

    x_mm, y_mm: (N,) centres. flat_lowest_mm: g_low, the flat at max_load_N. base_level_mm: the
    plate's top face. touching: (N,) summit above g_low. footprint_mm: (width x, depth y) of the
    caps at the plate; plate_mm: the plate, PLATE_MARGIN_MM beyond it on every side.
    """

    x_mm: np.ndarray
    y_mm: np.ndarray
    base_level_mm: float
    flat_lowest_mm: float
    max_load_N: float
    clearance_mm: float
    relief_mm: float
    touching: np.ndarray
    footprint_mm: tuple[float, float]
    plate_mm: tuple[float, float]
    algorithm: str = ALGORITHM
    notes: tuple[str, ...] = field(default=())

    def summary(self) -> str:
        """One line for users: footprint, plate and what never touches."""
        w, d = self.footprint_mm
        pw, pd = self.plate_mm
        text = (f"caps on {w:.2f} mm x {d:.2f} mm (plate {pw:.2f} mm x {pd:.2f} mm), "
                f"{int(self.touching.sum())} of {self.touching.size} touching the flat up to {self.max_load_N:g} N")
        return "; ".join([text, *self.notes])


def solid_half_width_mm(height_mm, radius_mm, z_mm):
    """Horizontal radius [mm] of an asperity's solid at height z (0 above its summit).

    Between summit and equator the sphere: sqrt(R² − (z − (h − R))²); below the equator the
    pillar: R. Valid for z above the plate (broadcasts).
    """
    h = np.asarray(height_mm, dtype=np.float64)
    R = np.asarray(radius_mm, dtype=np.float64)
    t = np.asarray(z_mm, dtype=np.float64) - (h - R)  # height above the sphere's centre
    return np.where(t >= R, 0.0, np.where(t > 0, np.sqrt(np.clip(R * R - t * t, 0.0, None)), R))


def plate_level_mm(height_mm, flat_lowest_mm: float, relief_mm: float = MIN_RELIEF_MM) -> float:
    """Top face of the base plate [mm]: below the flat's lowest position by max(relief, deepest contact)
    and below every summit by the relief (module docstring, "Plate")."""
    h = np.asarray(height_mm, dtype=np.float64)
    deepest = float(np.max(h - flat_lowest_mm))
    return min(float(flat_lowest_mm) - max(relief_mm, deepest), float(h.min()) - relief_mm)


def required_distances_mm(height_mm, radius_mm, flat_lowest_mm: float, relief_mm: float,
                          clearance_mm: float) -> np.ndarray:
    """(N, N) smallest centre distance D_ij of every pair under the module's rules (diagonal 0)."""
    h = np.asarray(height_mm, dtype=np.float64)
    R = np.asarray(radius_mm, dtype=np.float64)
    touching = h > flat_lowest_mm
    both = touching[:, None] & touching[None, :]
    plane = np.where(both, flat_lowest_mm, np.minimum(h[:, None], h[None, :]) - relief_mm)
    width = solid_half_width_mm(h[:, None], R[:, None], plane)
    D = width + width.T + clearance_mm
    np.fill_diagonal(D, 0.0)
    return D


def layout_faults(height_mm, radius_mm, x_mm, y_mm, flat_lowest_mm: float) -> dict:
    """Breaches of issue 21's two rules in any layout (ours or another), without clearances.

    overlapping_caps: pairs of touching caps that meet above g_low (their discs at g_low overlap);
    buried_summits: asperities whose summit lies inside a neighbour's solid (sphere or pillar).
    """
    h = np.asarray(height_mm, dtype=np.float64)
    R = np.asarray(radius_mm, dtype=np.float64)
    x = np.asarray(x_mm, dtype=np.float64)
    y = np.asarray(y_mm, dtype=np.float64)
    dist = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    touching = h > flat_lowest_mm
    disc = solid_half_width_mm(h, R, flat_lowest_mm)
    i, j = np.triu_indices(h.size, 1)
    overlap = touching[i] & touching[j] & (dist[i, j] < disc[i] + disc[j] - 1e-9)
    # Summit of i inside j: j stands taller and its solid at height h_i reaches past i's centre.
    inside = (h[None, :] > h[:, None]) & (dist < solid_half_width_mm(h[None, :], R[None, :], h[:, None]) - 1e-9)
    buried = np.flatnonzero(inside.any(axis=1))
    return {"overlapping_caps": int(overlap.sum()), "buried_summits": int(buried.size),
            "buried": buried.tolist()}


def arrange_caps(height_mm, radius_mm, flat_lowest_mm: float, *, max_load_N: float = DEFAULT_MAX_LOAD_N,
                 clearance_mm: float = DEFAULT_CLEARANCE_MM, relief_mm: float | None = None) -> Layout:
    """Lay out caps of summit heights and tip radii [mm] for a flat whose lowest position is g_low [mm].

    The geometry alone (no physics): `plan_layout` finds g_low from the material and the load.
    relief_mm: the free cap every never-touching asperity shows (default MIN_RELIEF_MM).
    """
    h, R = _checked(height_mm, radius_mm)
    g_low = float(flat_lowest_mm)
    clearance = float(clearance_mm)
    if not np.isfinite(g_low):
        raise LayoutError(f"the flat's lowest position must be a finite height, got {flat_lowest_mm!r} mm")
    if not np.isfinite(clearance) or clearance < 0:
        raise LayoutError(f"clearance must be a finite distance ≥ 0 mm, got {clearance_mm!r}")
    touching = h > g_low
    if not touching.any():
        raise LayoutError(f"no summit reaches the flat's lowest position {g_low:g} mm: nothing touches")
    relief = MIN_RELIEF_MM if relief_mm is None else float(relief_mm)
    if not np.isfinite(relief) or relief <= 0:
        raise LayoutError(f"relief must be a finite height > 0 mm, got {relief_mm!r}")
    base = plate_level_mm(h, g_low, relief)
    D = required_distances_mm(h, R, g_low, relief, clearance)
    if clearance == 0 and np.any(D[np.triu_indices(h.size, 1)] <= 0):
        raise LayoutError("a zero clearance needs every pair of caps to have some width at its plane")

    # Size of each asperity for ordering and for reopening the frontier: its cross-section radius
    # at g_low (touching) or half its smallest required distance (never touching).
    others = np.where(np.eye(h.size, dtype=bool), np.inf, D)
    size = np.where(touching, solid_half_width_mm(h, R, g_low) + clearance / 2, others.min(axis=1) / 2)
    first = np.flatnonzero(touching)[np.argsort(-size[touching], kind="stable")]
    rest = np.flatnonzero(~touching)[np.argsort(-h[~touching], kind="stable")]
    x, y = _greedy(np.concatenate([first, rest]), D, size, phase_starts={int(rest[0])} if rest.size else set())

    width = solid_half_width_mm(h, R, base)
    x0, x1, y0, y1 = np.min(x - width), np.max(x + width), np.min(y - width), np.max(y + width)
    x -= (x0 + x1) / 2
    y -= (y0 + y1) / 2
    footprint = (float(x1 - x0), float(y1 - y0))
    plate = (footprint[0] + 2 * PLATE_MARGIN_MM, footprint[1] + 2 * PLATE_MARGIN_MM)
    notes = ()
    if rest.size:
        notes = (f"{rest.size} asperities never touch the flat up to {max_load_N:g} N; they stand as real caps "
                 "around the contact region",)
    return Layout(x_mm=x, y_mm=y, base_level_mm=base, flat_lowest_mm=g_low, max_load_N=float(max_load_N),
                  clearance_mm=clearance, relief_mm=relief, touching=touching, footprint_mm=footprint,
                  plate_mm=plate, notes=notes)


def describe_layout(height_mm, radius_mm, x_mm, y_mm, flat_lowest_mm: float, *,
                    max_load_N: float = DEFAULT_MAX_LOAD_N, relief_mm: float = MIN_RELIEF_MM,
                    algorithm: str = "given") -> Layout:
    """The Layout record of positions made elsewhere (an older file, another tool): levels, sizes and the
    clearance they achieve under this module's rules (negative: caps meet where the rules forbid it)."""
    h, R = _checked(height_mm, radius_mm)
    x = np.asarray(x_mm, dtype=np.float64)
    y = np.asarray(y_mm, dtype=np.float64)
    if x.shape != h.shape or y.shape != h.shape or not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise LayoutError(f"positions must be {h.size} finite x and y values, one per asperity")
    g_low = float(flat_lowest_mm)
    base = plate_level_mm(h, g_low, relief_mm)
    widths = required_distances_mm(h, R, g_low, relief_mm, 0.0)
    i, j = np.triu_indices(h.size, 1)
    gaps = np.hypot(x[i] - x[j], y[i] - y[j]) - widths[i, j]
    clearance = float(gaps.min()) if gaps.size else float("inf")
    width = solid_half_width_mm(h, R, base)
    footprint = (float(np.ptp(np.r_[x - width, x + width])), float(np.ptp(np.r_[y - width, y + width])))
    plate = (footprint[0] + 2 * PLATE_MARGIN_MM, footprint[1] + 2 * PLATE_MARGIN_MM)
    return Layout(x_mm=x, y_mm=y, base_level_mm=base, flat_lowest_mm=g_low, max_load_N=float(max_load_N),
                  clearance_mm=clearance, relief_mm=float(relief_mm), touching=h > g_low, footprint_mm=footprint,
                  plate_mm=plate, algorithm=algorithm)


def flat_lowest_mm(height_mm, radius_mm, E_star_MPa: float, max_load_N: float = DEFAULT_MAX_LOAD_N) -> float:
    """g_low: the flat's position [mm] at the largest load, from the independent-asperity model."""
    from studio.physics.friction import indentation_mm

    h, R = _checked(height_mm, radius_mm)
    load = float(max_load_N)
    if not (np.isfinite(load) and load > 0):
        raise LayoutError(f"the largest load must be a finite force > 0 N, got {max_load_N!r}")
    d = indentation_mm(h, R, float(E_star_MPa), [load])[0]
    touching = d > 0
    return float(np.max(h[touching] - d[touching]))


def plan_layout(height_mm, radius_mm, E_star_MPa: float, max_load_N: float = DEFAULT_MAX_LOAD_N, *,
                clearance_mm: float = DEFAULT_CLEARANCE_MM) -> Layout:
    """The layout of caps of real heights and radii [mm] pressed up to `max_load_N` (any load range)."""
    g_low = flat_lowest_mm(height_mm, radius_mm, E_star_MPa, max_load_N)
    return arrange_caps(height_mm, radius_mm, g_low, max_load_N=max_load_N, clearance_mm=clearance_mm)


def layout_for(asperities, E_star_MPa: float, *, max_load_N: float = DEFAULT_MAX_LOAD_N,
               clearance_mm: float = DEFAULT_CLEARANCE_MM) -> Layout:
    """Layout of realised asperities (studio.physics.Asperities) pressed up to `max_load_N`."""
    return plan_layout(asperities.height_mm, asperities.radius_mm, E_star_MPa, max_load_N,
                       clearance_mm=clearance_mm)


def pack_contact_discs(contact_radius_mm, clearance_mm: float = DEFAULT_CLEARANCE_MM):
    """Centres (x, y) [mm] of the layout used before issue 21: Hertz contact discs (radii at the largest load)
    padded by half the clearance, packed largest first, never-touching asperities as points, centred on
    the centres' centroid. Its caps may meet above the flat (older design files hold such layouts);
    kept for them, for the layout benchmark's baseline and for the contact-pattern dataset."""
    r = np.asarray(contact_radius_mm, dtype=np.float64) + float(clearance_mm) / 2
    distance = r[:, None] + r[None, :]
    np.fill_diagonal(distance, 0.0)
    x, y = _greedy(np.argsort(-r, kind="stable"), distance, r, phase_starts=set())
    return x - x.mean(), y - y.mean()


def _checked(height_mm, radius_mm):
    h = np.asarray(height_mm, dtype=np.float64)
    R = np.asarray(radius_mm, dtype=np.float64)
    if h.ndim != 1 or h.size == 0 or R.shape != h.shape:
        raise LayoutError(f"heights and radii must be two non-empty 1-D arrays of one length, got shapes "
                          f"{h.shape} and {R.shape}")
    for label, values, ok in (("height", h, np.isfinite(h)), ("tip radius", R, np.isfinite(R) & (R > 0))):
        bad = np.flatnonzero(~ok)
        if bad.size:
            raise LayoutError(f"{label} of asperity {bad[0]} is {values[bad[0]]!r} mm; it must be finite"
                              + (" and > 0" if label == "tip radius" else ""))
    return h, R


def _greedy(order, D, size, phase_starts):
    """Centres (x, y) placing `order` one by one at the free position nearest the origin."""
    n = D.shape[0]
    cx = np.zeros(n)
    cy = np.zeros(n)
    active = np.zeros(n, dtype=bool)  # placed asperities that still had free room beside them at the last step
    reopen_below = size[order[0]] / 2  # a much smaller asperity may fit where a larger one did not
    for step, i in enumerate(order):
        if step:
            placed = order[:step]
            if size[i] < reopen_below or i in phase_starts:
                active[placed] = True
                reopen_below = size[i] / 2
            cx[i], cy[i], still_open = _closest_free_position(D[i], cx, cy, placed, placed[active[placed]])
            active[placed] = False
            active[still_open] = True
        active[i] = True
    return cx, cy


def _closest_free_position(reach_all, cx, cy, placed, frontier):
    """Free centre closest to the origin for an asperity needing distance reach_all[j] from j.

    Returns (x, y, frontier asperities that had a free candidate). Every candidate is tested
    against every placed asperity that could reach it, so the result never breaks a rule.
    """
    px, py = cx[frontier], cy[frontier]
    reach = reach_all[frontier]
    # Candidates at the required distance from one asperity, on the side facing the origin.
    dist = np.hypot(px, py)
    safe = np.where(dist > 0, dist, 1.0)
    ux = np.where(dist > 0, -px / safe, 1.0)
    uy = np.where(dist > 0, -py / safe, 0.0)
    outside = np.max(np.hypot(cx[placed], cy[placed]) + reach_all[placed])  # beyond everything: always free
    cand_x = [px + reach * ux, [outside]]
    cand_y = [py + reach * uy, [0.0]]
    owner_j = [np.arange(px.size), [-1]]
    owner_k = [np.arange(px.size), [-1]]
    # Candidates at the required distance from two asperities j, k (intersection of two circles).
    j, k = np.triu_indices(px.size, 1)
    dx, dy = px[k] - px[j], py[k] - py[j]
    d = np.hypot(dx, dy)
    ok = (d > 0) & (d <= reach[j] + reach[k]) & (d >= np.abs(reach[j] - reach[k]))
    j, k, dx, dy, d = j[ok], k[ok], dx[ok], dy[ok], d[ok]
    along = (reach[j] ** 2 - reach[k] ** 2 + d ** 2) / (2 * d)
    across = np.sqrt(np.maximum(reach[j] ** 2 - along ** 2, 0.0))
    mx, my = px[j] + along * dx / d, py[j] + along * dy / d
    for sign in (1.0, -1.0):
        cand_x.append(mx - sign * across * dy / d)
        cand_y.append(my + sign * across * dx / d)
        owner_j.append(j)
        owner_k.append(k)
    x, y = np.concatenate(cand_x), np.concatenate(cand_y)
    oj, ok_ = np.concatenate(owner_j).astype(np.int64), np.concatenate(owner_k).astype(np.int64)
    free = np.empty(x.size, dtype=bool)
    qx, qy, qreach = cx[placed], cy[placed], reach_all[placed]
    # Only asperities that can reach some candidate matter: skip those deep inside (a ring test, always safe).
    cand_r = np.hypot(x, y)
    disc_r = np.hypot(qx, qy)
    near = (disc_r + qreach >= cand_r.min()) & (disc_r - qreach <= cand_r.max())
    qx, qy, limit = qx[near], qy[near], np.square(np.maximum(qreach[near] - _TOUCH_TOL, 0.0))
    for start in range(0, x.size, _CHUNK):  # chunks bound the (candidates × asperities) memory
        sl = slice(start, start + _CHUNK)
        d2 = np.square(x[sl, None] - qx[None, :]) + np.square(y[sl, None] - qy[None, :])
        free[sl] = (d2 >= limit[None, :]).all(axis=1)
    has_room = np.zeros(px.size, dtype=bool)
    has_room[oj[free & (oj >= 0)]] = True
    has_room[ok_[free & (ok_ >= 0)]] = True
    fx, fy = x[free], y[free]
    best = int(np.argmin(fx * fx + fy * fy))
    return fx[best], fy[best], frontier[has_room]
