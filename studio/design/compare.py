"""Two or three designs side by side: everything the compare view shows, computed here (no Qt).

`design_facts(design, target, details)` gathers one design's law, residual per load, mixture
pdfs, asperities, layout with contact discs at the largest load, material (E*, τ0, B), validity
(largest d/R at the largest load, Hertz validity) and functional sMAPE, from the design and its
`studio.design.details.DesignDetails`. `compare_job(designs, target, details=...)` is a job
(studio.jobs): it computes the details a design lacks (compute_details, seconds on a first call)
and returns one `DesignFacts` per design, so the studio's compare view only draws numbers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from studio.design.core import Design, JobControl, Target
from studio.design.details import DesignDetails, card_facts, compute_details, mixture_pdfs
from studio.design.load_range import length_scale
from studio.physics.theta import B_IDX, TAU0_IDX

MAX_COMPARED = 3  # designs side by side: more no longer fit a screen's width with readable plots


@dataclass
class DesignFacts:
    """What the compare view shows of one design (real units: its load range's)."""

    name: str
    method: str
    N: int
    smape_percent: float | None  # functional sMAPE against the target (None without one)
    e_star_MPa: float
    tau0_MPa: float
    B: float
    largest_d_over_R: float  # largest indentation / tip radius at the largest load (Hertz: ≤ 0.25)
    hertz_valid: bool
    footprint_mm: tuple[float, float]  # the layout's caps, width × depth (studio.physics.layout.Layout.footprint_mm)
    load_N: np.ndarray  # (128,) the design's load grid
    friction_N: np.ndarray  # (128,) its law
    residual_percent: np.ndarray  # (128,) (design − target)/target, NaN where the target is not specified
    height_values_mm: np.ndarray  # the axes of the mixture pdfs
    height_pdf: np.ndarray  # (components, n) per component [1/mm]
    radius_values_mm: np.ndarray
    radius_pdf: np.ndarray
    height_mm: np.ndarray  # (N,) the asperities
    radius_mm: np.ndarray
    component: np.ndarray
    x_mm: np.ndarray  # (N,) layout positions
    y_mm: np.ndarray
    contact_radius_mm: np.ndarray  # (N,) contact disc radii at the largest load

    def table_row(self) -> dict:
        """The numbers of the view's table, rounded as shown (the tests compare these)."""
        return {"N": self.N, "sMAPE %": None if self.smape_percent is None else round(self.smape_percent, 2),
                "E* MPa": round(self.e_star_MPa, 3), "τ0 MPa": round(self.tau0_MPa, 4), "B": round(self.B, 4),
                "largest d/R": round(self.largest_d_over_R, 4), "Hertz valid": self.hertz_valid,
                "footprint mm": "{:.1f} × {:.1f}".format(*self.footprint_mm)}


def design_facts(design: Design, target: Target | None, details: DesignDetails) -> DesignFacts:
    """One design's facts from the design and its details; E*, the largest d/R and Hertz validity are the
    gallery cards' (studio.design.details.card_facts), the footprint that of the layout drawn (the details')."""
    a = design.real_asperities()
    theta = np.asarray(design.theta)
    card = card_facts(design)
    scale = length_scale(design.max_load_N)
    h = np.linspace(-0.2, 1.4, 240) * scale  # the design box's axes in real millimetres, as the inspector's
    r = np.linspace(0.0, 5.0, 240) * scale
    law = design.real_law()
    scored = target is not None and target.max_load_N == design.max_load_N
    residual = design.residual_percent(target) if scored else np.full(law.shape, np.nan)
    layout = details.layout
    footprint = tuple(float(v) for v in layout.footprint_mm) if layout is not None else card.footprint_mm
    return DesignFacts(
        name=design.name or "design", method=design.method or "", N=design.N,
        smape_percent=target.error(law) if scored else design.error_percent,
        e_star_MPa=card.e_star_MPa, tau0_MPa=float(theta[TAU0_IDX]), B=float(theta[B_IDX]),
        largest_d_over_R=card.max_d_over_R, hertz_valid=card.hertz_valid, footprint_mm=footprint,
        load_N=np.asarray(design.load_N), friction_N=np.asarray(law), residual_percent=residual,
        height_values_mm=h, height_pdf=mixture_pdfs(theta, h, "h", design.max_load_N),
        radius_values_mm=r, radius_pdf=mixture_pdfs(theta, r, "R", design.max_load_N),
        height_mm=np.asarray(a.height_mm), radius_mm=np.asarray(a.radius_mm), component=np.asarray(a.component),
        x_mm=np.asarray(details.x_mm), y_mm=np.asarray(details.y_mm),
        contact_radius_mm=np.asarray(details.contact_radius_mm)[-1])


@dataclass
class CompareProgress:
    """One report of the compare job."""

    fraction: float
    message: str
    iteration: int = 0


def compare_job(designs: list[Design], target: Target | None, *, details: list | None = None,
                details_fn: Callable[[Design], DesignDetails] = compute_details,
                control: JobControl | None = None) -> Iterator[CompareProgress]:
    """The facts of up to MAX_COMPARED designs; `details[i]` (None where missing) are computed with `details_fn`.
    Returns list[DesignFacts] in the designs' order."""
    designs = list(designs)[:MAX_COMPARED]
    known = list(details or [])[:len(designs)]
    known += [None] * (len(designs) - len(known))
    facts = []
    for i, (design, det) in enumerate(zip(designs, known)):
        if control is not None:
            control.checkpoint()
        yield CompareProgress(i / max(len(designs), 1), f"details of {design.name or 'design'}", i)
        if det is None:
            det = details_fn(design)
        facts.append(design_facts(design, target, det))
    yield CompareProgress(1.0, f"{len(facts)} designs compared", len(designs))
    return facts


__all__ = ["MAX_COMPARED", "DesignFacts", "design_facts", "CompareProgress", "compare_job"]
