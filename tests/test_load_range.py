"""Any load range, exactly (issue 20; physics.md §2 "Other load ranges"; docs/load-ranges.md).

A target on (0, P_max] is the canonical 10 N problem with every force ÷ λ², λ = √(P_max / 10 N);
designs made there are scaled back (lengths ×λ, forces ×λ²) by studio.design.load_range.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import h5py
import numpy as np
import pytest

from studio.cli import main
from studio.design import load_range
from studio.design.core import Design, Target
from studio.design.details import design_layout, fabrication_geometry
from studio.design.engines import run
from studio.design.load_range import at_load_range, canonical_target, load_grid
from studio.design.targets import TargetSketch, preset_sketch, stroke_to_sketch
from studio.io import read_design_file, read_target_csv, write_design_file
from studio.io.csv_target import CsvError, parse_target_text
from studio.io.export import read_stl_triangles, save_stl
from studio.io.session import Session, load_session, save_session
from studio.physics import LOAD_GRID_N, THETA_SIZE, friction_law, from_unit, realize, simulate
from studio.physics.theta import E_STAR_IDX, MIN_RADIUS_MM, MU_R_IDX, SD_R_IDX
from studio.state import StudioState

DATA = Path(__file__).parent / "data"
OLD_FILE = DATA / "design-10N-8ae2077.h5"  # written by the previous version (commit 8ae2077; see test below)


def _theta(seed: int) -> np.ndarray:
    return from_unit(np.random.default_rng(seed).random(THETA_SIZE))


# --------------------------------------------------------------------------- the physics, exactly
@pytest.mark.parametrize("max_load_N", [0.02, 0.2, 500.0])
@pytest.mark.parametrize("case", range(3))
def test_a_scaled_design_resimulated_at_its_real_loads_is_lambda_squared_times_its_canonical_law(max_load_N, case):
    theta = _theta(case)
    if case == 2:  # radii at the realisation's floor (0.05 mm): the floor scales with the design
        theta[MU_R_IDX], theta[SD_R_IDX] = 0.25, 0.5
    canonical = Design.evaluate(theta, 48, 11 + case)
    real = at_load_range(canonical, max_load_N)
    lam = math.sqrt(max_load_N / 10.0)
    a = real.asperities
    # the physics, called on the real geometry at the real grid P_max·j/128, float64
    law = np.asarray(friction_law(a.height_mm, a.radius_mm, *theta[20:23], loads_N=load_grid(max_load_N)))
    np.testing.assert_allclose(law, lam ** 2 * canonical.friction_N, rtol=1e-12, atol=0)
    np.testing.assert_allclose(real.friction_N, law, rtol=1e-12, atol=0)
    np.testing.assert_allclose(real.load_N, max_load_N * np.arange(1, 129) / 128, rtol=1e-15)
    np.testing.assert_allclose(a.height_mm, lam * canonical.asperities.height_mm, rtol=1e-15)
    np.testing.assert_allclose(a.radius_mm, lam * canonical.asperities.radius_mm, rtol=1e-15)
    assert a.radius_mm.min() >= load_range.radius_floor_mm(max_load_N) * (1 - 1e-12)
    if case == 2:
        assert np.isclose(a.radius_mm.min(), MIN_RADIUS_MM * lam, rtol=1e-12)
    np.testing.assert_array_equal(real.theta, canonical.theta)  # θ stays canonical (the models' coordinates)
    np.testing.assert_allclose(load_range.canonical_theta(load_range.real_theta(theta, max_load_N), max_load_N),
                               theta, rtol=1e-15)
    # evaluating at the range directly gives the same design
    direct = Design.evaluate(theta, 48, 11 + case, max_load_N=max_load_N)
    np.testing.assert_array_equal(direct.friction_N, real.friction_N)
    assert real.hertz_valid == canonical.hertz_valid  # d/R does not change with λ


def test_a_designs_friction_coefficient_is_its_real_law_over_the_load_within_its_range():
    canonical = Design.evaluate(_theta(7), 24, 3)
    real = at_load_range(canonical, 0.2)
    p = real.load_N[63]
    assert real.friction_coefficient(p) == pytest.approx(real.friction_N[63] / p, rel=1e-12)
    # μ = F/P does not change with the load range: forces and loads scale alike
    assert real.friction_coefficient(p) == pytest.approx(canonical.friction_coefficient(canonical.load_N[63]), rel=1e-9)
    with pytest.raises(ValueError, match="outside the law's range"):
        real.friction_coefficient(1.0)  # the Dynamics tab keeps its load inside the selected design's range


def test_the_canonical_grid_and_target_are_unchanged_at_10_N():
    np.testing.assert_array_equal(load_grid(10.0), LOAD_GRID_N)
    t = Target(0.3 * LOAD_GRID_N, 32)
    assert t.max_load_N == 10.0 and t.load_N is LOAD_GRID_N and canonical_target(t) is t
    d = Design.evaluate(_theta(5), 32, 1, t)
    assert at_load_range(d, 10.0) is d


# --------------------------------------------------------------------------- engines
def test_every_engine_designs_on_the_canonical_problem_and_returns_real_designs():
    canonical = Target(simulate(_theta(8), 32, 3), 32)
    target = Target(canonical.friction_N * 0.02, 32, max_load_N=0.2)  # the same law on (0, 0.2 N]
    np.testing.assert_allclose(canonical_target(target).friction_N, canonical.friction_N, rtol=1e-15)
    seen = []
    designs = run("cmaes", target, seed=1, time_budget_s=60.0, max_evaluations=96, count=2,
                  on_progress=seen.append)
    assert seen and all(p.best is None or p.best.max_load_N == 0.2 for p in seen)
    for d in designs:
        assert d.max_load_N == 0.2
        a = d.asperities
        law = np.asarray(friction_law(a.height_mm, a.radius_mm, *d.theta[20:23], loads_N=target.load_N))
        np.testing.assert_allclose(d.friction_N, law, rtol=1e-9)
        assert d.error_percent == pytest.approx(target.error(law), abs=1e-9)
    # a design to refine goes to the canonical problem and comes back
    refined = run("cmaes", target, seed=2, time_budget_s=60.0, max_evaluations=48, count=1, start=designs[0])
    assert refined[0].max_load_N == 0.2 and refined[0].error_percent <= designs[0].error_percent + 1e-9


# --------------------------------------------------------------------------- CSV targets
def _csv_text(load, friction, unit="N"):
    return f"load ({unit}),friction ({unit})\n" + "\n".join(f"{float(p)!r},{float(f)!r}" for p, f in zip(load, friction)) + "\n"


def test_a_csv_from_half_to_20_N_keeps_every_point_and_its_design_is_scored_on_all(tmp_path):
    load = np.linspace(0.5, 20.0, 40)
    friction = 0.2 * load ** 0.85
    path = tmp_path / "brake.csv"
    path.write_text(_csv_text(load, friction))
    csv = read_target_csv(path)
    np.testing.assert_array_equal(csv.raw_load_N, load)               # every measured point kept
    assert csv.max_load_N == 20.0 and csv.load_N[-1] == 20.0
    grid = csv.load_N
    inside = (grid >= 0.5) & (grid <= 20.0)
    np.testing.assert_array_equal(csv.mask, inside)                   # scored from 0.5 to 20 N
    assert np.count_nonzero(csv.mask & (grid > 10.0)) == 64           # half the grid lies above 10 N
    np.testing.assert_allclose(csv.friction_N[inside], np.interp(grid[inside], load, friction), rtol=1e-12)
    assert not any("10 N" in note or "dropped" in note for note in csv.notes)

    target = csv.to_target(32)
    designs = run("cmaes", target, seed=0, time_budget_s=60.0, max_evaluations=96, count=1)
    best = designs[0]
    assert best.max_load_N == 20.0
    residual = best.residual_percent(target)
    assert np.all(np.isfinite(residual[inside])) and np.all(np.isnan(residual[~inside]))
    # its error is the sMAPE over every specified grid load, those above 10 N included
    d, t = best.friction_N[inside], target.friction_N[inside]
    assert best.error_percent == pytest.approx(100 * np.mean(np.abs(d - t) / ((np.abs(d) + np.abs(t)) / 2)), rel=1e-12)
    # and the design's real law at each measured load
    a = best.asperities
    at_points = np.asarray(friction_law(a.height_mm, a.radius_mm, *best.theta[20:23], loads_N=load))
    np.testing.assert_allclose(at_points, np.interp(load, best.load_N, best.friction_N), rtol=0.02)


def test_max_load_option_sets_the_grid_at_or_above_the_data(tmp_path):
    text = _csv_text(np.linspace(0.005, 0.04, 12), 0.3 * np.linspace(0.005, 0.04, 12))
    t = parse_target_text(text, "haptic.csv")
    assert t.max_load_N == 0.04 and t.mask[-1]
    t = parse_target_text(text, "haptic.csv", max_load_N=0.05)
    assert t.max_load_N == 0.05 and not t.mask[-1] and t.mask[t.load_N <= 0.04].sum() > 0
    mn = parse_target_text(_csv_text(1000 * np.linspace(0.005, 0.04, 12), 300 * np.linspace(0.005, 0.04, 12), "mN"),
                           "haptic-mN.csv")
    np.testing.assert_allclose(mn.friction_N, parse_target_text(text, "x.csv").friction_N, rtol=1e-12)


@pytest.mark.parametrize("text,options,words", [
    ("load (N),friction (N)\n2e-7,1e-8\n0.5,0.2\n1,0.3\n", {}, ["wide.csv, line 2", "6.7 decades", "at most 6"]),
    ("load (N),friction (N)\n0.5,0.2\n1,0.3\n20,4\n", {"max_load_N": 10.0}, ["wide.csv, line 4", "20 N is above",
                                                                          "10 N"]),
    ("load (N),friction (N)\n0.5,0.2\n1,0.3\n2,0.5\n", {"max_load_N": 0.0}, ["wide.csv", "positive and finite"]),
    ("load (N),friction (N)\n0.5,0.2\n1,0.3\n2,0.5\n", {"max_load_N": float("nan")}, ["positive and finite"]),
    ("load (N),friction (N)\n0.5,0.2\n1,0.3\n2,0.5\n", {"max_load_N": float("inf")}, ["positive and finite"]),
    ("load (N),friction (N)\n0.001,0.1\n0.002,0.2\n0.003,0.3\n", {"max_load_N": 10.0}, ["covers none"]),
])
def test_bad_load_ranges_are_one_line_errors_naming_file_and_line(text, options, words):
    with pytest.raises(CsvError) as err:
        parse_target_text(text, "wide.csv", **options)
    message = str(err.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf"])
def test_the_command_line_refuses_a_bad_max_load_in_one_line(tmp_path, capsys, value):
    path = tmp_path / "curve.csv"
    path.write_text(_csv_text(np.linspace(0.5, 4, 8), 0.3 * np.linspace(0.5, 4, 8)))
    rc = main(["design", str(path), "-N", "16", "--out", str(tmp_path / "x.h5"), f"--max-load={value}"])
    captured = capsys.readouterr()
    err = [line for line in captured.err.splitlines() if line.strip()]
    assert rc == 2 and captured.out == "" and len(err) == 1
    assert "curve.csv" in err[0] and "--max-load" in err[0]
    assert not (tmp_path / "x.h5").exists()


def test_target_and_design_refuse_a_bad_load_range():
    with pytest.raises(load_range.LoadRangeError, match="positive and finite"):
        Target(0.3 * LOAD_GRID_N, 32, max_load_N=-1)
    with pytest.raises(load_range.LoadRangeError, match="positive and finite"):
        Design(_theta(1), 32, 0, max_load_N=float("nan"))


# --------------------------------------------------------------------------- design files and exports
def test_a_10N_file_written_by_the_previous_version_opens_unchanged(tmp_path):
    """The fixture was written by commit 8ae2077's write_design_file (before load ranges): a power-law target
    masked below 0.5 N and one cmaes design, N = 32, seed 7."""
    with h5py.File(OLD_FILE, "r") as f:
        g = f["designs/old-10N"]
        assert "max_load_N" not in g.attrs
        stored = {k: g[k][()] for k in ("theta", "asperities/height_mm", "asperities/radius_mm", "asperities/x_mm",
                                         "curve/load_N", "curve/friction_N")}
        target_law = f["target/friction_N"][()]
    df = read_design_file(OLD_FILE)
    d = df.design("old-10N")
    assert d.max_load_N == 10.0 and df.target.max_load_N == 10.0
    np.testing.assert_array_equal(d.theta, stored["theta"])
    np.testing.assert_array_equal(d.asperities.height_mm, stored["asperities/height_mm"])
    np.testing.assert_array_equal(d.asperities.radius_mm, stored["asperities/radius_mm"])
    np.testing.assert_array_equal(d.friction_N, stored["curve/friction_N"])
    np.testing.assert_array_equal(d.load_N, stored["curve/load_N"])
    np.testing.assert_array_equal(df.target.friction_N, target_law)
    np.testing.assert_array_equal(df.target.load_N, LOAD_GRID_N)
    np.testing.assert_array_equal(df.layouts["old-10N"][0], stored["asperities/x_mm"])
    assert d.error_percent == pytest.approx(df.target.error(d.friction_N), abs=1e-9)
    # its asperities are still (θ, N, seed)'s
    np.testing.assert_array_equal(realize(d.theta, d.N, d.seed).height_mm, d.asperities.height_mm)
    # written again by this version: the same numbers, now with max_load_N = 10 N
    again = tmp_path / "again.h5"
    write_design_file(again, df.designs, df.target, layouts=df.layout_details)
    back = read_design_file(again)
    np.testing.assert_array_equal(back.design().theta, d.theta)
    np.testing.assert_array_equal(back.design().friction_N, d.friction_N)
    np.testing.assert_array_equal(back.layouts["old-10N"][0], stored["asperities/x_mm"])
    with h5py.File(again, "r") as f:
        assert f["designs/old-10N"].attrs["max_load_N"] == 10.0


def test_a_design_file_holds_real_geometry_and_grid_and_reads_back_canonical(tmp_path):
    canonical_target_ = Target(simulate(_theta(3), 24, 2) * 1.02, 24)
    target = Target(canonical_target_.friction_N * 50.0, 24, max_load_N=500.0, source="csv:foot.csv")
    design = Design.evaluate(_theta(3), 24, 2, target, name="foot")
    lam = math.sqrt(50.0)
    path = write_design_file(tmp_path / "foot.h5", [design], target)
    with h5py.File(path, "r") as f:
        g = f["designs/foot"]
        assert g.attrs["max_load_N"] == 500.0
        assert g.attrs["radius_floor_mm"] == pytest.approx(0.05 * lam, rel=1e-12)
        np.testing.assert_allclose(g["theta"][()], load_range.real_theta(design.theta, 500.0), rtol=1e-15)
        np.testing.assert_allclose(g["theta"][()][MU_R_IDX], lam * design.theta[MU_R_IDX], rtol=1e-15)
        assert g["theta"][()][E_STAR_IDX] == design.theta[E_STAR_IDX]       # E*, τ0, B unchanged
        np.testing.assert_allclose(g["curve/load_N"][()], 500.0 * np.arange(1, 129) / 128, rtol=1e-15)
        np.testing.assert_allclose(f["target/load_N"][()], 500.0 * np.arange(1, 129) / 128, rtol=1e-15)
        np.testing.assert_array_equal(g["asperities/height_mm"][()], design.asperities.height_mm)
        assert g["layout"].attrs["max_load_N"] == pytest.approx(500.0, rel=1e-12)
    back = read_design_file(path)
    b = back.design()
    assert b.max_load_N == 500.0 and back.target.max_load_N == 500.0
    np.testing.assert_allclose(b.theta, design.theta, rtol=1e-14)
    np.testing.assert_array_equal(b.friction_N, design.friction_N)
    assert b.error_percent == pytest.approx(target.error(design.friction_N), abs=1e-12)
    # `friction-studio simulate` re-simulates the real asperities at the real loads
    from studio.io.commands import resimulate
    _, law, difference = resimulate(back)
    assert difference < 1e-9


def test_stl_and_height_maps_come_out_in_real_millimetres(tmp_path):
    canonical = Design.evaluate(_theta(4), 16, 5)
    real = at_load_range(canonical, 0.2)
    lam = math.sqrt(0.02)
    g10, g02 = fabrication_geometry(canonical), fabrication_geometry(real)
    np.testing.assert_allclose(g02.height_mm, lam * g10.height_mm, rtol=1e-12)
    np.testing.assert_allclose(g02.radius_mm, lam * g10.radius_mm, rtol=1e-12)
    np.testing.assert_allclose(g02.x_mm, lam * g10.x_mm, rtol=1e-12, atol=1e-15)
    assert g02.base_level_mm == pytest.approx(lam * g10.base_level_mm, rel=1e-12)
    assert design_layout(real).max_load_N == pytest.approx(0.2, rel=1e-12)
    t10 = read_stl_triangles(save_stl(tmp_path / "a.stl", g10))
    t02 = read_stl_triangles(save_stl(tmp_path / "b.stl", g02))
    extent = lambda t: t.reshape(-1, 3).max(0) - t.reshape(-1, 3).min(0)  # noqa: E731
    # the caps and plate scale by λ (the exporter's fixed plate thickness and margin do not)
    assert extent(t02)[0] < 0.5 * extent(t10)[0]


def test_hertz_and_fabrication_checks_use_the_real_geometry(tmp_path):
    theta = _theta(6)
    theta[MU_R_IDX], theta[SD_R_IDX] = 0.5, 0.05
    canonical = Design.evaluate(theta, 32, 1)
    assert not any("tip radii" in w for w in canonical.fabrication_warnings())
    tiny = at_load_range(canonical, 0.002)   # λ = 0.014: radii of a few µm
    huge = at_load_range(canonical, 1e6)     # λ = 316: radii of decimetres
    assert any("under 50 µm" in w for w in tiny.fabrication_warnings())
    assert any("over 50 mm" in w for w in huge.fabrication_warnings())
    assert tiny.hertz_valid == huge.hertz_valid == canonical.hertz_valid
    target = Target(tiny.friction_N, 32, max_load_N=0.002)
    path = write_design_file(tmp_path / "tiny.h5", [tiny], target)  # flagged, not refused
    with h5py.File(path, "r") as f:
        assert any("under 50 µm" in w for w in json.loads(f["designs"][tiny.name or "design_1"].attrs[
            "fabrication_warnings"]))


# --------------------------------------------------------------------------- targets in the studio (no Qt)
def test_presets_and_sketches_keep_their_shape_on_another_load_range():
    for name in ("linear", "power law", "bilinear"):
        at10, at02 = preset_sketch(name, mu=0.4), preset_sketch(name, mu=0.4, max_load_N=0.2)
        assert at02.max_load_N == 0.2
        np.testing.assert_allclose(at02.load_grid_N, 0.02 * at10.load_grid_N, rtol=1e-15)
        np.testing.assert_allclose(at02.law_N, 0.02 * at10.law_N, rtol=1e-14)
    s = stroke_to_sketch([0.01, 0.05, 0.12, 0.18], [0.004, 0.015, 0.03, 0.04], load_grid_N=load_grid(0.2))
    assert s.max_load_N == 0.2 and s.target(32).max_load_N == 0.2
    moved = s.with_handle(1, 0.02).at_max_load(500.0)
    np.testing.assert_allclose(moved.law_N, 2500.0 * s.with_handle(1, 0.02).law_N, rtol=1e-12)
    np.testing.assert_array_equal(moved.mask, s.mask)
    back = TargetSketch.from_target(moved.target(16))
    assert back.max_load_N == 500.0


def test_changing_the_load_range_moves_target_and_designs_and_keeps_errors():
    state = StudioState()
    state.target.edit(preset_sketch("power law"), "Preset")
    before = state.target.target
    design = Design.evaluate(_theta(2), state.target.N, 0, before)
    state.board.add(design)
    state.target.set_max_load(0.2)
    t = state.target.target
    assert t.max_load_N == 0.2 and state.target.undo_text == "Load range 0–0.2 N"
    np.testing.assert_allclose(t.friction_N, 0.02 * before.friction_N, rtol=1e-14)
    moved = state.board.entries[0].design
    assert moved.max_load_N == 0.2 and moved.error_percent == pytest.approx(design.error_percent, abs=1e-9)
    np.testing.assert_allclose(moved.friction_N, 0.02 * design.friction_N, rtol=1e-14)
    state.target.undo()
    assert state.target.max_load_N == 10.0
    np.testing.assert_allclose(state.board.entries[0].design.friction_N, design.friction_N, rtol=1e-12)
    with pytest.raises(load_range.LoadRangeError):
        state.target.set_max_load(0.0)


def test_a_session_keeps_the_load_range(tmp_path):
    target = Target(0.3 * load_grid(0.05), 32, max_load_N=0.05)
    design = Design(_theta(1), 32, 3, name="d", max_load_N=0.05)
    back = load_session(save_session(tmp_path / "s.json", Session(target=target, designs=[design])))
    assert back.target.max_load_N == 0.05 and back.designs[0].max_load_N == 0.05
    np.testing.assert_allclose(back.target.load_N, load_grid(0.05))
