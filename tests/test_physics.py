"""The forward model against its contract (spec/physics.md, spec/vectors.json)."""
from __future__ import annotations

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.physics import (
    LOAD_GRID_N,
    THETA_LOWER,
    THETA_NAMES,
    THETA_SIZE,
    THETA_UPPER,
    ThetaError,
    asperities_from_draws,
    canonical,
    friction_law,
    friction_law_batch,
    from_unit,
    hertz_strain,
    hertz_valid,
    realize,
    simulate,
    simulate_batch,
    single_sphere_friction,
    smape,
    spread_band,
    to_unit,
    validate,
    validate_asperity_count,
)
from studio.physics import friction as friction_module

# A copy of spec/vectors.json travels with the tests (a fresh clone has no ../shared);
# test_vector_copy_is_current checks it against the spec when the spec is beside the repo.
VECTORS_COPY = Path(__file__).parent / "data" / "vectors.json"
VECTORS_SPEC = Path(__file__).resolve().parents[2] / "shared" / "spec" / "vectors.json"
VECTORS = json.loads(VECTORS_COPY.read_text())
CASES = {c["name"]: c for c in VECTORS["cases"]}
BASE_THETA = np.array([0.4, 0.5, 0.05, 1.0, 0.1,
                       0.3, 0.4, 0.03, 2.0, 0.2,
                       0.2, 0.3, 0.02, 0.5, 0.05,
                       0.1, 0.2, 0.01, 3.0, 0.3,
                       3.0, 0.2, 0.1])


def test_vector_copy_is_current():
    if not VECTORS_SPEC.exists():
        pytest.skip("spec/vectors.json is not beside this checkout (../shared); the copy is used")
    assert json.loads(VECTORS_SPEC.read_text()) == VECTORS


def test_load_grid_matches_vectors():
    assert np.array_equal(LOAD_GRID_N, np.asarray(VECTORS["load_N"]))
    assert LOAD_GRID_N[0] == pytest.approx(10 / 128) and LOAD_GRID_N[-1] == 10.0


@pytest.mark.parametrize("name", sorted(CASES))
def test_vectors_float64_within_1e9(name):
    c = CASES[name]
    law = np.asarray(friction_law(c["height_mm"], c["radius_mm"], c["E_star_MPa"], c["tau0_MPa"], c["B"]))
    np.testing.assert_allclose(law, c["friction_N"], rtol=1e-9, atol=0)


@pytest.mark.parametrize("name", sorted(CASES))
def test_vectors_float32_within_1e4(name):
    c = CASES[name]
    law = np.asarray(friction_law(c["height_mm"], c["radius_mm"], c["E_star_MPa"], c["tau0_MPa"], c["B"],
                                  dtype=jnp.float32))
    assert law.dtype == np.float32
    np.testing.assert_allclose(law, c["friction_N"], rtol=1e-4, atol=0)


@pytest.mark.parametrize("name", sorted(CASES))
def test_vectors_batch_fast_path_within_1e4(name):
    """The padded, masked batch path (what data generation and CMA-ES use) meets the float32 bound."""
    c = CASES[name]
    n = len(c["height_mm"])
    width = 32 * -(-n // 32)
    h = np.zeros((2, width), np.float32)
    r = np.ones((2, width), np.float32)
    h[:, :n], r[:, :n] = c["height_mm"], c["radius_mm"]
    mask = np.arange(width)[None, :] < n
    mask = np.repeat(mask, 2, axis=0)
    mat = [np.full(2, c[k], np.float32) for k in ("E_star_MPa", "tau0_MPa", "B")]
    laws = np.asarray(friction_law_batch(h, r, mask, *mat))
    np.testing.assert_allclose(laws[0], c["friction_N"], rtol=1e-4, atol=0)
    np.testing.assert_array_equal(laws[0], laws[1])


@pytest.mark.parametrize("name", ["realization_64", "realization_16_clamped_radius"])
def test_realisation_from_explicit_draws(name):
    c = CASES[name]
    h, r, k = asperities_from_draws(jnp.asarray(c["theta"]), jnp.asarray(c["u"]), jnp.asarray(c["z_h"]),
                                    jnp.asarray(c["z_R"]))
    np.testing.assert_array_equal(np.asarray(k), c["component"])
    np.testing.assert_allclose(np.asarray(h), c["height_mm"], rtol=0, atol=1e-15)
    np.testing.assert_allclose(np.asarray(r), c["radius_mm"], rtol=0, atol=1e-15)


@pytest.mark.parametrize("radius_mm, E_star, tau0, B", [(1.0, 2.0, 0.5, 0.1), (0.05, 10.0, 0.05, 0.0),
                                                        (4.0, 1.0, 0.3, 0.5)])
def test_single_sphere_closed_form(radius_mm, E_star, tau0, B):
    law = np.asarray(friction_law([0.7], [radius_mm], E_star, tau0, B))
    expected = single_sphere_friction(LOAD_GRID_N, radius_mm, E_star, tau0, B)
    np.testing.assert_allclose(law, expected, rtol=1e-12)


theta_unit = st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=23, max_size=23)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(unit=theta_unit, n=st.integers(16, 256), seed=st.integers(0, 2**31 - 1))
def test_law_positive_monotone_and_above_pressure_term(unit, n, seed):
    theta = from_unit(np.asarray(unit))
    law = simulate(theta, n, seed)
    assert np.all(law > 0)
    assert np.all(np.diff(law) >= -1e-12 * law[1:])
    assert np.all(law >= theta[22] * LOAD_GRID_N * (1 - 1e-12))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(unit=theta_unit, n=st.integers(16, 256), seed=st.integers(0, 2**31 - 1))
def test_float32_fast_path_agrees_with_float64_reference(unit, n, seed):
    theta = from_unit(np.asarray(unit))
    fast = np.asarray(simulate_batch(theta[None], np.array([n]), np.array([seed])))[0]
    ref = simulate(theta, n, seed)
    np.testing.assert_allclose(fast, ref, rtol=1e-4)


def test_fast_batch_agrees_with_reference_on_random_designs():
    """256 random designs at N = 256, the size where the solver's slow cases live."""
    rng = np.random.default_rng(3)
    theta = from_unit(rng.random((256, 23)))
    n = np.full(256, 256)
    seeds = rng.integers(0, 2**31, 256)
    fast = np.asarray(simulate_batch(theta, n, seeds))
    ref = np.asarray(simulate_batch(theta, n, seeds, dtype=jnp.float64,
                                    iterations=friction_module.REFERENCE_ITERATIONS))
    assert np.max(np.abs(fast / ref - 1)) < 1e-4


def test_slow_rows_are_redone_until_converged():
    """A lone summit above a tight cluster: given too few secant steps the row reports itself
    unconverged, and the batch redoes it with more until it matches the reference."""
    h = np.concatenate([[0.0], -0.39 + 0.007 * np.random.default_rng(0).standard_normal(255)])
    r = np.full(256, 1.0)
    args = (jnp.asarray(h[None], jnp.float32), jnp.asarray(r[None], jnp.float32), jnp.ones((1, 256), bool),
            jnp.asarray([8.0], jnp.float32), jnp.asarray([0.1], jnp.float32), jnp.asarray([0.05], jnp.float32))
    loads = jnp.asarray(LOAD_GRID_N, jnp.float32)
    _, converged = friction_module._friction_law_batch_jit(*args, loads, 0)
    assert not bool(converged[0])
    fixed = np.asarray(friction_law_batch(*args, iterations=0))[0]
    ref = np.asarray(friction_law(h, r, 8.0, 0.1, 0.05))
    np.testing.assert_allclose(fixed, ref, rtol=1e-4)


@pytest.mark.parametrize("count", [2, 9, 25, 73, 127, 128])
def test_free_sample_slots_split_the_gaps_and_keep_the_order(count):
    """The sample pass has max(loads, 128) slots; points beyond the heights and depths go
    inside the gaps (shallowest first), so the samples stay sorted and contain the originals."""
    t = -np.sort(np.random.default_rng(count).random(count)) * 3.0
    t[0] = 0.0
    out = np.asarray(friction_module._split_gaps(jnp.asarray(t), 128))
    assert out.shape == (max(128, count),)
    assert np.all(np.diff(out) <= 0)                  # still descending
    assert np.all(np.isin(t, out))                     # every original point is kept
    gaps = np.searchsorted(-t, -out[np.isin(out, t, invert=True)], side="right")
    per_gap = np.bincount(gaps, minlength=count)[1:count]
    assert per_gap.max() - per_gap.min() <= 1          # the free slots spread evenly
    assert np.all(np.diff(per_gap) <= 0)               # shallow gaps get the extra ones


def test_above_119_asperities_the_highest_heights_are_sampled():
    """Only 119 heights fit the sample pass when N > 119: they are the highest ones, where few
    asperities carry the load and each new contact bends φ most."""
    rng = np.random.default_rng(4)
    h = -rng.random(256).astype(np.float32)
    h[rng.integers(256)] = 0.0
    c = np.ones(256, np.float32)
    t = friction_module._sample_points(jnp.asarray(h), jnp.asarray(c), jnp.asarray(LOAD_GRID_N, jnp.float32))
    assert t.shape == (128,) and friction_module.SAMPLE_POINTS - friction_module.START_THRESHOLDS - 1 == 119
    top = np.sort(h)[::-1][:119]
    assert np.all(np.isin(top, np.asarray(t)))
    assert not np.any(np.isin(np.sort(h)[::-1][119:], np.asarray(t)))


def test_two_thirds_power_matches_the_power_function():
    x = np.concatenate([[0.0], np.exp(np.random.default_rng(5).uniform(-20, 8, 10_000))])
    for dtype, tol in ((np.float32, 2e-6), (np.float64, 1e-13)):
        got = np.asarray(friction_module._two_thirds_power(jnp.asarray(x, dtype)), np.float64)
        np.testing.assert_allclose(got, x ** (2.0 / 3.0), rtol=tol, atol=0)


@pytest.mark.parametrize("bad, rows", [(1, 8), (8, 8), (9, 16), (33, 64), (64, 64), (65, 128), (130, 192)])
def test_redo_batches_are_few_shapes_and_small_for_a_stray_row(bad, rows):
    assert friction_module._redo_rows(bad) == rows


def test_padding_does_not_change_the_law():
    theta = BASE_THETA
    narrow = np.asarray(simulate_batch(theta[None], np.array([40]), np.array([5]), width=64))[0]
    wide = np.asarray(simulate_batch(theta[None], np.array([40]), np.array([5]), width=256))[0]
    np.testing.assert_allclose(narrow, wide, rtol=1e-6)


def test_realisation_is_reproducible_from_its_seed():
    a = realize(BASE_THETA, 64, 1234)
    b = realize(BASE_THETA, 64, 1234)
    c = realize(BASE_THETA, 64, 1235)
    np.testing.assert_array_equal(a.height_mm, b.height_mm)
    np.testing.assert_array_equal(a.radius_mm, b.radius_mm)
    assert not np.array_equal(a.height_mm, c.height_mm)
    # N asperities are the first N of the seed's stream: a design grows consistently.
    d = realize(BASE_THETA, 128, 1234)
    np.testing.assert_array_equal(d.height_mm[:64], a.height_mm)


def test_simulate_matches_law_of_realised_asperities():
    a = realize(BASE_THETA, 100, 9)
    direct = np.asarray(friction_law(a.height_mm, a.radius_mm, BASE_THETA[20], BASE_THETA[21], BASE_THETA[22]))
    np.testing.assert_allclose(simulate(BASE_THETA, 100, 9), direct, rtol=1e-12)


def test_radius_is_clamped_and_components_follow_weights():
    theta = BASE_THETA.copy()
    theta[3], theta[4] = 0.25, 0.5  # component 1 radii often below 0.05 mm
    a = realize(theta, 256, 3)
    assert a.radius_mm.min() >= 0.05
    counts = np.bincount(a.component, minlength=4) / 256
    np.testing.assert_allclose(counts, [0.4, 0.3, 0.2, 0.1], atol=0.08)


@jax.jit
def _loss(theta_cont, h_draws, base):
    theta = base.at[jnp.array(CONT)].set(theta_cont)
    u, z_h, z_r = h_draws
    h, r, _ = asperities_from_draws(theta, u, z_h, z_r)
    law = friction_module._friction_single(h, r, jnp.ones(h.shape, bool), theta[20], theta[21], theta[22],
                                           jnp.asarray(LOAD_GRID_N), friction_module.REFERENCE_ITERATIONS)[0]
    return jnp.sum(jnp.log(law) * jnp.linspace(0.5, 1.5, law.size))


CONT = [1, 2, 3, 4, 6, 8, 11, 13, 20, 21, 22]  # means, spreads and material: the differentiable entries


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    draws = (jnp.asarray(rng.random(48)), jnp.asarray(rng.standard_normal(48)),
             jnp.asarray(rng.standard_normal(48)))
    base = jnp.asarray(BASE_THETA)
    x = base[jnp.array(CONT)]
    grad = np.asarray(jax.grad(_loss)(x, draws, base))
    eps = 1e-6
    for i in range(len(CONT)):
        e = jnp.zeros_like(x).at[i].set(eps)
        fd = (float(_loss(x + e, draws, base)) - float(_loss(x - e, draws, base))) / (2 * eps)
        assert grad[i] == pytest.approx(fd, rel=1e-5, abs=1e-7), THETA_NAMES[CONT[i]]


def test_gradient_of_law_wrt_asperities_matches_finite_differences():
    c = CASES["realization_64"]
    h0, r0 = jnp.asarray(c["height_mm"]), jnp.asarray(c["radius_mm"])

    def total(h, r):
        return jnp.sum(friction_law(h, r, 2.0, 0.4, 0.05))

    gh, gr = jax.grad(total, argnums=(0, 1))(h0, r0)
    assert np.all(np.isfinite(gh)) and np.all(np.isfinite(gr))
    top = int(jnp.argmax(h0))
    eps = 1e-6
    for vec, g, idx in ((h0, gh, top), (r0, gr, top), (h0, gh, int(jnp.argmin(h0)))):
        plus = vec.at[idx].add(eps)
        minus = vec.at[idx].add(-eps)
        if vec is h0:
            fd = (float(total(plus, r0)) - float(total(minus, r0))) / (2 * eps)
        else:
            fd = (float(total(h0, plus)) - float(total(h0, minus))) / (2 * eps)
        assert float(g[idx]) == pytest.approx(fd, rel=1e-5, abs=1e-8)


def test_spread_band_brackets_most_realisations():
    lo, hi = spread_band(BASE_THETA, 64, seed=1)
    assert np.all(lo <= hi) and np.all(lo > 0)
    others = np.asarray(simulate_batch(np.repeat(BASE_THETA[None], 40, 0), np.full(40, 64),
                                       np.arange(10_000, 10_040)))
    inside = np.mean((others >= lo * (1 - 1e-6)) & (others <= hi * (1 + 1e-6)))
    assert inside > 0.75  # a 5–95 % band holds ~90 % of fresh realisations


def test_hertz_validity_flag():
    # A single sharp, soft asperity at 10 N indents far beyond R/4; a wide stiff one does not.
    assert not hertz_valid([0.0], [0.05], 1.0)
    assert hertz_strain([0.0], [0.05], 1.0) > 0.25
    assert hertz_valid(np.zeros(64), np.full(64, 4.0), 10.0)


def test_theta_validation_names_the_entry():
    bad = BASE_THETA.copy()
    bad[7] = 0.5
    with pytest.raises(ThetaError, match=r"theta\[7\] \(sd_h_2\) = 0.5 mm is outside its box"):
        validate(bad)
    bad[7] = np.nan
    with pytest.raises(ThetaError, match="sd_h_2"):
        validate(bad)
    with pytest.raises(ThetaError, match="expected 23 values"):
        validate(BASE_THETA[:5])
    with pytest.raises(ThetaError, match="outside"):
        validate_asperity_count(300)
    with pytest.raises(ThetaError, match="integer"):
        validate_asperity_count(16.5)


def test_unit_box_round_trip_and_canonical_order():
    rng = np.random.default_rng(1)
    theta = from_unit(rng.random(23))
    np.testing.assert_allclose(from_unit(to_unit(theta)), theta)
    assert np.all(THETA_LOWER <= theta) and np.all(theta <= THETA_UPPER)
    c = canonical(theta)
    assert np.all(np.diff(c[1:20:5]) <= 0)
    assert c[0:20:5].sum() == pytest.approx(1.0)
    # canonical order does not change the physics
    np.testing.assert_allclose(simulate(canonical(BASE_THETA), 32, 4), simulate(BASE_THETA, 32, 4), rtol=0)


def test_all_zero_weights_mean_uniform():
    theta = BASE_THETA.copy()
    theta[0:20:5] = 0
    c = canonical(theta)
    np.testing.assert_allclose(c[0:20:5], 0.25)


def test_smape_definition():
    a = np.array([1.0, 2.0, 0.0])
    b = np.array([1.0, 1.0, 0.0])
    assert smape(a, b) == pytest.approx(100 / 3 * (0 + 1 / 1.5 + 0))
    assert smape(a, b, mask=np.array([True, True, False])) == pytest.approx(100 / 2 * (1 / 1.5))
    assert smape(np.array([1.0]), np.array([-1.0])) == pytest.approx(200.0)


def test_base_draws_do_not_depend_on_width():
    """Padded batches draw `width` values; a design's asperities must not change with it."""
    from studio.physics import base_draws
    short = [np.asarray(x) for x in base_draws(77, 32)]
    long = [np.asarray(x) for x in base_draws(77, 256)]
    for s, l in zip(short, long):
        np.testing.assert_array_equal(s, l[:32])


# --------------------------------------------------------------------------- exact τ0, B fit
def _design(tau0, B, seed=0):
    from studio.physics.theta import B_IDX, TAU0_IDX
    theta = from_unit(np.random.default_rng(seed).random(THETA_SIZE))
    theta[TAU0_IDX], theta[B_IDX] = tau0, B
    return theta


def test_tau0_and_B_are_recovered_exactly_for_the_same_realisation():
    from studio.physics import fit_tau0_B
    from studio.physics.theta import B_IDX, TAU0_IDX
    target = simulate(_design(0.2, 0.1), 48, 7)
    start = _design(0.4, 0.3)
    fitted, law = fit_tau0_B(start[None], simulate(start, 48, 7)[None], target)
    assert fitted[0, TAU0_IDX] == pytest.approx(0.2, rel=1e-9)
    assert fitted[0, B_IDX] == pytest.approx(0.1, rel=1e-9, abs=1e-12)
    np.testing.assert_allclose(law[0], target, rtol=1e-9)
    np.testing.assert_array_equal(np.delete(fitted[0], [TAU0_IDX, B_IDX]), np.delete(start, [TAU0_IDX, B_IDX]))


def test_the_fitted_law_is_the_simulated_law_of_the_fitted_design_and_the_box_optimum():
    from studio.physics import fit_tau0_B
    from studio.physics.theta import B_IDX, TAU0_IDX
    P = LOAD_GRID_N
    targets = {"inside": 0.3 * P ** 0.9 + 0.05, "needs tau0 beyond the box": 40.0 * P ** 0.7}
    for name, target in targets.items():
        thetas = np.stack([_design(0.3, 0.2, seed=s) for s in range(3)])
        laws = np.stack([simulate(t, 32, 11) for t in thetas])
        fitted, law = fit_tau0_B(thetas, laws, target)
        cost = (((law - target) / target) ** 2).sum(1)
        for j in range(3):
            assert THETA_LOWER[TAU0_IDX] <= fitted[j, TAU0_IDX] <= THETA_UPPER[TAU0_IDX], name
            assert THETA_LOWER[B_IDX] <= fitted[j, B_IDX] <= THETA_UPPER[B_IDX], name
            np.testing.assert_allclose(law[j], simulate(fitted[j], 32, 11), rtol=1e-9)
            # No point of a grid over the box does better.
            area_x = (laws[j] - thetas[j, B_IDX] * P) / thetas[j, TAU0_IDX]
            for t in np.linspace(THETA_LOWER[TAU0_IDX], THETA_UPPER[TAU0_IDX], 21):
                for b in np.linspace(THETA_LOWER[B_IDX], THETA_UPPER[B_IDX], 21):
                    grid_cost = ((((t * area_x + b * P) - target) / target) ** 2).sum()
                    assert cost[j] <= grid_cost * (1 + 1e-12), name
        if name != "inside":
            assert np.all(fitted[:, TAU0_IDX] == THETA_UPPER[TAU0_IDX])


def test_importing_the_physics_leaves_jax_alone_and_32_bit_calls_are_refused():
    """float64 is the entry points' explicit choice: importing changes nothing, and a physics call
    made without it fails with one line instead of returning float32 results as float64."""
    import subprocess
    import sys

    code = ("import jax, numpy as np\n"
            "import studio.physics as p\n"
            "assert not jax.config.jax_enable_x64, 'importing studio.physics switched JAX to 64 bits'\n"
            "try:\n"
            "    p.simulate(p.from_unit(np.full(p.THETA_SIZE, 0.5)), 32, 0)\n"
            "except p.Float64Error as exc:\n"
            "    print('refused:', exc)\n"
            "p.enable_float64()\n"
            "law = p.simulate(p.from_unit(np.full(p.THETA_SIZE, 0.5)), 32, 0)\n"
            "print('dtype:', law.dtype, p.realize(p.from_unit(np.full(p.THETA_SIZE, 0.5)), 32, 0).height_mm.dtype)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("refused: JAX is in 32-bit mode") and "enable_float64()" in lines[0]
    assert lines[1] == "dtype: float64 float64"
