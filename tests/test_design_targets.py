"""The one target rule (studio.design.targets, no Qt): strokes, points, handles, presets and CSVs agree."""
import numpy as np
import pytest

from studio.design.targets import (
    EXTRAPOLATION_POINTS,
    SketchError,
    TargetSketch,
    non_decreasing,
    preset_sketch,
    stroke_to_sketch,
)
from studio.io.csv_target import parse_target_text
from studio.physics import LOAD_GRID_N


def _csv(p, f, max_load_N=10.0):
    """A CSV target on the 10 N grid (its load range given as `--max-load 10` would)."""
    rows = "\n".join(f"{float(a)!r},{float(b)!r}" for a, b in zip(p, f))  # repr: every digit, read back exactly
    return parse_target_text("load (N),friction (N)\n" + rows, "m.csv", max_load_N=max_load_N)


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
    s = stroke_to_sketch(p, 2.0 - 0.1 * p, monotone=False)
    assert np.all(np.diff(s.law_N[s.mask]) < 0)
    assert np.all(np.diff(s.with_monotone(True).law_N) >= 0)  # the toggle is the only place it is forced


def test_vertical_or_tiny_stroke_is_rejected_with_a_reason():
    with pytest.raises(SketchError, match="load axis"):
        stroke_to_sketch([3, 3, 3], [1, 2, 3])
    with pytest.raises(SketchError, match="at least 2 points"):
        stroke_to_sketch([-1, 12], [1, 2])


def test_clicked_points_and_a_csv_of_the_same_points_give_the_same_target():
    p = np.array([1.0, 1.7, 2.5, 3.1, 4.4, 5.2, 6.0])
    f = 0.07 * p + 0.01 * p ** 2
    clicked = stroke_to_sketch(p, f, monotone=False, smooth=False)
    csv = _csv(p, f)
    np.testing.assert_array_equal(clicked.mask, csv.mask)
    np.testing.assert_array_equal(clicked.law_N, csv.friction_N)   # inside and outside the points' range
    imported = TargetSketch.from_target(csv.to_target(32))
    np.testing.assert_array_equal(imported.law_N, csv.friction_N)  # taken as it is: never extrapolated twice
    t = imported.target(32)
    np.testing.assert_array_equal(t.friction_N, csv.to_target(32).friction_N)


def test_outside_the_points_the_law_continues_as_a_fitted_power_law():
    p = np.linspace(1.0, 6.0, 20)
    f = 0.07 * p + 0.01 * p ** 2
    law = _csv(p, f).friction_N
    below, above = LOAD_GRID_N < p[0], LOAD_GRID_N > p[-1]
    b_lo = np.polyfit(np.log(p[:EXTRAPOLATION_POINTS]), np.log(f[:EXTRAPOLATION_POINTS]), 1)[0]
    b_hi = np.polyfit(np.log(p[-EXTRAPOLATION_POINTS:]), np.log(f[-EXTRAPOLATION_POINTS:]), 1)[0]
    np.testing.assert_allclose(law[below], f[0] * (LOAD_GRID_N[below] / p[0]) ** b_lo, rtol=1e-9)
    np.testing.assert_allclose(law[above], f[-1] * (LOAD_GRID_N[above] / p[-1]) ** b_hi, rtol=1e-9)


def test_the_load_grid_is_a_parameter_of_the_rule():
    grid = 6.0 * np.arange(1, 129) / 128                        # a grid up to the data's largest load
    s = stroke_to_sketch([1.0, 3.0, 5.0], [0.2, 0.5, 0.7], smooth=False, load_grid_N=grid)
    assert s.mask[-1] == False and s.law_N.shape == (128,)      # noqa: E712 (5 N < 6 N)
    assert np.interp(3.0, grid, s.law_N) == pytest.approx(0.5)
    np.testing.assert_array_equal(s.handle_load_N, grid[list(s.handle_idx)])


def test_handle_drag_moves_law_locally_and_keeps_it_positive():
    s = preset_sketch("linear", mu=0.3)
    i = len(s.handle_idx) // 2
    moved = s.with_handle(i, s.handle_friction_N[i] + 0.5)
    assert moved.handle_friction_N[i] == pytest.approx(s.handle_friction_N[i] + 0.5)
    assert moved.law_N[0] == pytest.approx(s.law_N[0])
    down = s.with_handle(0, -5.0)
    assert np.all(down.law_N > 0)


def test_presets_and_a_partly_specified_law():
    for name in ("linear", "power law", "bilinear"):
        s = preset_sketch(name, mu=0.4)
        assert s.mask.all() and np.all(np.diff(s.law_N) >= 0) and s.source == f"preset:{name}"
    with pytest.raises(SketchError, match="unknown preset"):
        preset_sketch("cubic")
    with pytest.raises(SketchError, match="finite"):
        TargetSketch.from_law(np.full(128, np.nan))
    # A law specified on 3–6 N: errors count only there, whatever a design does outside.
    mask = (LOAD_GRID_N >= 3) & (LOAD_GRID_N <= 6)
    s = stroke_to_sketch(LOAD_GRID_N[mask], 0.3 * LOAD_GRID_N[mask], smooth=False)
    np.testing.assert_array_equal(s.mask, mask)
    target = s.target(64)
    design = np.where(mask, s.law_N * 1.01, s.law_N * 3.0)       # 1 % off inside, far off outside
    assert target.error(design) == pytest.approx(100 * 0.01 / 1.005, rel=1e-6)


def test_non_decreasing_is_the_running_maximum():
    np.testing.assert_array_equal(non_decreasing([1.0, 3.0, 2.0, 4.0, 0.5]), [1.0, 3.0, 3.0, 4.0, 4.0])


def test_handles_can_be_placed_at_given_loads():
    law = 0.3 * LOAD_GRID_N
    s = TargetSketch.from_law(law, handle_load_N=[1.0, 2.5, 7.5])
    np.testing.assert_allclose(s.handle_load_N, [LOAD_GRID_N[np.abs(LOAD_GRID_N - x).argmin()] for x in
                                                 (1.0, 2.5, 7.5)])
    np.testing.assert_array_equal(s.law_N, law)


def test_a_presets_parameters_are_changed_through_the_preset_rule():
    """Issue 22: the bilinear preset's knee and second slope are editable (the studio's fields)."""
    from studio.design.targets import preset_parameters, with_preset_parameters

    s = preset_sketch("bilinear", mu=0.3, max_load_N=5.0)
    assert preset_parameters(s) == {"name": "bilinear", "mu": 0.3, "knee_N": 2.0, "mu_after": pytest.approx(0.12)}
    t = with_preset_parameters(s, knee_N=1.0, mu_after=0.05)
    grid = t.load_grid_N
    assert t.max_load_N == 5.0 and preset_parameters(t)["knee_N"] == pytest.approx(1.0)
    np.testing.assert_allclose(t.law_N, np.where(grid <= 1.0, 0.3 * grid, 0.3 + 0.05 * (grid - 1.0)), rtol=1e-12)
    with pytest.raises(SketchError, match="knee"):
        with_preset_parameters(s, knee_N=5.0)                     # not inside the load range
    with pytest.raises(SketchError, match="slope"):
        with_preset_parameters(s, mu_after=-0.1)
    with pytest.raises(SketchError, match="not a preset"):
        with_preset_parameters(stroke_to_sketch([1, 2, 3], [0.3, 0.6, 0.9]), knee_N=1.0)
    assert preset_parameters(s.with_handle(2, 1.0))["name"] == "bilinear"  # a drag keeps what it was made from
