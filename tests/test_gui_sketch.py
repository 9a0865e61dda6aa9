"""The target sketch (no Qt): strokes, points and presets become targets on the load grid."""
import numpy as np
import pytest

from studio.gui.sketch import SketchError, TargetSketch, preset_sketch, stroke_to_sketch
from studio.physics import LOAD_GRID_N


def test_stroke_is_sorted_smoothed_resampled_and_monotone():
    rng = np.random.default_rng(1)
    p = rng.uniform(2, 8, 200)                    # drawn out of order
    f = 0.2 * p + 0.02 * rng.standard_normal(200)
    s = stroke_to_sketch(p, f, monotone=True)
    assert s.law_N.shape == (128,)
    assert np.all(np.diff(s.law_N) >= 0)
    assert np.all(s.law_N > 0)
    inside = s.mask
    assert LOAD_GRID_N[inside][0] >= 2 and LOAD_GRID_N[inside][-1] <= 8
    np.testing.assert_allclose(s.law_N[inside], 0.2 * LOAD_GRID_N[inside], atol=0.03)


def test_stroke_may_decrease_when_not_forced_monotone():
    p = np.linspace(1, 9, 50)
    f = 2.0 - 0.1 * p
    assert np.any(np.diff(stroke_to_sketch(p, f, monotone=False).law_N[np.flatnonzero(
        stroke_to_sketch(p, f, monotone=False).mask)]) < 0)


def test_vertical_or_tiny_stroke_is_rejected_with_a_reason():
    with pytest.raises(SketchError, match="load axis"):
        stroke_to_sketch([3, 3, 3], [1, 2, 3])
    with pytest.raises(SketchError, match="at least 2 points"):
        stroke_to_sketch([-1, 12], [1, 2])


def test_handle_drag_moves_law_locally_and_keeps_it_positive():
    s = preset_sketch("linear", mu=0.3)
    i = len(s.handle_idx) // 2
    moved = s.with_handle(i, s.handle_friction_N[i] + 0.5)
    assert moved.handle_friction_N[i] == pytest.approx(s.handle_friction_N[i] + 0.5)
    assert moved.law_N[0] == pytest.approx(s.law_N[0])
    down = s.with_handle(0, -5.0)
    assert np.all(down.law_N > 0)


def test_presets_and_extrapolated_ranges():
    for name in ("linear", "power law", "bilinear"):
        s = preset_sketch(name, mu=0.4)
        assert s.mask.all() and np.all(np.diff(s.law_N) >= 0) and s.source == f"preset:{name}"
    with pytest.raises(SketchError, match="unknown preset"):
        preset_sketch("cubic")
    mask = (LOAD_GRID_N >= 3) & (LOAD_GRID_N <= 6)
    s = TargetSketch.from_law(np.where(mask, 0.3 * LOAD_GRID_N, np.nan), mask)
    assert np.all(np.isfinite(s.law_N)) and np.all(s.law_N > 0)
    assert s.target(64).error(s.law_N) == 0.0
