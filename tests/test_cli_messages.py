"""Messages that tell the truth: `--out` checked first, partial targets counted, misses blamed on the data when
the data is the problem, and --help that explains units, load range, sMAPE and every option's default."""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import pytest

from studio.cli import build_parser, main
from studio.design.core import Design, Target
from studio.design.search import reach_report
from studio.physics import THETA_SIZE, from_unit

RECORDS = Path(__file__).resolve().parent / "data" / "records"
N = 32


@pytest.fixture
def no_search(monkeypatch):
    """Fails the test if a design search starts: a bad --out must be refused before it."""
    import studio.design.engines as engines

    def refuse(*a, **k):
        raise AssertionError("the search ran before --out was checked")

    monkeypatch.setattr(engines, "run", refuse)


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    return err


def test_out_in_a_missing_folder_is_refused_before_the_search(tmp_path, capsys, no_search):
    rc = main(["design", str(RECORDS / "spikes.csv"), "-N", str(N), "--out", str(tmp_path / "nope" / "d.h5")])
    assert rc == 2
    err = _error_line(capsys)
    assert f"folder {tmp_path / 'nope'} does not exist" in err and err.startswith("friction-studio design: --out")


def test_out_that_is_a_folder_is_refused(tmp_path, capsys, no_search):
    assert main(["design", str(RECORDS / "spikes.csv"), "-N", str(N), "--out", str(tmp_path)]) == 2
    assert "is a folder; give a file name" in _error_line(capsys)


def test_out_in_an_unwritable_folder_is_refused(tmp_path, capsys, no_search, monkeypatch):
    real_open = os.open

    def read_only(path, flags, *a, **k):  # the folder refuses new files (tests may run as root: no chmod)
        if str(path).startswith(str(tmp_path)) and flags & os.O_CREAT:
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *a, **k)

    monkeypatch.setattr(os, "open", read_only)
    assert main(["design", str(RECORDS / "spikes.csv"), "-N", str(N), "--out", str(tmp_path / "d.h5")]) == 2
    assert f"cannot write in folder {tmp_path} (Permission denied)" in _error_line(capsys)
    assert not list(tmp_path.iterdir())


def test_a_branch_the_record_lacks_is_one_line(tmp_path, capsys, no_search):
    rc = main(["design", str(RECORDS / "spikes.csv"), "-N", str(N), "--out", str(tmp_path / "d.h5"),
               "--branch", "unloading"])
    assert rc == 2
    assert "spikes.csv: branch unloading: the record has no unloading branch" in _error_line(capsys)


def test_bad_smoothing_is_one_line(tmp_path, capsys, no_search):
    rc = main(["design", str(RECORDS / "spikes.csv"), "-N", str(N), "--out", str(tmp_path / "d.h5"),
               "--smoothing", "much"])
    assert rc == 2
    assert "smoothing 'much'" in _error_line(capsys)


def test_json_counts_specified_and_scored_loads_and_carries_the_notes(tmp_path, capsys):
    part = tmp_path / "part.csv"  # a record covering 4–5 N of a 0–10 N range: 13 of 128 grid loads
    loads = np.linspace(4.0, 5.0, 9)
    part.write_text("load (N),friction (N)\n" + "\n".join(f"{p:.4f},{0.3 * p ** 0.8:.6f}" for p in loads))
    rc = main(["design", str(part), "-N", str(N), "--out", str(tmp_path / "d.h5"), "--max-load", "10",
               "--method", "cmaes", "--time-budget", "0.5", "--candidates", "2"])
    assert rc == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["grid_loads"] == 128 and result["specified_loads"] == result["scored_loads"] == 13
    assert "13 of 128 grid loads specified and scored" in result["message"]
    assert "every specified load" not in result["message"]
    assert any("extrapolated above 5 N" in note for note in result["target_notes"])


def test_json_names_the_import_steps(tmp_path, capsys):
    rc = main(["design", str(RECORDS / "two_branches.csv"), "-N", str(N), "--out", str(tmp_path / "d.h5"),
               "--branch", "mean", "--method", "cmaes", "--time-budget", "0.5", "--candidates", "1"])
    assert rc == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert any("mean of the loading" in n for n in result["target_notes"])


# --- the wording of a miss -------------------------------------------------------------------


def _design_with_law(law, target) -> Design:
    d = Design(theta=from_unit(np.full(THETA_SIZE, 0.5)), N=N, seed=0)
    d.friction_N, d.error_percent = np.asarray(law, float), target.error(law)
    return d


def test_a_miss_at_a_spike_in_the_data_blames_the_data():
    grid = Target(np.ones(128), N).load_N
    smooth = 0.3 * grid ** 0.8
    spiky = smooth.copy()
    spiky[66:70] *= [1.6, 3.18, 2.2, 1.3]  # a measured spike near 5.3 N, resampled
    target = Target(spiky, N)
    text = reach_report(_design_with_law(smooth * 1.01, target), target)
    assert "where the target itself is rough" in text and "spikes in the target data near 5." in text
    assert "the data is the problem there, not the design box" in text
    assert "out of reach of the design box" not in text
    assert "all 128 grid loads specified and scored" in text


def test_a_miss_at_noise_says_noise():
    target_law = 0.3 * Target(np.ones(128), N).load_N ** 0.8
    noisy = target_law * (1 + 0.04 * np.random.default_rng(1).standard_normal(128))
    target = Target(noisy, N)
    text = reach_report(_design_with_law(target_law, target), target)
    assert "noise: the target scatters ≈" in text and "out of reach" not in text


def test_a_law_the_box_cannot_make_is_still_out_of_reach():
    target = Target(np.ones(128), N)
    law = np.ones(128)
    law[:10] = 1.2  # a smooth target missed over a range: the design's fault, not the data's
    text = reach_report(_design_with_law(law, target), target)
    assert text.startswith("out of reach of the design box by more than 5 % at loads")
    assert "rough" not in text


# --- --help ----------------------------------------------------------------------------------


def _subparser(name) -> argparse.ArgumentParser:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


def test_design_help_states_units_load_range_and_smape(capsys):
    with pytest.raises(SystemExit):
        main(["design", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for words in ("N, mN, µN (uN) or kN", "6 decades", "(0, P_max]", "sMAPE, the symmetric mean absolute percentage",
                  "lower is better", "--branch", "--smoothing", "(default loading)", "(default auto)"):
        assert words in text, words


@pytest.mark.parametrize("command", ["design", "bench", "train", "evaluate"])
def test_every_option_has_help_and_its_default_shown(command):
    p = _subparser(command)
    assert p.description, f"{command} has no description"
    for action in p._actions:
        if isinstance(action, argparse._HelpAction) or not action.option_strings:
            continue
        name = action.option_strings[-1]
        assert action.help, f"{command} {name} has no help"
        if action.required:
            continue
        assert "default" in action.help, f"{command} {name}: default {action.default!r} not shown"


def test_bench_help_shows_default_targets_and_engines(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default sim-00,sim-20,sim-39,linear-mu0.5-N32)" in text and "(default cmaes,hybrid)" in text
    assert "--seed" in text and "(default 0)" in text


def test_a_smooth_miss_beside_rough_points_is_not_blamed_on_the_box_alone():
    grid = Target(np.ones(128), N).load_N
    smooth = 0.3 * grid ** 0.8
    spiky = smooth.copy()
    spiky[66:70] *= [1.6, 3.18, 2.2, 1.3]
    target = Target(spiky, N)
    law = smooth.copy()
    law[:6] *= 1.15  # also misses a smooth stretch at low loads
    text = reach_report(_design_with_law(law, target), target)
    assert text.startswith("misses the target by more than 5 % at loads") and "where the target is smooth" in text
    assert "traded for the rough points" in text and "spikes in the target data near 5." in text
    assert "out of reach of the design box by" not in text


def test_bench_json_in_a_missing_folder_is_refused_before_the_benchmark(tmp_path, capsys, monkeypatch):
    import studio.design.benchmark as benchmark

    monkeypatch.setattr(benchmark, "run_benchmark", lambda *a, **k: pytest.fail("the benchmark ran"))
    assert main(["bench", "--json", str(tmp_path / "nope" / "b.json")]) == 2
    err = _error_line(capsys)
    assert err.startswith("friction-studio bench: --json") and f"folder {tmp_path / 'nope'} does not exist" in err
