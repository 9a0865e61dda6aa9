"""`friction-studio design` and `bench`: one JSON line, a valid design file, one-line errors naming file and line."""
import json

import numpy as np
import pytest

from studio.cli import main
from studio.physics import LOAD_GRID_N, THETA_SIZE, from_unit, simulate

N = 32


@pytest.fixture(scope="module")
def target_csv(tmp_path_factory):
    law = simulate(from_unit(np.random.default_rng(42).random(THETA_SIZE)), N, 5)
    path = tmp_path_factory.mktemp("design") / "measured.csv"
    rows = [f"{p * 1000:.6g},{f:.9g}" for p, f in zip(LOAD_GRID_N[4::6], law[4::6])]  # loads in mN, 0.39..9.8 N
    path.write_text("load (mN),friction (N)\n" + "\n".join(rows) + "\n")
    return path, law


def _one_json_line(out: str) -> dict:
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, out
    return json.loads(lines[0])


def test_design_command_writes_a_design_file_and_one_json_line(target_csv, tmp_path, capsys):
    from studio.io import read_design_file

    csv, law = target_csv
    out = tmp_path / "designs.h5"
    rc = main(["design", str(csv), "--asperities", str(N), "--out", str(out), "--time-budget", "1.5",
               "--method", "cmaes", "--candidates", "3", "--seed", "4"])
    assert rc == 0
    result = _one_json_line(capsys.readouterr().out)
    for key in ("best", "smape_percent", "elapsed_s"):
        assert key in result
    assert result["smape_percent"] < 20.0

    f = read_design_file(out)
    assert 1 <= len(f.designs) <= 3
    best = f.design()
    assert best.name == result["best"] == f.best
    assert best.N == N and best.method == "cmaes"
    # the file's error is the target's sMAPE of the design re-simulated from (θ, N, seed)
    assert f.target is not None and f.target.mask.sum() < 128  # loads below 0.39 N are masked out
    assert f.target.max_load_N == pytest.approx(9.765625, rel=1e-5) == best.max_load_N  # the CSV's largest load
    # (the law of (θ, N, seed) on the canonical 10 N grid, scaled to the file's range: docs/load-ranges.md)
    resimulated = f.target.error(simulate(best.theta, best.N, best.seed) * best.max_load_N / 10.0)
    assert resimulated == pytest.approx(result["smape_percent"], abs=1e-5)


def test_design_command_rejects_a_malformed_csv_naming_file_and_line(tmp_path, capsys):
    bad = tmp_path / "broken.csv"
    bad.write_text("load (N),friction (N)\n1,0.5\n2,abc\n3,1.4\n")
    rc = main(["design", str(bad), "--asperities", str(N), "--out", str(tmp_path / "x.h5"), "--time-budget", "1"])
    captured = capsys.readouterr()
    assert rc != 0 and captured.out == ""
    err = [line for line in captured.err.splitlines() if line.strip()]
    assert len(err) == 1
    assert "broken.csv" in err[0] and "line 3" in err[0]
    assert not (tmp_path / "x.h5").exists()


def test_design_command_rejects_an_unknown_method(target_csv, tmp_path, capsys):
    rc = main(["design", str(target_csv[0]), "--asperities", str(N), "--out", str(tmp_path / "x.h5"),
               "--method", "annealing"])
    err = capsys.readouterr().err
    assert rc != 0 and "annealing" in err and "hybrid" in err


def test_bench_command_prints_a_json_summary_and_a_table(capsys, tmp_path):
    rc = main(["bench", "--targets", "sim-00", "--engines", "cmaes", "--budget", "0.3",
               "--json", str(tmp_path / "bench.json")])
    assert rc == 0
    out = capsys.readouterr().out.splitlines()
    summary = json.loads(out[0])
    assert summary["summary"]["cmaes"]["simulated"]["count"] == 1
    written = json.loads((tmp_path / "bench.json").read_text())
    assert written["summary"] == summary["summary"] and len(written["rows"]) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["bench.json"]  # written atomically, nothing left over
    assert any(line.startswith("cmaes") for line in out[1:])


def test_design_command_with_asperities_auto_designs_at_the_proposed_count(target_csv, tmp_path, capsys):
    from studio.design.auto_n import good_enough_limit
    from studio.io import read_design_file

    csv, _ = target_csv
    out = tmp_path / "auto.h5"
    rc = main(["design", str(csv), "--asperities", "auto", "--auto-counts", "16,32,48", "--out", str(out),
               "--time-budget", "1", "--method", "cmaes", "--candidates", "2", "--seed", "3"])
    assert rc == 0
    result = _one_json_line(capsys.readouterr().out)
    auto = result["auto_n"]
    assert auto["counts"] == [16, 32, 48] and len(auto["best_smape_percent"]) == 3
    errors = dict(zip(auto["counts"], auto["best_smape_percent"]))
    assert errors[auto["best_N"]] == min(errors.values())
    limit = good_enough_limit(min(errors.values()))
    assert auto["smallest_good_N"] == min(n for n, e in errors.items() if e <= limit)
    assert auto["good_enough_percent"] == pytest.approx(limit, abs=1e-5)
    assert result["N"] == auto["smallest_good_N"]                  # designed at the proposed count
    assert read_design_file(out).design().N == auto["smallest_good_N"]


def test_design_command_refuses_a_bad_asperity_count_word(target_csv, tmp_path, capsys):
    csv, _ = target_csv
    with pytest.raises(SystemExit) as exit_:
        main(["design", str(csv), "--asperities", "several", "--out", str(tmp_path / "x.h5")])
    assert exit_.value.code == 2 and "'auto'" in capsys.readouterr().err
    rc = main(["design", str(csv), "--asperities", "auto", "--auto-counts", "16,x", "--out", str(tmp_path / "x.h5")])
    err = capsys.readouterr().err
    assert rc == 2 and "--auto-counts" in err and len(err.strip().splitlines()) == 1
