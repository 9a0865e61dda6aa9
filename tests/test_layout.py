"""Fabrication layout: no two contact discs overlap at 10 N, compact packing, deterministic."""
from __future__ import annotations

import numpy as np
import pytest

from studio.errors import StudioError
from studio.physics import from_unit, realize
from studio.physics.friction import contact_radius_mm
from studio.physics.layout import (
    DEFAULT_CLEARANCE_MM,
    LayoutError,
    fabrication_layout,
    layout_for,
    packing_density,
    smallest_gap_mm,
)

# Measured with this test's radii (tests/test_layout.py RADII): greedy packing densities 0.61–0.89.
MIN_DENSITY = 0.45


def _radius_sets():
    rng = np.random.default_rng(2024)
    yield "equal 16", np.full(16, 0.3)
    yield "equal 256", np.full(256, 0.2)
    yield "lognormal 64", rng.lognormal(-1.5, 0.7, 64)
    yield "lognormal 256", rng.lognormal(-1.5, 0.7, 256)
    yield "half not in contact", np.where(rng.random(128) < 0.5, 0.0, rng.uniform(0.1, 0.5, 128))
    yield "one giant", np.r_[2.0, rng.uniform(0.05, 0.2, 63)]
    yield "all points", np.zeros(32)


RADII = list(_radius_sets())


@pytest.mark.parametrize("label,radii", RADII, ids=[r[0] for r in RADII])
def test_contact_discs_never_overlap_and_pack_compactly(label, radii):
    x, y = fabrication_layout(radii)
    assert x.shape == y.shape == radii.shape
    assert smallest_gap_mm(radii, x, y) >= DEFAULT_CLEARANCE_MM - 1e-9
    assert packing_density(radii, x, y) >= MIN_DENSITY
    assert abs(x.mean()) < 1e-9 and abs(y.mean()) < 1e-9


def test_greedy_packing_beats_a_hex_grid_sized_by_the_largest_disc():
    rng = np.random.default_rng(7)
    radii = rng.lognormal(-1.5, 0.7, 128)
    x, y = fabrication_layout(radii)
    pitch = 2 * radii.max() + DEFAULT_CLEARANCE_MM
    k = np.arange(radii.size)
    side = int(np.ceil(np.sqrt(radii.size)))
    hx = pitch * ((k % side) + 0.5 * ((k // side) % 2))
    hy = pitch * np.sqrt(3) / 2 * (k // side)
    assert smallest_gap_mm(radii, hx, hy) >= DEFAULT_CLEARANCE_MM - 1e-9
    assert packing_density(radii, x, y) > 1.5 * packing_density(radii, hx, hy)


def test_random_designs_get_valid_layouts():
    rng = np.random.default_rng(3)
    for _ in range(3):  # one N: each N compiles the contact solver once
        theta = from_unit(rng.random(23))
        asperities = realize(theta, 48, int(rng.integers(1000)))
        x, y = layout_for(asperities, theta[20])
        radii = contact_radius_mm(asperities.height_mm, asperities.radius_mm, theta[20], 10.0)
        assert radii.max() > 0
        assert smallest_gap_mm(radii, x, y) >= DEFAULT_CLEARANCE_MM - 1e-9


def test_layout_is_deterministic():
    radii = np.random.default_rng(5).uniform(0, 0.4, 90)
    a = fabrication_layout(radii)
    b = fabrication_layout(radii.copy())
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_clearance_is_respected():
    radii = np.random.default_rng(6).uniform(0.1, 0.3, 50)
    x, y = fabrication_layout(radii, clearance_mm=0.4)
    assert smallest_gap_mm(radii, x, y) >= 0.4 - 1e-9


@pytest.mark.parametrize("radii,clearance,words", [
    (np.array([0.1, np.nan]), 0.05, "asperity 1"),
    (np.array([0.1, -0.2]), 0.05, "asperity 1"),
    (np.zeros((0,)), 0.05, "non-empty"),
    (np.zeros(4), 0.0, "zero clearance"),
    (np.ones(4), -1.0, "clearance"),
])
def test_bad_radii_are_refused(radii, clearance, words):
    with pytest.raises(LayoutError, match=words) as info:
        fabrication_layout(radii, clearance_mm=clearance)
    assert isinstance(info.value, StudioError)
