"""Fabrication layout: caps on a base plate that do not meet above the flat, summits free, compact, any load range."""
from __future__ import annotations

import numpy as np
import pytest

from studio.errors import StudioError
from studio.physics import from_unit, realize
from studio.physics.layout import (
    DEFAULT_CLEARANCE_MM,
    MIN_RELIEF_MM,
    PLATE_MARGIN_MM,
    LayoutError,
    arrange_caps,
    describe_layout,
    flat_lowest_mm,
    layout_faults,
    layout_for,
    plan_layout,
    required_distances_mm,
    solid_half_width_mm,
)


def _gaps(layout, h, R):
    """Edge-to-edge gap of every pair at its rule's plane, minus the clearance asked (≥ 0 when obeyed)."""
    D = required_distances_mm(h, R, layout.flat_lowest_mm, layout.relief_mm, layout.clearance_mm)
    i, j = np.triu_indices(h.size, 1)
    return np.hypot(layout.x_mm[i] - layout.x_mm[j], layout.y_mm[i] - layout.y_mm[j]) - D[i, j]


def test_two_tall_caps_and_a_short_one_between_them_keep_its_summit_free():
    h = np.array([1.0, 1.0, 0.7])
    R = np.array([2.0, 2.0, 0.5])
    layout = arrange_caps(h, R, flat_lowest_mm=0.9)
    assert layout.touching.tolist() == [True, True, False]
    faults = layout_faults(h, R, layout.x_mm, layout.y_mm, 0.9)
    assert faults["overlapping_caps"] == 0 and faults["buried_summits"] == 0
    # The short summit stands clear of each tall sphere: its distance exceeds the tall cap's width at 0.7 mm.
    for k in (0, 1):
        dist = np.hypot(layout.x_mm[2] - layout.x_mm[k], layout.y_mm[2] - layout.y_mm[k])
        assert dist >= solid_half_width_mm(1.0, 2.0, 0.7) + DEFAULT_CLEARANCE_MM - 1e-9
    # The same caps packed by their contact discs alone (the old rule) bury it: the check can fail.
    disc = np.sqrt(2.0 * 0.1)  # Hertz-like contact radius of the tall ones
    old_x = np.array([-disc - 0.025, disc + 0.025, 0.0])
    old_y = np.array([0.0, 0.0, 0.6])
    assert layout_faults(h, R, old_x, old_y, 0.9)["buried_summits"] == 1


@pytest.mark.parametrize("seed", range(4))
def test_random_designs_obey_both_rules_with_their_clearance(seed):
    rng = np.random.default_rng(seed)
    theta = from_unit(rng.random(23))
    a = realize(theta, 40, seed)
    layout = plan_layout(a.height_mm, a.radius_mm, theta[20])
    faults = layout_faults(a.height_mm, a.radius_mm, layout.x_mm, layout.y_mm, layout.flat_lowest_mm)
    assert faults["overlapping_caps"] == 0 and faults["buried_summits"] == 0
    assert _gaps(layout, a.height_mm, a.radius_mm).min() >= -1e-9
    # Touching exactly where the model puts the flat at the largest load.
    assert layout.touching.tolist() == (a.height_mm > layout.flat_lowest_mm).tolist()


def test_layout_reports_its_footprint_and_plate():
    rng = np.random.default_rng(9)
    h = rng.uniform(0.0, 0.6, 30)
    R = rng.uniform(0.3, 3.0, 30)
    layout = arrange_caps(h, R, flat_lowest_mm=0.45)
    width = solid_half_width_mm(h, R, layout.base_level_mm)
    x0, x1 = np.min(layout.x_mm - width), np.max(layout.x_mm + width)
    y0, y1 = np.min(layout.y_mm - width), np.max(layout.y_mm + width)
    assert layout.footprint_mm == pytest.approx((x1 - x0, y1 - y0))
    assert (x0 + x1) / 2 == pytest.approx(0, abs=1e-9) and (y0 + y1) / 2 == pytest.approx(0, abs=1e-9)
    assert layout.plate_mm == pytest.approx((x1 - x0 + 2 * PLATE_MARGIN_MM, y1 - y0 + 2 * PLATE_MARGIN_MM))
    # The plate lies below the flat's lowest position by the deepest contact (or the relief) and below every summit.
    assert layout.base_level_mm <= 0.45 - max(MIN_RELIEF_MM, h.max() - 0.45) + 1e-12
    assert layout.base_level_mm <= h.min() - MIN_RELIEF_MM + 1e-12
    never = int((h <= 0.45).sum())
    assert f"{never} asperities never touch" in layout.summary()


def test_packing_is_compact():
    """Equal touching caps: the greedy packing covers over half of its bounding box (hexagonal: 0.91)."""
    h = np.full(64, 0.5)
    R = np.full(64, 1.0)
    layout = arrange_caps(h, R, flat_lowest_mm=0.45, clearance_mm=0.0)
    rho = solid_half_width_mm(0.5, 1.0, 0.45)
    span = np.ptp(layout.x_mm) + 2 * rho, np.ptp(layout.y_mm) + 2 * rho
    assert 64 * np.pi * rho ** 2 / (span[0] * span[1]) > 0.55
    assert _gaps(layout, h, R).min() >= -1e-9


def test_layout_scales_with_the_load_range():
    """A design scaled by λ and pressed up to λ²·10 N lays out as λ times the canonical layout."""
    rng = np.random.default_rng(4)
    theta = from_unit(rng.random(23))
    a = realize(theta, 24, 3)
    lam = 2.0  # a power of two scales every float exactly, so the greedy choices (and their ties) are the same
    g1 = flat_lowest_mm(a.height_mm, a.radius_mm, theta[20], 10.0)
    g2 = flat_lowest_mm(lam * a.height_mm, lam * a.radius_mm, theta[20], 10.0 * lam ** 2)
    assert g2 == pytest.approx(lam * g1, rel=1e-9)
    one = arrange_caps(a.height_mm, a.radius_mm, g1, relief_mm=0.1)
    two = arrange_caps(lam * a.height_mm, lam * a.radius_mm, lam * g1, clearance_mm=lam * DEFAULT_CLEARANCE_MM,
                       relief_mm=lam * 0.1, max_load_N=10.0 * lam ** 2)
    np.testing.assert_allclose(two.x_mm, lam * one.x_mm, atol=1e-9)
    np.testing.assert_allclose(two.y_mm, lam * one.y_mm, atol=1e-9)
    assert two.max_load_N == 40.0 and two.footprint_mm == pytest.approx(tuple(lam * v for v in one.footprint_mm))
    # plan_layout takes the load range: at 40 N the scaled design touches where the canonical one does at 10 N.
    three = plan_layout(lam * a.height_mm, lam * a.radius_mm, theta[20], 40.0)
    assert three.touching.tolist() == one.touching.tolist() and three.flat_lowest_mm == pytest.approx(g2)


def test_layout_is_deterministic_and_layout_for_matches_plan_layout():
    theta = from_unit(np.full(23, 0.4))
    a = realize(theta, 32, 1)
    one, two = layout_for(a, theta[20]), plan_layout(a.height_mm.copy(), a.radius_mm.copy(), theta[20])
    np.testing.assert_array_equal(one.x_mm, two.x_mm)
    np.testing.assert_array_equal(one.y_mm, two.y_mm)


def test_describe_layout_measures_what_a_given_layout_achieves():
    h = np.array([1.0, 1.0])
    R = np.array([2.0, 2.0])
    rho = solid_half_width_mm(1.0, 2.0, 0.9)
    apart = describe_layout(h, R, [-rho - 0.1, rho + 0.1], [0, 0], 0.9)
    assert apart.clearance_mm == pytest.approx(0.2)
    overlapping = describe_layout(h, R, [-0.3, 0.3], [0, 0], 0.9)
    assert overlapping.clearance_mm < 0


@pytest.mark.parametrize("kwargs,words", [
    (dict(height_mm=[0.1, np.nan], radius_mm=[1, 1], flat_lowest_mm=0.0), "height of asperity 1"),
    (dict(height_mm=[0.1, 0.2], radius_mm=[1, 0], flat_lowest_mm=0.0), "tip radius of asperity 1"),
    (dict(height_mm=[0.1, 0.2], radius_mm=[1], flat_lowest_mm=0.0), "one length"),
    (dict(height_mm=[], radius_mm=[], flat_lowest_mm=0.0), "non-empty"),
    (dict(height_mm=[0.1, 0.2], radius_mm=[1, 1], flat_lowest_mm=0.5), "nothing touches"),
    (dict(height_mm=[0.1, 0.2], radius_mm=[1, 1], flat_lowest_mm=0.0, clearance_mm=-1), "clearance"),
    (dict(height_mm=[0.1, 0.2], radius_mm=[1, 1], flat_lowest_mm=np.inf), "flat's lowest position"),
])
def test_bad_inputs_are_refused_in_one_line(kwargs, words):
    with pytest.raises(LayoutError, match=words) as info:
        arrange_caps(**kwargs)
    assert isinstance(info.value, StudioError) and "\n" not in str(info.value)


def test_bad_load_is_refused():
    with pytest.raises(LayoutError, match="largest load"):
        plan_layout([0.1, 0.2], [1, 1], 5.0, max_load_N=-1)


def test_a_layout_round_trips_through_the_design_file(tmp_path):
    from studio.design.core import Design
    from studio.io.design_file import read_design_file, write_design_file

    d = Design.evaluate(from_unit(np.full(23, 0.45)), 20, 4, name="part")
    wide = layout_for(d.asperities, d.theta[20], clearance_mm=0.3)
    back = read_design_file(write_design_file(tmp_path / "d.h5", [d], layouts={"part": wide}))
    read = back.layout_details["part"]
    np.testing.assert_array_equal(back.layouts["part"][0], wide.x_mm)
    np.testing.assert_array_equal(back.layouts["part"][1], wide.y_mm)
    np.testing.assert_array_equal(read.touching, wide.touching)
    for key in ("base_level_mm", "flat_lowest_mm", "max_load_N", "clearance_mm", "relief_mm", "footprint_mm",
                "plate_mm", "algorithm", "notes"):
        assert getattr(read, key) == getattr(wide, key), key
