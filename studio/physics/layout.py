"""Fabrication layout: where to put N asperities on the part so no two contacts touch at 10 N.

Each asperity i occupies a contact disc of radius a_i (the Hertz contact radius at the
largest grid load, 10 N); an asperity that is not in contact at 10 N has a_i = 0 and
is treated as a point. Two asperities are far enough apart when their centre distance
is at least a_i + a_j + clearance.

Packing (greedy, deterministic). Discs are placed largest first (stable order for
equal radii). The first goes at the origin; every next one goes at the free position
closest to the origin. The closest free position of a disc among placed discs is
either tangent (at the required distance) to one placed disc, on the side facing the
origin, or tangent to two placed discs; only these candidates are tried, and for the
pair candidates only pairs close enough that the new disc could touch both. Candidates
are built around "frontier" discs only: a disc none of whose candidates was free at one
step is left out at the next ones, until the disc radius has halved (then every disc is
reconsidered, since a much smaller disc fits in gaps a larger one did not). Every
candidate is still tested against every placed disc that could reach it, so the
frontier only affects compactness and speed, never overlap. The result is shifted so the
centroid of the centres is at (0, 0).

Numpy only: no JAX in `fabrication_layout`; `layout_for` computes the contact radii
with the physics model first.
"""
from __future__ import annotations

import numpy as np

from studio.errors import StudioError

DEFAULT_CLEARANCE_MM = 0.05
LAYOUT_LOAD_N = 10.0  # the largest load of the grid: contacts are largest there
_CHUNK = 256  # candidates tested at once
_TOUCH_TOL = 1e-9  # mm of numerical slack when testing a tangent candidate against its own discs


class LayoutError(StudioError, ValueError):
    """Contact radii or clearance that cannot be laid out (not finite, negative, empty)."""


def fabrication_layout(contact_radius_mm, *, clearance_mm: float = DEFAULT_CLEARANCE_MM):
    """Centres (x_mm, y_mm), each (N,), of N asperities with non-overlapping contact discs.

    contact_radius_mm: (N,) contact radius of each asperity at 10 N [mm] (0 for no contact).
    clearance_mm: smallest gap between two contact discs [mm].
    Guarantees |c_i − c_j| ≥ a_i + a_j + clearance_mm for all i ≠ j (up to 1e-9 mm).
    """
    a = np.asarray(contact_radius_mm, dtype=np.float64)
    if a.ndim != 1 or a.size == 0:
        raise LayoutError(f"contact radii must be a non-empty 1-D array, got shape {a.shape}")
    bad = np.flatnonzero(~np.isfinite(a) | (a < 0))
    if bad.size:
        raise LayoutError(f"contact radius of asperity {bad[0]} is {a[bad[0]]!r} mm; "
                          "radii must be finite and ≥ 0")
    clearance = float(clearance_mm)
    if not np.isfinite(clearance) or clearance < 0:
        raise LayoutError(f"clearance must be a finite distance ≥ 0 mm, got {clearance_mm!r}")
    if clearance == 0 and not (a > 0).all():
        raise LayoutError("a zero clearance needs every contact radius > 0 (points would coincide)")

    n = a.size
    # Pad every disc by half the clearance: then "no overlap" of padded discs is the requirement.
    r = a + clearance / 2
    order = np.argsort(-r, kind="stable")
    cx = np.zeros(n)
    cy = np.zeros(n)
    active = np.zeros(n, dtype=bool)  # discs that still had free room beside them at the last step
    reopen_below = r[order[0]] / 2  # a much smaller disc may fit where a larger one did not
    for step, i in enumerate(order):
        if step:
            placed = order[:step]
            if r[i] < reopen_below:
                active[placed] = True
                reopen_below = r[i] / 2
            cx[i], cy[i], still_open = _closest_free_position(r[i], cx, cy, r, placed, placed[active[placed]])
            active[placed] = False
            active[still_open] = True
        active[i] = True
    cx -= cx.mean()
    cy -= cy.mean()
    return cx, cy


def _closest_free_position(radius, cx, cy, r, placed, frontier):
    """Free centre for a disc of `radius` closest to the origin, and the frontier discs with room.

    Candidates are built around the `frontier` discs only (discs fully surrounded stay
    surrounded as discs only get added and shrink); every candidate is tested against
    every placed disc, so the result never overlaps, whatever the frontier.
    """
    px, py = cx[frontier], cy[frontier]
    reach = r[frontier] + radius  # centre distance at which the new disc touches each frontier disc
    # Candidates tangent to one disc, on the side facing the origin (+x for a disc at the origin).
    dist = np.hypot(px, py)
    safe = np.where(dist > 0, dist, 1.0)
    ux = np.where(dist > 0, -px / safe, 1.0)
    uy = np.where(dist > 0, -py / safe, 0.0)
    ax = np.hypot(cx[placed], cy[placed])
    outside = np.max(ax + r[placed]) + radius  # beyond every placed disc: always free
    cand_x = [px + reach * ux, [outside]]
    cand_y = [py + reach * uy, [0.0]]
    owner_j = [np.arange(px.size), [-1]]
    owner_k = [np.arange(px.size), [-1]]
    # Candidates tangent to two discs j, k (circle-circle intersection of radii reach_j, reach_k).
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
    qx, qy, qreach = cx[placed], cy[placed], r[placed] + radius
    # Only discs that can reach some candidate matter: skip those deep inside (a ring test, always safe).
    cand_r = np.hypot(x, y)
    disc_r = np.hypot(qx, qy)
    near = (disc_r + qreach >= cand_r.min()) & (disc_r - qreach <= cand_r.max())
    qx, qy, limit = qx[near], qy[near], np.square(np.maximum(qreach[near] - _TOUCH_TOL, 0.0))
    for start in range(0, x.size, _CHUNK):  # chunks bound the (candidates × discs) memory
        sl = slice(start, start + _CHUNK)
        d2 = np.square(x[sl, None] - qx[None, :]) + np.square(y[sl, None] - qy[None, :])
        free[sl] = (d2 >= limit[None, :]).all(axis=1)
    has_room = np.zeros(px.size, dtype=bool)
    has_room[oj[free & (oj >= 0)]] = True
    has_room[ok_[free & (ok_ >= 0)]] = True
    fx, fy = x[free], y[free]
    best = int(np.argmin(fx * fx + fy * fy))
    return fx[best], fy[best], frontier[has_room]


def packing_density(contact_radius_mm, x_mm, y_mm, *, clearance_mm: float = DEFAULT_CLEARANCE_MM) -> float:
    """Area of the discs (each padded by half the clearance) over the area of the circle around them.

    The circle is centred on the area-weighted centroid and just encloses every padded disc.
    1 would be impossible; hexagonal packing of equal discs in a large circle tends to 0.91.
    """
    r = np.asarray(contact_radius_mm, dtype=np.float64) + clearance_mm / 2
    x = np.asarray(x_mm, dtype=np.float64)
    y = np.asarray(y_mm, dtype=np.float64)
    w = r ** 2 / np.sum(r ** 2)
    enclosing = np.max(np.hypot(x - w @ x, y - w @ y) + r)
    return float(np.sum(r ** 2) / enclosing ** 2)


def smallest_gap_mm(contact_radius_mm, x_mm, y_mm) -> float:
    """Smallest edge-to-edge distance between two contact discs [mm] (negative: they overlap)."""
    a = np.asarray(contact_radius_mm, dtype=np.float64)
    x = np.asarray(x_mm, dtype=np.float64)
    y = np.asarray(y_mm, dtype=np.float64)
    i, j = np.triu_indices(a.size, 1)
    return float(np.min(np.hypot(x[i] - x[j], y[i] - y[j]) - a[i] - a[j]))


def layout_for(asperities, E_star_MPa: float, *, clearance_mm: float = DEFAULT_CLEARANCE_MM):
    """Layout (x_mm, y_mm) of realised asperities (studio.physics.Asperities) pressed at 10 N.

    Contact radii come from the Hertz model of the whole interface at 10 N
    (studio.physics.contact_radius_mm).
    """
    from studio.physics.friction import contact_radius_mm

    radii = contact_radius_mm(asperities.height_mm, asperities.radius_mm, E_star_MPa, LAYOUT_LOAD_N)
    return fabrication_layout(radii, clearance_mm=clearance_mm)
