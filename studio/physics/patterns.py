"""Contact patterns: what a boundary-element solution of a laid-out interface looks like, in one word.

The independent-asperity law (physics.md §1) holds when every contact behaves as if alone. The
BEM solution (studio.physics.contact) says whether it does, and if not, why. Per (layout, load)
`contact_stats` reduces a ContactSolution to a few numbers, and `classify` names the dominant
pattern (definitions and the data behind them: docs/patterns.md):

    isolated     separate patches, total contact area within AREA_TOLERANCE_PERCENT of the
                 independent-asperity prediction: the promised law holds at this load
    interacting  separate patches, area off by more than that: the neighbours' push (through the
                 shared elastic body) changes the law
    coalesced    patches of neighbouring asperities merged, carrying at least COALESCED_LOAD_SHARE of
                 the load: the contact is no longer a set of Hertz contacts
    dominated    one asperity carries more than DOMINATED_LOAD_SHARE of the load (more than all the
                 others together): the law at this load is that of a single cap (and of its fabrication)

Checked in this order (coalesced, dominated, interacting, isolated): the first that applies names
the pattern. Numpy only; the solve itself is studio.physics.contact's.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

PATTERNS = ("isolated", "interacting", "coalesced", "dominated")
ISOLATED, INTERACTING, COALESCED, DOMINATED = range(4)
AREA_TOLERANCE_PERCENT = 2.0  # |A_BEM / A_independent − 1| within this: the independent law holds
COALESCED_LOAD_SHARE = 0.10  # merged patches carrying at least this share of the load
DOMINATED_LOAD_SHARE = 0.5  # the largest contact carrying more than this share of the load


@dataclass
class ContactStats:
    """The numbers a pattern is read from, for one (layout, load)."""

    load_N: float
    area_bem_mm2: float
    area_independent_mm2: float
    contacts_bem: int  # asperities carrying load in the BEM solution
    contacts_independent: int  # asperities touching in the independent model
    coalesced_load_share: float  # share of the load carried by asperities whose patch merged with a neighbour's
    largest_load_share: float  # share of the load carried by the most loaded asperity

    @property
    def area_change_percent(self) -> float:
        return 100.0 * (self.area_bem_mm2 / self.area_independent_mm2 - 1.0)

    def as_dict(self) -> dict:
        return {**asdict(self), "area_change_percent": self.area_change_percent}


def contact_stats(solution, independent_area_mm2, independent_load_N) -> ContactStats:
    """ContactStats of a studio.physics.contact.ContactSolution beside the independent prediction
    (per-asperity areas [mm²] and loads [N] at the same load, from independent_contacts)."""
    load = np.asarray(solution.asperity_load_N, dtype=np.float64)
    total = float(load.sum())
    share = load / total if total > 0 else np.zeros_like(load)
    return ContactStats(
        load_N=float(solution.load_N), area_bem_mm2=float(solution.contact_area_mm2),
        area_independent_mm2=float(np.sum(independent_area_mm2)), contacts_bem=int(np.count_nonzero(load > 0)),
        contacts_independent=int(np.count_nonzero(np.asarray(independent_load_N) > 0)),
        coalesced_load_share=float(share[np.asarray(solution.coalesced, dtype=bool)].sum()),
        largest_load_share=float(share.max()) if share.size else 0.0)


def classify(area_change_percent, coalesced_load_share, largest_load_share) -> np.ndarray:
    """Pattern indices (into PATTERNS) from the stats' three numbers (scalars or arrays of one shape)."""
    change = np.abs(np.asarray(area_change_percent, dtype=np.float64))
    merged = np.asarray(coalesced_load_share, dtype=np.float64) >= COALESCED_LOAD_SHARE
    single = np.asarray(largest_load_share, dtype=np.float64) > DOMINATED_LOAD_SHARE
    return np.where(merged, COALESCED, np.where(single, DOMINATED, np.where(change > AREA_TOLERANCE_PERCENT,
                                                                              INTERACTING, ISOLATED))).astype(np.int8)


def pattern_of(stats: ContactStats) -> str:
    """The pattern's name for one ContactStats."""
    return PATTERNS[int(classify(stats.area_change_percent, stats.coalesced_load_share, stats.largest_load_share))]


def solve_pattern(interface, load_N: float, **grid_options) -> tuple[str, ContactStats]:
    """Solve one (layout, load) with the BEM and name its pattern (hand-built layouts, spot checks)."""
    from studio.physics.contact import independent_contacts, solve_at

    _, load, area = independent_contacts(interface, [load_N])
    stats = contact_stats(solve_at(interface, load_N, **grid_options), area[0], load[0])
    return pattern_of(stats), stats


# ------------------------------------------------------------------------------------- structural image

IMAGE_PIXELS = 64
IMAGE_CHANNELS = 4  # one per mixture component (studio.physics.theta.N_COMPONENTS)
IMAGE_DEPTHS = 2.0  # the image shows heights from the top summit down to this many (top − g_low) below it
VIEW_MARGIN = 1.05


@dataclass(frozen=True, eq=False)  # holds an array: compare fields, not objects
class StructuralImage:
    """The laid-out surface before contact, as the pattern models see it.

    pixels: (IMAGE_CHANNELS, P, P) float32; channel k holds, where the highest cap belongs to mixture
    component k, the height v = 1 − (top − z) / (IMAGE_DEPTHS·depth_mm) clipped to [0, 1] (the top
    summit 1, the flat's lowest position g_low 1 − 1/IMAGE_DEPTHS), 0 elsewhere. The square covers a
    disc of radius view_mm around the centroid of the touching caps, so turning the layout about any
    point only turns the picture. depth_mm = top − g_low: the height scale; pixel_mm: the length scale.
    """

    pixels: np.ndarray
    view_mm: float
    depth_mm: float
    centre_mm: tuple

    @property
    def pixel_mm(self) -> float:
        return 2.0 * self.view_mm / self.pixels.shape[-1]

    def level(self, z_mm, top_mm: float) -> np.ndarray:
        """Image height v of absolute heights z [mm] (e.g. the flat's position at a load)."""
        return 1.0 - (top_mm - np.asarray(z_mm, dtype=np.float64)) / (IMAGE_DEPTHS * self.depth_mm)


def structural_image(height_mm, radius_mm, x_mm, y_mm, channel, flat_lowest_mm: float,
                     pixels: int = IMAGE_PIXELS) -> StructuralImage:
    """The StructuralImage of a layout: caps (h, R) at (x, y) [mm], the channel of each (its mixture
    component, ranked by mean height as in studio.physics.canonical), g_low [mm]."""
    from studio.physics.contact import Grid, Interface, surface_of

    h = np.asarray(height_mm, dtype=np.float64)
    R = np.asarray(radius_mm, dtype=np.float64)
    x = np.asarray(x_mm, dtype=np.float64)
    y = np.asarray(y_mm, dtype=np.float64)
    comp = np.asarray(channel, dtype=np.int64)
    top = float(h.max())
    depth = max(top - float(flat_lowest_mm), 1e-6)
    bottom = top - IMAGE_DEPTHS * depth
    touching = h > flat_lowest_mm
    if not touching.any():
        touching = h >= top
    cx, cy = float(x[touching].mean()), float(y[touching].mean())
    shown = h > bottom
    reach = np.hypot(x[shown] - cx, y[shown] - cy) + np.sqrt(2 * R[shown] * (h[shown] - bottom))
    view = VIEW_MARGIN * float(reach.max())
    cell = 2 * view / pixels
    grid = Grid(cx - view, cy - view, cell, (pixels, pixels))
    z, owner = surface_of(Interface(h[shown], R[shown], x[shown], y[shown], 1.0), grid, floor_mm=bottom)
    v = np.clip(1.0 - (top - z) / (IMAGE_DEPTHS * depth), 0.0, 1.0)
    image = np.zeros((IMAGE_CHANNELS, pixels, pixels), dtype=np.float32)
    who = np.nonzero(owner >= 0)
    image[comp[shown][owner[who]] % IMAGE_CHANNELS, who[0], who[1]] = v[who]
    return StructuralImage(image, view, depth, (cx, cy))


# ------------------------------------------------------------------------------------ cheap estimates

SHARPEN_CAP = 0.9  # the shape term is first order; a contact never loses more than this share of its area to it


def interaction_estimate(x_mm, y_mm, radius_mm, E_star_MPa: float, gap_mm, asperity_load_N, steps: int = 8,
                         newton: int = 6, shape: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Area change [%] and the largest asperity's load share after a few interaction steps, per load (K,):
    the pattern models' best hints (milliseconds).

    Each contact's load pushes every other summit down by the point-load Boussinesq displacement
    P / (π E* r) (a matrix product over all loads at once); the flat then settles where the pushed
    Hertz contacts carry the same load again (Newton on its position); `steps` damped rounds of that.
    Then each contact's shape: the neighbours' push is curved over it (its Laplacian, Σ_j P_j / (π E* r³)
    for point loads), which sharpens the cap, so at its load the contact's area falls by the fraction
    S_i = R_i · Σ_j P_j / (3π E* r_ij³) (Hertz area ∝ R^(2/3); the two-sphere trend of benchmarks/bem.py),
    at most SHARPEN_CAP. The contact area is then compared with the independent one.
    studio.physics.contact.first_order_contacts does the load part with Hertz pressure fields to
    convergence in JAX solves (~1.7 s a layout at 8 loads); this takes a few milliseconds and is a hint
    for the models, not a prediction. On the 5 267 isolated and interacting pairs of the pattern dataset
    (benchmarks/pattern_estimate.py) its correlation with the BEM's area change is 0.999 (0.925 without the
    shape term, at 4 rounds), and |estimate| > 2 % alone names the class of 97.6 % of them (82.1 %).
    gap_mm: summit height above the independent model's flat (K, N), negative for summits that miss it;
    asperity_load_N: the independent model's loads (K, N) (studio.physics.contact.independent_contacts).
    shape=False leaves the shape term out (benchmarks/pattern_estimate.py compares).
    """
    d = np.asarray(gap_mm, dtype=np.float64)
    P = np.asarray(asperity_load_N, dtype=np.float64)
    x, y = np.asarray(x_mm, dtype=np.float64), np.asarray(y_mm, dtype=np.float64)
    r = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    np.fill_diagonal(r, np.inf)
    green = 1.0 / (np.pi * E_star_MPa * np.maximum(r, 1e-9))  # point-load Boussinesq: push per newton
    # Summits further below the flat than the largest push can reach stay out of contact: leaving them out
    # makes the cost go with the summits that matter.
    heaviest = int(np.argmax(P.sum(axis=1)))
    keep = np.flatnonzero(d.max(axis=0) > -2.0 * float((P[heaviest] @ green).max()))
    d, P, green, r_keep = d[:, keep], P[:, keep], green[np.ix_(keep, keep)], r[np.ix_(keep, keep)]
    R = np.asarray(radius_mm, dtype=np.float64)[None, keep]
    # The rounds run in float32 (half the memory traffic, 40 % less time; the estimate moves by ~1e-5
    # points, far below anything the models resolve); the flat's move is predicted before each round's
    # Newton from the push's change (first order in the contacts' stiffness), so Newton starts close.
    f32 = np.float32
    depth, P, g32 = d.astype(f32), P.astype(f32), green.astype(f32)
    load = P.sum(axis=1)
    k = (4.0 / 3.0 * E_star_MPa * np.sqrt(R)).astype(f32)
    u = np.zeros_like(depth)
    shift = np.zeros(load.size, dtype=f32)  # how much further the flat moves down than in the independent model
    dd = np.maximum(depth, f32(0.0))
    stiffness = f32(1.5) * k * np.sqrt(dd)  # dP/d(depth) of each contact
    settled = 1e-6 * max(float(np.max(np.abs(depth))), 1e-12)  # a Newton step this small is float32 noise
    for _ in range(steps):
        new = f32(0.5) * u + f32(0.5) * (P @ g32)  # damped: soft materials push nearly as far as they indent
        total = stiffness.sum(axis=1)
        shift = shift + np.einsum("kn,kn->k", stiffness, new - u) / np.where(total > 0, total, f32(1.0))
        u = new
        base = depth - u
        for _ in range(newton):
            dd = base + shift[:, None]
            np.maximum(dd, f32(0.0), out=dd)
            kroot = k * np.sqrt(dd)
            f = np.einsum("kn,kn->k", kroot, dd) - load
            df = f32(1.5) * kroot.sum(axis=1)
            step = np.where(df > 0, f / np.where(df > 0, df, f32(1.0)), f32(0.0))
            shift = shift - step
            if float(np.max(np.abs(step))) < settled:
                break
        dd = np.maximum(base + shift[:, None], f32(0.0))
        kroot = k * np.sqrt(dd)
        P = kroot * dd
        stiffness = f32(1.5) * kroot
    P, dd = P.astype(np.float64), dd.astype(np.float64)
    # Point-load curvature for every pair (a matrix product over all loads); where two contacts nearly
    # meet it overstates the sharpening, which SHARPEN_CAP bounds (the same classes as with r ≥ a_i + a_j
    # on the dataset's first 66 shards).
    sharpen = R * (P @ (green / np.maximum(r_keep, 1e-9) ** 2)) / 3.0 if shape else np.zeros_like(dd)
    area_independent = (R * np.clip(d, 0.0, None)).sum(axis=1)
    area = (R * dd * (1.0 - np.clip(sharpen, 0.0, SHARPEN_CAP))).sum(axis=1)
    change = 100.0 * (area / np.where(area_independent > 0, area_independent, 1.0) - 1.0)
    return change, largest_share(P)


def largest_share(asperity_load_N) -> np.ndarray:
    """Share of each load carried by the most loaded asperity (K,), from per-asperity loads (K, N)."""
    P = np.asarray(asperity_load_N, dtype=np.float64)
    total = P.sum(axis=1)
    return P.max(axis=1) / np.where(total > 0, total, 1.0)
