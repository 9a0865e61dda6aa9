"""What a design shows beyond its law: spread band, fabrication layout, contact discs, mixture pdfs (no Qt).

Also the design's fabrication geometry (asperity spheres on its layout), which the studio's
File ▸ Export for fabrication writes with studio.io.export.

`compute_details(design)` runs in a worker (JAX: ~10 ms warm, seconds on a first call);
the studio's inspector and any workspace that draws a layout read its `DesignDetails`.
A design read from a design file keeps the layout stored in the file (`Design.layout`);
otherwise the layout is studio.physics.layout_for's, the same one design files are written with.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from studio.design import load_range
from studio.design.core import Design
from studio.physics import normalise_weights
from studio.physics.theta import E_STAR_IDX, MU_H_IDX, MU_R_IDX, N_COMPONENTS, SD_H_IDX, SD_R_IDX, W_IDX


@dataclass
class DesignDetails:
    """Band over seeds, layout and contact radii per grid load of one design."""

    band_p05: np.ndarray
    band_p95: np.ndarray
    x_mm: np.ndarray
    y_mm: np.ndarray
    contact_radius_mm: np.ndarray  # (128, N): Hertz contact radius of each asperity at each load of its grid
    hertz_valid: bool
    layout: object | None = None  # the studio.physics.layout.Layout that x_mm, y_mm come from (levels, sizes)


def compute_details(design: Design) -> DesignDetails:
    """Band, layout and contact radii of a design at its load range (call it in a worker)."""
    from studio.physics import indentation_mm, spread_band

    a = design.real_asperities()
    e_star = float(design.theta[E_STAR_IDX])
    if design.band_p05 is not None and design.band_p95 is not None:
        lo, hi = np.asarray(design.band_p05), np.asarray(design.band_p95)
    else:
        k = load_range.force_scale(design.max_load_N)
        lo, hi = (k * np.asarray(b) for b in spread_band(design.theta, design.N, design.seed))
    d = indentation_mm(a.height_mm, a.radius_mm, e_star, design.load_N)
    radii = np.sqrt(np.asarray(a.radius_mm)[None, :] * d)
    layout = design_layout(design)
    return DesignDetails(lo, hi, np.asarray(layout.x_mm), np.asarray(layout.y_mm), radii,
                         bool(design.hertz_valid), layout)


@dataclass(frozen=True)
class CardFacts:
    """What tells one design from another at a glance (a gallery card): its stiffness, how far its
    contacts strain, and how big the part is. The seed alone says none of this."""

    e_star_MPa: float  # effective modulus E* of the material
    max_d_over_R: float  # largest indentation / tip radius of any contact at the design's largest load
    hertz_valid: bool  # max_d_over_R ≤ HERTZ_LIMIT (small-strain Hertz theory holds)
    footprint_mm: tuple[float, float]  # width × depth of the fabrication layout (caps at the plate)


def card_facts(design: Design) -> CardFacts:
    """A design's card facts (call it in a worker: JAX indentation ~2 ms warm, the layout 30–110 ms)."""
    from studio.physics import HERTZ_LIMIT, hertz_strain

    a = design.real_asperities()
    e_star = float(design.theta[E_STAR_IDX])
    strain = float(hertz_strain(a.height_mm, a.radius_mm, e_star, design.max_load_N))
    w, d = design_layout(design).footprint_mm
    return CardFacts(e_star, strain, strain <= HERTZ_LIMIT, (float(w), float(d)))


def facts_at_load_range(facts: CardFacts | None, old_max_load_N: float, new_max_load_N: float):
    """Card facts of a design moved to another load range: d/R is unchanged (both scale alike), sizes ×√."""
    if facts is None or old_max_load_N == new_max_load_N:
        return facts
    lengths = float(np.sqrt(float(new_max_load_N) / float(old_max_load_N)))
    return replace(facts, footprint_mm=tuple(v * lengths for v in facts.footprint_mm))


def details_at_load_range(details: DesignDetails | None, old_max_load_N: float, new_max_load_N: float):
    """The details of a design moved from one load range to another (studio.design.load_range.at_load_range)."""
    if details is None or old_max_load_N == new_max_load_N:
        return details
    forces = float(new_max_load_N) / float(old_max_load_N)
    lengths = float(np.sqrt(forces))
    return replace(details, band_p05=details.band_p05 * forces, band_p95=details.band_p95 * forces,
                   x_mm=details.x_mm * lengths, y_mm=details.y_mm * lengths,
                   contact_radius_mm=details.contact_radius_mm * lengths,
                   layout=load_range.scale_layout(details.layout, lengths))


def design_layout(design: Design):
    """A design's fabrication layout (studio.physics.layout.Layout): the one read with it, else layout_for's
    on the canonical geometry, scaled to the design's load range (the layout scales exactly: physics.md §2)."""
    from studio.physics import layout_for, realize

    if design.layout is not None:
        return design.layout
    lengths = load_range.length_scale(design.max_load_N)
    real = design.real_asperities()
    canonical = realize(design.theta, design.N, design.seed) if lengths != 1.0 else real
    # The greedy packing breaks ties on exact distances, so it is given the canonical realisation itself
    # (not the real one divided by λ, a rounding off) whenever the design is (θ, N, seed)'s.
    if lengths != 1.0 and not np.allclose(canonical.height_mm * lengths, real.height_mm, rtol=1e-12, atol=0):
        canonical = load_range.scale_asperities(real, 1.0 / lengths)
    return load_range.scale_layout(layout_for(canonical, float(design.theta[E_STAR_IDX])), lengths)


def with_layout(details: DesignDetails, layout) -> DesignDetails:
    """The same details on another layout of the same asperities (a spacing search's): positions only."""
    from dataclasses import replace

    return replace(details, x_mm=np.asarray(layout.x_mm), y_mm=np.asarray(layout.y_mm), layout=layout)


def fabrication_geometry(design: Design):
    """The design's asperity caps on its layout's plate (studio.io.export.Geometry), in real millimetres:
    for STL and height maps."""
    from studio.io.export import Geometry

    a = design.real_asperities()
    return Geometry.from_layout(a.height_mm, a.radius_mm, design_layout(design))


def mixture_pdfs(theta: np.ndarray, values: np.ndarray, which: str, max_load_N: float = 10.0) -> np.ndarray:
    """(components, len(values)) weighted Gaussian pdfs of height ('h') or radius ('R') per component [1/mm],
    of canonical θ's mixture at the load range max_load_N (values in real mm)."""
    t = load_range.real_theta(theta, max_load_N)
    w = np.asarray(normalise_weights(t[W_IDX]))
    mean, sd = (t[MU_H_IDX], t[SD_H_IDX]) if which == "h" else (t[MU_R_IDX], t[SD_R_IDX])
    sd = np.maximum(sd, 1e-3 * load_range.length_scale(max_load_N))[:, None]
    return w[:, None] * np.exp(-0.5 * ((values[None, :] - mean[:, None]) / sd) ** 2) / (sd * np.sqrt(2 * np.pi))


__all__ = ["DesignDetails", "compute_details", "design_layout", "details_at_load_range", "fabrication_geometry",
           "mixture_pdfs", "with_layout",
           "N_COMPONENTS"]
