"""Boundary-element validation: Hertz, grid convergence, symmetry, interaction, the job, the file group, the CLI."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from studio import cli
from studio.design.core import Cancelled, Design, JobControl
from studio.design.validation import (
    Validation,
    ValidationError,
    find_spacing,
    validate_design,
    validate_layout,
    validation_loads,
)
from studio.errors import StudioError
from studio.jobs import drive
from studio.io import design_file as dfmod
from studio.io.design_file import DesignFileError, read_design_file, update_design_file, write_design_file
from studio.physics import from_unit
from studio.physics import contact
from studio.physics.contact import (
    ContactError,
    GridBudgetError,
    Interface,
    SolverError,
    choose_grid,
    first_order_contacts,
    independent_contacts,
    solve_at,
    solve_loads,
)
from studio.physics.layout import arrange_caps, plan_layout

E_STAR = 4.0
TAU0, B = 0.3, 0.1


def _hertz_area(load_N, radius_mm, E_star=E_STAR):
    return np.pi * (3 * load_N * radius_mm / (4 * E_star)) ** (2 / 3)


def _pair(spacing_mm, heights=(0.30, 0.30), radii=(2.0, 2.0)):
    return Interface.of(heights, radii, [-spacing_mm / 2, spacing_mm / 2], [0.0, 0.0], E_STAR)


@pytest.fixture(scope="module")
def small_design():
    """A 16-asperity design whose layout validates in seconds (few contacts)."""
    theta = from_unit(np.array([0.9, 0.8, 0.1, 0.6, 0.1] + [0.1, 0.2, 0.1, 0.5, 0.1] * 3 + [0.6, 0.5, 0.4]))
    return Design.evaluate(theta, 16, 3, name="small", method="test")


def test_hertz_sphere_area_and_approach_at_the_automatic_grid():
    itf = Interface.of([0.3], [1.5], [0.2], [-0.1], E_STAR)
    loads = [0.5, 2.0, 10.0]
    d, _, _ = independent_contacts(itf, loads)
    for s, load, depth in zip(solve_loads(itf, loads), loads, d[:, 0]):
        assert s.contact_area_mm2 == pytest.approx(_hertz_area(load, 1.5), rel=5e-3)
        assert s.flat_mm == pytest.approx(0.3 - depth, abs=1e-2 * depth)  # the flat where Hertz puts it
        assert s.asperity_load_N[0] == pytest.approx(load, rel=1e-9)
        assert s.area_method[0] == 1  # measured by the patch fit, not assumed
        # cell counting, reported beside, is biased high at this grid: the fit is what makes 0.5 % possible
        assert s.cell_area_mm2 > s.contact_area_mm2


def test_area_converges_as_the_grid_is_refined():
    itf = Interface.of([0.3], [2.0], [0.0], [0.0], E_STAR)
    exact = _hertz_area(3.0, 2.0)
    errors = [abs(solve_at(itf, 3.0, cells_per_radius=k).contact_area_mm2 / exact - 1) for k in (3, 4, 6, 8)]
    assert errors[-1] < errors[0] and errors[-1] < 1e-3 and max(errors) < 1e-2
    # Two interacting spheres: halving the cell changes their BEM area by far less than the interaction itself.
    pair = _pair(1.6, heights=(0.30, 0.28))
    coarse = solve_at(pair, 4.0, cells_per_radius=4).contact_area_mm2
    fine = solve_at(pair, 4.0, cells_per_radius=8).contact_area_mm2
    independent = independent_contacts(pair, [4.0])[2].sum()
    assert abs(coarse - fine) / fine < 5e-3 < 0.02 < abs(fine - independent) / independent


def test_a_rotated_layout_gives_the_same_law():
    rng = np.random.default_rng(5)
    h = rng.uniform(0.2, 0.3, 6)
    R = rng.uniform(0.8, 2.0, 6)
    layout = plan_layout(h, R, E_STAR, clearance_mm=0.3)
    itf = Interface.of(h, R, layout.x_mm, layout.y_mm, E_STAR)
    loads = [1.0, 6.0]
    solutions = list(solve_loads(itf, loads))
    assert not any(s.coalesced.any() for s in solutions)  # separate contacts: measured by the patch fit
    base = [s.contact_area_mm2 for s in solutions]
    for angle in (np.pi / 2, 0.6):
        turned = [s.contact_area_mm2 for s in solve_loads(itf.rotated(angle), loads)]
        np.testing.assert_allclose(turned, base, rtol=2e-3)


def test_two_spheres_interact_as_the_first_order_trend_says():
    """Equal spheres: each pushes the other down by the Boussinesq displacement of its Hertz pressure."""
    load = 4.0
    alone = solve_at(Interface.of([0.3], [2.0], [0.0], [0.0], E_STAR), load / 2, cells_per_radius=8)
    for spacing in (3.0, 6.0):
        s = solve_at(_pair(spacing), load, cells_per_radius=8)
        a = np.sqrt(_hertz_area(load / 2, 2.0) / np.pi)
        p0 = 3 * (load / 2) / (2 * np.pi * a * a)
        push = p0 / (2 * a * E_STAR) * ((2 * a * a - spacing ** 2) * np.arcsin(a / spacing)
                                         + a * np.sqrt(spacing ** 2 - a * a))
        extra = alone.flat_mm - s.flat_mm  # how much further the flat must go
        assert extra == pytest.approx(push, rel=0.03)
        np.testing.assert_allclose(s.asperity_load_N, load / 2, rtol=1e-3)  # symmetric


def test_first_order_model_agrees_with_the_bem_far_apart():
    pair = _pair(4.0, heights=(0.30, 0.27), radii=(2.0, 1.0))
    bem = solve_at(pair, 5.0)
    _, load, _ = first_order_contacts(pair, [5.0])
    _, independent, _ = independent_contacts(pair, [5.0])
    np.testing.assert_allclose(bem.asperity_load_N, load[0], rtol=0.02)
    assert abs(bem.asperity_load_N[1] - independent[0, 1]) > 5 * abs(bem.asperity_load_N[1] - load[0, 1])


def test_validation_reports_the_law_difference(small_design):
    layout = plan_layout(small_design.asperities.height_mm, small_design.asperities.radius_mm, small_design.theta[20])
    v = drive(validate_design(small_design, layout, loads=3))
    np.testing.assert_allclose(v.loads_N, [10 / 3, 20 / 3, 10.0])
    E, tau0, B = small_design.theta[20:23]
    np.testing.assert_allclose(v.friction_bem_N, tau0 * v.area_bem_mm2 + B * v.loads_N)
    from studio.physics import friction_law, smape

    law = friction_law(small_design.asperities.height_mm, small_design.asperities.radius_mm, E, tau0, B,
                       loads_N=v.loads_N)
    np.testing.assert_allclose(v.friction_independent_N, law, rtol=1e-9)  # the design's own law
    assert v.interaction_error_percent == pytest.approx(float(smape(v.friction_bem_N, v.friction_independent_N)))
    assert v.grid_converged and v.grid_change_percent < 0.5
    summary = v.summary()
    assert summary["loads"] == 3 and summary["passed"] == (v.interaction_error_percent <= 1.0)
    assert v.asperity_load_N.shape == (3, 16)
    np.testing.assert_allclose(v.asperity_load_N.sum(axis=1), v.loads_N, rtol=1e-9)


def test_validation_job_cancels_between_loads(small_design):
    layout = plan_layout(small_design.asperities.height_mm, small_design.asperities.radius_mm, small_design.theta[20])
    control = JobControl()
    job = validate_design(small_design, layout, loads=4, control=control)
    first = next(job)
    assert first.stage == "solve" and first.step == 0 and 0 <= first.fraction < 1
    next(job)  # one load solved
    control.cancel()
    with pytest.raises(Cancelled):
        next(job)


def test_spacing_search_finds_a_clearance_the_bem_accepts():
    h = np.array([0.30, 0.30, 0.29, 0.27])
    R = np.array([2.0, 1.5, 1.0, 1.5])
    search = drive(find_spacing(h, R, E_STAR, TAU0, B, loads=2, tolerance_percent=0.5))
    assert search.reached and search.validation.interaction_error_percent <= 0.5
    assert search.layout.clearance_mm == search.validation.clearance_mm
    assert search.validation.matches_layout(search.layout.x_mm, search.layout.y_mm)
    failing = [t for t in search.tried if t["bem_percent"] is not None and t["bem_percent"] > 0.5]
    assert all(t["clearance_mm"] < search.layout.clearance_mm for t in failing)


def test_the_search_guess_follows_the_bem_on_a_crowded_soft_patch():
    """The first-order estimate (loads moved and contacts reshaped by the neighbours' push) that picks the
    spacing search's first rung: within 10 % (+ 0.1 point: the BEM's grid reads interaction slightly strong)
    of the BEM's interaction error on a hexagonal patch of caps at two pitches, where the load part alone
    (first_order_contacts) reads far less."""
    from studio.design.validation import estimated_interaction_error, validate_layout
    from studio.physics import smape
    from studio.physics.layout import Layout

    angles = np.arange(6) * np.pi / 3
    h, R, E = np.array([0.30, 0.30, 0.29, 0.30, 0.28, 0.30, 0.29]), np.full(7, 2.0), 2.0
    loads = validation_loads(4)
    for pitch in (2.6, 3.0):
        x = np.concatenate([[0.0], pitch * np.cos(angles)])
        y = np.concatenate([[0.0], pitch * np.sin(angles)])
        layout = Layout(x, y, 0.0, 0.2, 10.0, pitch, 0.1, np.ones(7, bool), (1.0, 1.0), (1.0, 1.0))
        bem = drive(validate_layout(h, R, layout, E, TAU0, B, loads=4, grid_check=False)).interaction_error_percent
        guess = estimated_interaction_error(h, R, x, y, E, TAU0, B, loads)
        itf = Interface.of(h, R, x, y, E)
        _, _, a1 = first_order_contacts(itf, loads)
        _, _, a0 = independent_contacts(itf, loads)
        loads_only = float(smape(TAU0 * a1.sum(1) + B * loads, TAU0 * a0.sum(1) + B * loads))
        assert bem > 1.0 and guess == pytest.approx(bem, rel=0.1, abs=0.1)
        assert abs(loads_only - bem) > abs(guess - bem)


def test_bad_inputs_give_one_line_errors(small_design, monkeypatch):
    itf = Interface.of([0.3, 0.3], [2.0, 2.0], [0, 30.0], [0, 0], E_STAR)
    with pytest.raises(GridBudgetError, match="over the budget") as info:
        choose_grid(itf, 5.0, budget_cells=1000)
    assert "\n" not in str(info.value) and isinstance(info.value, StudioError)
    with pytest.raises(ContactError, match="layout missing"):
        Interface.of([0.3], [1.0], [np.nan], [0.0], E_STAR)
    with pytest.raises(ValidationError, match="no fabrication layout"):
        drive(validate_layout([0.3], [1.0], None, E_STAR, TAU0, B))
    with pytest.raises(ValidationError, match="number of loads"):
        validation_loads(0)
    with pytest.raises(ValidationError, match="tolerance"):
        drive(validate_layout([0.3], [1.0], arrange_caps([0.3], [1.0], 0.2), E_STAR, TAU0, B,
                                tolerance_percent=-1))
    monkeypatch.setattr(contact, "MAX_ITERATIONS", 2)
    with pytest.raises(SolverError, match="did not converge") as info:
        solve_at(_pair(3.0), 5.0)
    assert "\n" not in str(info.value)


# ------------------------------------------------------------------------------------------- the file

@pytest.fixture(scope="module")
def validated(small_design, tmp_path_factory):
    path = write_design_file(tmp_path_factory.mktemp("v") / "d.h5", [small_design])
    f = read_design_file(path)
    v = drive(validate_design(small_design, f.layout_details["small"], loads=2, grid_check=False))
    return path, v


def test_validation_group_round_trips(validated, tmp_path):
    path, v = validated
    copy = tmp_path / "copy.h5"
    copy.write_bytes(path.read_bytes())
    update_design_file(copy, "small", validation=v)
    back = read_design_file(copy).validations["small"]
    assert isinstance(back, Validation)
    for key in ("loads_N", "friction_bem_N", "friction_independent_N", "area_bem_mm2", "error_percent",
                "grid_shape", "asperity_load_N", "asperity_area_mm2", "x_mm", "y_mm", "iterations"):
        np.testing.assert_array_equal(getattr(back, key), getattr(v, key))
    assert back.interaction_error_percent == v.interaction_error_percent and back.passed == v.passed
    assert back.libraries == v.libraries and back.libraries["ContactMechanics"] != "not installed"
    # Rewriting the whole file (as the studio saves) keeps it.
    f = read_design_file(copy)
    again = read_design_file(write_design_file(tmp_path / "again.h5", f.designs, f.target,
                                               layouts=f.layout_details, validations=f.validations))
    np.testing.assert_array_equal(again.validations["small"].friction_bem_N, v.friction_bem_N)


def test_a_reader_that_does_not_know_the_group_ignores_it(validated, tmp_path, monkeypatch):
    path, v = validated
    copy = tmp_path / "copy.h5"
    copy.write_bytes(path.read_bytes())
    update_design_file(copy, "small", validation=v)
    with h5py.File(copy, "a") as f:
        assert f.attrs["format_version"] == 1  # no version bump: an optional group
        assert "validation" in f["designs/small"] and "layout" in f["designs/small"]
        f["designs/small"].create_group("a_group_from_the_future")  # and what a newer writer may add
    full = read_design_file(copy)
    monkeypatch.setattr(dfmod, "OPTIONAL_GROUPS", {})  # the format_version 1 reader as it was before the groups
    older = read_design_file(copy)
    assert older.validations == {} and older.layout_details == {}
    np.testing.assert_array_equal(older.designs[0].friction_N, full.designs[0].friction_N)
    np.testing.assert_array_equal(older.layouts["small"][0], full.layouts["small"][0])
    assert full.validations["small"].interaction_error_percent == v.interaction_error_percent


def test_a_new_layout_replaces_a_stale_validation(validated, tmp_path):
    path, v = validated
    copy = tmp_path / "copy.h5"
    copy.write_bytes(path.read_bytes())
    update_design_file(copy, "small", validation=v)
    a = read_design_file(copy).designs[0].asperities
    wider = plan_layout(a.height_mm, a.radius_mm, read_design_file(copy).designs[0].theta[20], clearance_mm=1.0)
    with pytest.raises(DesignFileError, match="another layout"):
        update_design_file(copy, "small", layout=wider, validation=v)
    update_design_file(copy, "small", layout=wider)
    back = read_design_file(copy)
    np.testing.assert_array_equal(back.layouts["small"][0], wider.x_mm)
    assert back.layout_details["small"].clearance_mm == 1.0 and "small" not in back.validations


# ---------------------------------------------------------------------------------------------- the CLI

def test_validate_command_prints_one_json_line_and_stores_the_result(validated, tmp_path, capsys):
    path, _ = validated
    copy = tmp_path / "d.h5"
    copy.write_bytes(path.read_bytes())
    report = tmp_path / "report.json"
    code = cli.main(["validate", str(copy), "--loads", "2", "--tolerance", "50", "--out", str(report)])
    lines = capsys.readouterr().out.strip().splitlines()
    assert code == 0 and len(lines) == 1
    out = json.loads(lines[0])
    assert out["design"] == "small" and out["loads_N"] == [5.0, 10.0] and out["passed"]
    assert {"interaction_error_percent", "grid", "elapsed_s"} <= set(out)
    stored = read_design_file(copy).validations["small"]
    assert stored.interaction_error_percent == pytest.approx(out["interaction_error_percent"], abs=1e-4)
    assert json.loads(report.read_text())["friction_bem_N"] == pytest.approx(stored.friction_bem_N.tolist())


def test_validate_command_bad_input_leaves_the_file(validated, tmp_path, capsys):
    path, _ = validated
    copy = tmp_path / "d.h5"
    copy.write_bytes(path.read_bytes())
    before = copy.read_bytes()
    assert cli.main(["validate", str(copy), "--design", "nope"]) == 2
    assert cli.main(["validate", str(copy), "--loads", "0"]) == 2
    assert cli.main(["validate", str(tmp_path / "missing.h5")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("friction-studio validate: ") for line in err)
    assert copy.read_bytes() == before
    assert cli.main(["validate", str(copy), "--loads", "1", "--dry-run", "--tolerance", "50"]) == 0
    assert copy.read_bytes() == before


def test_validate_command_auto_spacing_stores_the_layout_it_validated(validated, tmp_path, capsys):
    path, v = validated
    copy = tmp_path / "d.h5"
    copy.write_bytes(path.read_bytes())
    tolerance = v.interaction_error_percent / 2  # the default layout fails this, a wider one passes
    code = cli.main(["validate", str(copy), "--loads", "2", "--tolerance", f"{tolerance:.6f}", "--auto-spacing"])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["default_layout"]["interaction_error_percent"] > tolerance
    assert code == 0 and out["passed"] and out["interaction_error_percent"] <= tolerance
    f = read_design_file(copy)
    stored, layout = f.validations["small"], f.layout_details["small"]
    assert layout.clearance_mm == out["clearance_mm"] > 0.05
    assert stored.matches_layout(*f.layouts["small"]) and stored.clearance_mm == layout.clearance_mm
