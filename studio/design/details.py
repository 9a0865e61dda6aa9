"""What a design shows beyond its law: spread band, fabrication layout, contact discs, mixture pdfs (no Qt).

Also the design's fabrication geometry (asperity spheres on its layout), which the studio's
File ▸ Export for fabrication writes with studio.io.export.

`compute_details(design)` runs in a worker (JAX: ~10 ms warm, seconds on a first call);
the studio's inspector and any workspace that draws a layout read its `DesignDetails`.
A design read from a design file keeps the layout stored in the file (`Design.layout`);
otherwise the layout is studio.physics.layout_for's, the same one design files are written with.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from studio.design.core import Design
from studio.physics import LOAD_GRID_N, normalise_weights
from studio.physics.theta import E_STAR_IDX, MU_H_IDX, MU_R_IDX, N_COMPONENTS, SD_H_IDX, SD_R_IDX, W_IDX


@dataclass
class DesignDetails:
    """Band over seeds, layout and contact radii per grid load of one design."""

    band_p05: np.ndarray
    band_p95: np.ndarray
    x_mm: np.ndarray
    y_mm: np.ndarray
    contact_radius_mm: np.ndarray  # (128, N): Hertz contact radius of each asperity at each grid load
    hertz_valid: bool
    layout: object | None = None  # the studio.physics.layout.Layout that x_mm, y_mm come from (levels, sizes)


def compute_details(design: Design) -> DesignDetails:
    """Band, layout and contact radii of a design (call it in a worker)."""
    from studio.physics import hertz_valid, indentation_mm, realize, spread_band

    a = design.asperities if design.asperities is not None else realize(design.theta, design.N, design.seed)
    e_star = float(design.theta[E_STAR_IDX])
    if design.band_p05 is not None and design.band_p95 is not None:
        lo, hi = np.asarray(design.band_p05), np.asarray(design.band_p95)
    else:
        lo, hi = spread_band(design.theta, design.N, design.seed)
    d = indentation_mm(a.height_mm, a.radius_mm, e_star, LOAD_GRID_N)
    radii = np.sqrt(np.asarray(a.radius_mm)[None, :] * d)
    layout = design_layout(design)
    return DesignDetails(lo, hi, np.asarray(layout.x_mm), np.asarray(layout.y_mm), radii,
                         bool(hertz_valid(a.height_mm, a.radius_mm, e_star)), layout)


def design_layout(design: Design):
    """A design's fabrication layout (studio.physics.layout.Layout): the one read with it, else layout_for's."""
    from studio.physics import layout_for, realize

    if design.layout is not None:
        return design.layout
    a = design.asperities if design.asperities is not None else realize(design.theta, design.N, design.seed)
    return layout_for(a, float(design.theta[E_STAR_IDX]))


def fabrication_geometry(design: Design):
    """The design's asperity caps on its layout's plate (studio.io.export.Geometry): for STL and height maps."""
    from studio.io.export import Geometry
    from studio.physics import realize

    a = design.asperities if design.asperities is not None else realize(design.theta, design.N, design.seed)
    return Geometry.from_layout(a.height_mm, a.radius_mm, design_layout(design))


def mixture_pdfs(theta: np.ndarray, values: np.ndarray, which: str) -> np.ndarray:
    """(components, len(values)) weighted Gaussian pdfs of height ('h') or radius ('R') per component [1/mm]."""
    t = np.asarray(theta, dtype=np.float64)
    w = np.asarray(normalise_weights(t[W_IDX]))
    mean, sd = (t[MU_H_IDX], t[SD_H_IDX]) if which == "h" else (t[MU_R_IDX], t[SD_R_IDX])
    sd = np.maximum(sd, 1e-3)[:, None]
    return w[:, None] * np.exp(-0.5 * ((values[None, :] - mean[:, None]) / sd) ** 2) / (sd * np.sqrt(2 * np.pi))


__all__ = ["DesignDetails", "compute_details", "design_layout", "fabrication_geometry", "mixture_pdfs",
           "N_COMPONENTS"]
