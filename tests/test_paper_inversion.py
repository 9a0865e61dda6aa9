"""benchmarks/paper_inversion.py: the measurements behind docs/paper-comparison.md rest on these."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from studio.physics import THETA_SIZE, from_unit, parameter_error, simulate_many, smape

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def inversion():
    spec = importlib.util.spec_from_file_location("paper_inversion", ROOT / "benchmarks" / "paper_inversion.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_law_preserving_variants_leave_the_law_unchanged_and_move_theta(inversion):
    rng = np.random.default_rng(3)
    moved = 0.0
    for i in range(6):
        theta, n, seed = from_unit(rng.random(THETA_SIZE)), int(rng.integers(16, 65)), int(rng.integers(0, 2**31))
        variants, free = inversion.law_preserving_variants(theta, n, seed, rng)
        assert 0 <= free <= 4
        laws = simulate_many(np.stack([theta] + list(variants.values())), n, [seed] * 4)
        np.testing.assert_allclose(laws[1:], np.repeat(laws[:1], 3, axis=0), rtol=1e-9)  # exactly the same law
        moved += float(parameter_error(variants["both"], theta))
    assert moved > 0  # ... from a different θ


def test_perturbation_has_the_requested_parameter_error(inversion):
    rng = np.random.default_rng(4)
    theta = from_unit(rng.uniform(0.2, 0.8, (400, THETA_SIZE)))  # away from the box edges (no clipping)
    errors = [parameter_error(inversion.perturbed(t, 2.27, rng), t) for t in theta]
    assert abs(np.median(errors) - 2.27) < 0.5


def test_pool_neighbours_finds_a_target_that_is_in_the_pool(inversion):
    rng = np.random.default_rng(5)
    theta = from_unit(rng.random((40, THETA_SIZE)))
    n = np.full(40, 32)
    seeds = rng.integers(0, 2**31, 40)
    laws = simulate_many(theta, 32, seeds).astype(np.float32)
    pool = {"theta": theta.astype(np.float32), "N": n, "friction": laws}
    test = {"theta": theta[:3], "N": n[:3], "friction": laws[:3]}
    out = inversion.pool_neighbours(test, pool, lambda *a: None)
    assert out["within_1"]["targets_with_any"] == 1.0  # each target finds itself ...
    assert out["within_1"]["param_smape_median_of_minima"] < 1e-5  # ... at zero parameter distance
    assert out["closest_functional"]["median"] == 0.0
    assert out["param_random_same_band_median"] > 10.0  # random pool designs are far in θ
    assert smape(laws[0], laws[1]) > 1.0
