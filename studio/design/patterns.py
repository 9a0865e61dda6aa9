"""The contact pattern of a design at every load of its grid: the CNN-MLP's prediction, the stored BEM's word (no Qt).

`pattern_strip(design, predictor)` runs in a worker (~10–20 ms warm; loading the model ~0.3 s once):
the design's layout (studio.design.details.design_layout: the file's, else layout_for's) at its load
range is brought to the canonical 10 N range the model was trained on (lengths scale exactly,
physics.md §2: the pattern at grid load k is the canonical design's at canonical grid load k),
then studio.models.patterns predicts the pattern at each of the 128 grid loads.

Where the design carries a stored BEM validation (a design file's /validation group), its pattern at
each validated load is read from the solution (studio.physics.patterns.classify on its area change
and load shares; the file keeps no patch-merging flags, so a stored result never says "coalesced")
and wins over the prediction at the nearest grid load; `disagreements` lists where they differ.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from studio.design import load_range
from studio.design.core import Design
from studio.physics.patterns import PATTERNS, classify


@dataclass(eq=False)  # holds arrays: compare fields, not objects
class PatternStrip:
    """Pattern of one design at each load of its grid (K,): predicted, and shown (the BEM's where stored)."""

    loads_N: np.ndarray
    predicted: np.ndarray  # (K,) index into names
    probability: np.ndarray  # (K, classes)
    shown: np.ndarray  # (K,) predicted, replaced by the stored BEM pattern at the grid loads nearest its loads
    from_bem: np.ndarray  # (K,) bool: `shown` comes from the stored BEM result here
    disagreements: list = field(default_factory=list)  # (load_N, predicted name, BEM name) where they differ
    names: tuple = PATTERNS

    def describe(self, k: int) -> str:
        """One line for grid load k: the pattern shown, where it comes from, and a disagreement if any."""
        load = float(self.loads_N[k])
        shown = self.names[int(self.shown[k])]
        if self.from_bem[k]:
            predicted = self.names[int(self.predicted[k])]
            if predicted != shown:
                return (f"Contact at {load:.3g} N: {shown} (stored BEM result; the model predicts {predicted} "
                        f"and disagrees)")
            return f"Contact at {load:.3g} N: {shown} (stored BEM result; the model agrees)"
        p = float(self.probability[k, int(self.predicted[k])])
        return f"Contact at {load:.3g} N: {shown} (predicted, {100 * p:.0f} %)"


def bem_patterns(validation) -> tuple[np.ndarray, np.ndarray]:
    """(loads_N, pattern index) of a stored studio.design.validation.Validation, per validated load."""
    loads = np.asarray(validation.loads_N, dtype=np.float64)
    area_ind = np.asarray(validation.area_independent_mm2, dtype=np.float64)
    change = 100.0 * (np.asarray(validation.area_bem_mm2, dtype=np.float64) / np.where(area_ind > 0, area_ind, 1.0)
                      - 1.0)
    per = np.asarray(validation.asperity_load_N, dtype=np.float64)
    total = per.sum(axis=1)
    largest = per.max(axis=1) / np.where(total > 0, total, 1.0)
    return loads, classify(change, np.zeros_like(change), largest).astype(np.int64)


def pattern_strip(design: Design, predictor, layout=None) -> PatternStrip:
    """The PatternStrip of a design (call it in a worker); layout: its studio.physics.layout.Layout if known."""
    from studio.design.details import design_layout
    from studio.physics.layout import ALGORITHM

    if layout is None:
        layout = design_layout(design)
    lengths = load_range.length_scale(design.max_load_N)  # the pattern dataset is on the canonical 10 N range
    a = load_range.scale_asperities(design.real_asperities(), 1.0 / lengths)
    x = np.asarray(layout.x_mm, dtype=np.float64) / lengths
    y = np.asarray(layout.y_mm, dtype=np.float64) / lengths
    loads = np.asarray(design.load_N, dtype=np.float64)
    canonical_loads = loads / load_range.force_scale(design.max_load_N)
    rule = 0 if str(getattr(layout, "algorithm", ALGORITHM)) == ALGORITHM else 1  # 1: an older file's disc packing
    p = predictor.predict(a.height_mm, a.radius_mm, x, y, a.component, design.theta,
                          float(layout.clearance_mm) / lengths, rule, canonical_loads)
    shown, from_bem, disagreements = p.pattern.copy(), np.zeros(loads.size, dtype=bool), []
    validation = getattr(design, "validation", None)
    if validation is not None and validation.matches_layout(layout.x_mm, layout.y_mm):
        bem_loads, bem = bem_patterns(validation)
        for load, pattern in zip(bem_loads, bem):
            k = int(np.argmin(np.abs(np.log(loads) - np.log(load))))
            shown[k], from_bem[k] = pattern, True
            if pattern != p.pattern[k]:
                disagreements.append((float(load), p.names[int(p.pattern[k])], p.names[int(pattern)]))
    return PatternStrip(loads, p.pattern, p.probability, shown, from_bem, disagreements, tuple(p.names))
