"""Measured records as tribometers write them: branches, repeats, spikes, noise — accepted, cleaned and noted.

The files are tests/data/records/*.csv (made by make_records.py there: F = 0.3·P^0.8 swept 0.25–10 N,
one complication each). Every test asserts the target's notes and what the target became.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from studio.io.csv_target import CsvError, parse_target_text, read_target_csv
from studio.io.record import DEFAULT_SMOOTHING_PERCENT, prepare_record

RECORDS = Path(__file__).resolve().parent / "data" / "records"


def law(load_N):
    return 0.3 * load_N ** 0.8


def deviation_percent(t) -> np.ndarray:
    """|target − the law the record was made from| / law [%], on the specified loads."""
    m = t.mask
    return 100 * np.abs(t.friction_N[m] / law(t.load_N[m]) - 1)


def has(notes, *words) -> bool:
    return any(all(w in note for w in words) for note in notes)


def test_loading_branch_is_the_default_and_the_unloading_rows_are_named():
    t = read_target_csv(RECORDS / "two_branches.csv")
    assert t.branch == "loading" and t.branches == ("loading", "unloading")
    assert has(t.notes, "loading branch (40 rows, lines 3–42)", "unloading branch (39 rows, lines 43–81) left out")
    assert t.raw_load_N.size == 40
    assert deviation_percent(t).max() < 1.0  # the loading law, not the 12 % lower unloading one
    assert t.smoothing_percent == 0  # a clean record is kept as measured


def test_unloading_and_mean_branches_can_be_chosen():
    unloading = read_target_csv(RECORDS / "two_branches.csv", branch="unloading")
    assert has(unloading.notes, "unloading branch (39 rows, lines 43–81)", "loading branch (40 rows, lines 3–42) left out")
    np.testing.assert_allclose(unloading.friction_N[unloading.mask] / law(unloading.load_N[unloading.mask]), 0.88,
                               rtol=0.015)
    mean = read_target_csv(RECORDS / "two_branches.csv", branch="mean")
    assert has(mean.notes, "mean of the loading", "and unloading", "branches")
    assert has(mean.notes, "unloading is 12.0 % below loading")
    np.testing.assert_allclose(mean.friction_N[mean.mask] / law(mean.load_N[mean.mask]), 0.94, rtol=0.015)
    assert mean.raw_load_N.size == 79  # both branches' rows are the measured points


def test_a_load_column_that_repeats_is_three_sweeps_averaged():
    t = read_target_csv(RECORDS / "repeated_sweeps.csv")
    assert has(t.notes, "loading branch: 3 sweeps, 120 rows, lines 2–41, 42–81, 82–121")
    assert has(t.notes, "averaged repeated measurements: 3 rows at each of 40 load(s)")
    assert t.raw_load_N.size == 120 and deviation_percent(t).max() < 1.5


def test_interleaved_repeats_are_averaged():
    t = read_target_csv(RECORDS / "interleaved_repeats.csv")
    assert has(t.notes, "averaged repeated measurements: 3 rows at each of 40 load(s)")
    assert not has(t.notes, "branch")  # one rising sweep: nothing to choose
    assert deviation_percent(t).max() < 1.5


def test_spikes_are_named_and_left_out():
    t = read_target_csv(RECORDS / "spikes.csv")
    assert has(t.notes, "3 outlier(s)", "line 10 (2.25 N, +150 %)", "line 23 (5.5 N, +218 %)",
               "line 35 (8.5 N, -60 %)", "left out of the target")
    assert t.outlier.sum() == 3
    np.testing.assert_allclose(np.sort(t.raw_load_N[t.outlier]), [2.25, 5.5, 8.5])
    assert t.smoothing_percent == DEFAULT_SMOOTHING_PERCENT
    assert deviation_percent(t).max() < 1.5


def test_spikes_are_kept_and_named_when_smoothing_is_off():
    t = read_target_csv(RECORDS / "spikes.csv", smoothing="off")
    assert has(t.notes, "3 outlier(s)", "kept in the target: smoothing is off")
    assert deviation_percent(t).max() > 150  # the +218 % spike is in the target, as asked
    assert t.smoothing_percent == 0


def test_three_percent_noise_is_flagged_and_smoothed():
    t = read_target_csv(RECORDS / "noise_3pct.csv")
    assert 2.0 < t.noise_percent < 4.5
    assert has(t.notes, "noisy record: scatter ≈", "% of friction")
    assert has(t.notes, "smoothed", f"±{DEFAULT_SMOOTHING_PERCENT:g} % of the load")
    raw = read_target_csv(RECORDS / "noise_3pct.csv", smoothing=0)
    assert has(raw.notes, "smoothing is off, so the target follows the noise")
    # smoothing brings the target back to the law the record was measured from
    assert deviation_percent(t).mean() < 0.5 * deviation_percent(raw).mean()
    assert deviation_percent(t).max() < 3.0


def test_smoothing_strength_is_adjustable():
    light = read_target_csv(RECORDS / "noise_3pct.csv", smoothing=3)
    strong = read_target_csv(RECORDS / "noise_3pct.csv", smoothing=25)
    assert light.smoothing_percent == 3 and strong.smoothing_percent == 25
    assert has(strong.notes, "±25 % of the load")
    rough = lambda t: np.abs(np.diff(np.log(t.friction_N[t.mask]), 2)).mean()
    assert rough(strong) < rough(light)


def test_noisy_two_branch_record_combines_every_note():
    t = read_target_csv(RECORDS / "noisy_two_branches.csv")
    assert has(t.notes, "loading branch (2 sweeps, 79 rows, lines 3–42, 82–120)", "unloading branch (2 sweeps")
    assert has(t.notes, "2 outlier(s)", "line 23 (5.234 N", "line 103 (5.742 N", "left out")
    assert has(t.notes, "noisy record")
    assert has(t.notes, "smoothed")
    assert deviation_percent(t).max() < 4.0


def test_clean_examples_are_not_smoothed():
    for path in sorted((Path(__file__).resolve().parents[1] / "resources" / "examples").glob("*.csv")):
        t = read_target_csv(path)
        assert t.smoothing_percent == 0 and not t.outlier.any(), path.name
        assert not has(t.notes, "noisy"), path.name


@pytest.mark.parametrize("path,options,words", [
    ("spikes.csv", {"branch": "unloading"}, ["no unloading branch", "loads rise throughout", "lines 2–41"]),
    ("spikes.csv", {"branch": "mean"}, ["mean needs loading and unloading", "only a loading branch"]),
    ("spikes.csv", {"branch": "sideways"}, ["'sideways'", "loading, unloading, mean"]),
    ("spikes.csv", {"smoothing": "lots"}, ["'lots'", "auto, off or a width"]),
    ("spikes.csv", {"smoothing": -5}, ["between 0 and 100"]),
])
def test_impossible_choices_are_one_line_errors(path, options, words):
    with pytest.raises(CsvError) as info:
        read_target_csv(RECORDS / path, **options)
    message = str(info.value)
    assert message.startswith(path) and "\n" not in message
    for w in words:
        assert w in message


def test_noisy_load_cell_does_not_make_false_turns():
    rng = np.random.default_rng(5)
    up = np.linspace(0.5, 10, 60) * (1 + 0.003 * rng.standard_normal(60))  # a rising load that jitters
    r = prepare_record(up, law(up), np.arange(2, 62))
    assert r.branches == ("loading",) and r.load_N.size == 60


def test_unsorted_table_is_not_a_record():
    t = parse_target_text("2,0.7\n0.5,0.25\n4,1.2\n1,0.4\n3,1.0\n", "u.csv")
    assert has(t.notes, "sorted") and not has(t.notes, "branch")
    with pytest.raises(CsvError, match="not a record in time order"):
        parse_target_text("2,0.7\n0.5,0.25\n4,1.2\n1,0.4\n3,1.0\n", "u.csv", branch="unloading")


def test_measured_points_survive_a_session(tmp_path):
    from studio.design.targets import TargetSketch
    from studio.io.session import load_session, save_session
    from studio.state import StudioState

    csv = read_target_csv(RECORDS / "spikes.csv")
    state = StudioState()
    state.target.edit(TargetSketch.from_target(csv.to_target(32)).with_measured(csv.raw_load_N, csv.raw_friction_N,
                                                                                 csv.outlier))
    path = save_session(tmp_path / "s.json", state.to_session())
    restored = StudioState()
    restored.restore(load_session(path))
    load, friction, outlier = restored.target.sketch.measured
    np.testing.assert_array_equal(load, csv.raw_load_N)
    np.testing.assert_array_equal(friction, csv.raw_friction_N)
    np.testing.assert_array_equal(outlier, csv.outlier)


def test_rows_out_of_order_are_not_called_sweeps():
    p = np.linspace(1, 8, 20)
    rows = [f"{a:.3f},{0.3 * a ** 0.8:.4f}" for a in p]
    t = parse_target_text("\n".join(rows[5:] + rows[:5]), "rotated.csv")  # two rising runs, disjoint loads
    assert has(t.notes, "rows were not sorted by load; sorted them") and not has(t.notes, "sweeps")
