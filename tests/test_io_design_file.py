"""HDF5 design files (format_version 1): every field round-trips, damage is reported clearly, writes are atomic."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

import studio
from studio import cli
from studio.design.core import Design, Target
from studio.io import design_file as dfmod
from studio.io.csv_target import read_target_csv
from studio.io.design_file import (
    FORMAT_VERSION,
    READERS,
    DesignFile,
    DesignFileError,
    read_design_file,
    read_design_h5,
    write_design_file,
    write_design_h5,
)
from studio.physics import LOAD_GRID_N, THETA_NAMES, from_unit
from studio.physics.layout import layout_faults
from studio.physics.friction import contact_radius_mm


@pytest.fixture(scope="module")
def designs():
    rng = np.random.default_rng(11)
    a = Design.evaluate(from_unit(rng.random(23)), 24, 5, method="cmaes", model="cvae-compact", elapsed_s=1.5,
                        name="refined")
    b = Design.evaluate(from_unit(rng.random(23)), 17, 2**40 + 3, method="candidates", name="candidate/2")
    a.band_p05, a.band_p95 = 0.9 * a.friction_N, 1.1 * a.friction_N
    return [a, b]


@pytest.fixture(scope="module")
def target(designs):
    mask = LOAD_GRID_N >= 1.0
    return Target(friction_N=designs[1].friction_N * 1.02, N=17, mask=mask, source="csv:measured.csv",
                  note="from the rig, 3 May")


def memory_file(name="memory.h5"):
    """An HDF5 file that lives only in memory (never touches the disk)."""
    return h5py.File(name, "w", driver="core", backing_store=False)


def test_every_field_round_trips_in_memory(designs, target):
    with memory_file() as f:
        write_design_h5(f, designs, target)
        out = read_design_h5(f, "mem")
    assert out.format_version == FORMAT_VERSION and out.software_version == studio.__version__
    assert out.created.endswith("Z")
    assert [d.name for d in out.designs] == ["refined", "candidate_2"]  # '/' cannot be in an HDF5 name
    for original, read in zip(designs, out.designs):
        np.testing.assert_array_equal(read.theta, original.theta)
        assert (read.N, read.seed, read.method, read.model, read.elapsed_s) == \
            (original.N, original.seed, original.method, original.model, original.elapsed_s)
        np.testing.assert_array_equal(read.asperities.height_mm, original.asperities.height_mm)
        np.testing.assert_array_equal(read.asperities.radius_mm, original.asperities.radius_mm)
        np.testing.assert_array_equal(read.asperities.component, original.asperities.component)
        np.testing.assert_array_equal(read.friction_N, original.friction_N)
        assert read.error_percent == pytest.approx(target.error(original.friction_N), rel=1e-12)
        assert out.hertz_valid[read.name] == original.hertz_valid
        x, y = out.layouts[read.name]
        layout = out.layout_details[read.name]
        assert read.layout is layout  # the design keeps the layout it was made with
        a = read.asperities
        assert layout_faults(a.height_mm, a.radius_mm, x, y, layout.flat_lowest_mm) == \
            {"overlapping_caps": 0, "buried_summits": 0, "buried": []}
        # Still the spec's promise: no two contact discs at P_max overlap.
        radii = contact_radius_mm(a.height_mm, a.radius_mm, read.theta[20], 10.0)
        i, j = np.triu_indices(radii.size, 1)
        assert np.all(np.hypot(x[i] - x[j], y[i] - y[j]) >= radii[i] + radii[j] + 0.05 - 1e-9)
    np.testing.assert_array_equal(out.designs[0].band_p05, designs[0].band_p05)
    np.testing.assert_array_equal(out.designs[0].band_p95, designs[0].band_p95)
    assert out.designs[1].band_p05 is None
    np.testing.assert_array_equal(out.target.friction_N, target.friction_N)
    np.testing.assert_array_equal(out.target.mask, target.mask)
    assert (out.target.source, out.target.note, out.target.N) == (target.source, target.note, target.N)
    errors = {d.name: d.error_percent for d in out.designs}
    assert out.best == min(errors, key=errors.get) == "candidate_2"
    assert out.design().name == out.best


def test_file_layout_follows_the_spec(tmp_path, designs, target):
    path = write_design_file(tmp_path / "d.h5", designs, target)
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "friction-studio-design" and f.attrs["format_version"] == 1
        for key in ("created", "software_version", "best"):
            assert key in f.attrs
        datasets = []
        f.visititems(lambda name, obj: datasets.append(name) if isinstance(obj, h5py.Dataset) else None)
        assert all("unit" in f[name].attrs for name in datasets)  # every dataset carries a unit
        g = f["designs/refined"]
        assert set(g["asperities"]) == {"height_mm", "radius_mm", "component", "x_mm", "y_mm"}
        assert set(g["curve"]) == {"load_N", "friction_N", "band_p05", "band_p95"}
        assert g["asperities/component"].dtype == np.int32 and g["theta"].shape == (23,)
        assert list(g["theta"].attrs["names"]) == list(THETA_NAMES)
        assert {"N", "seed", "E_star_MPa", "tau0_MPa", "B", "method", "model", "smape_percent", "hertz_valid",
                "elapsed_s"} <= set(g.attrs)
        assert f["target/mask"].dtype == bool and f["target"].attrs["source"] == "csv:measured.csv"
        assert g.attrs["E_star_MPa"] == designs[0].theta[20]


def test_file_without_target_round_trips(tmp_path, designs):
    out = read_design_file(write_design_file(tmp_path / "d.h5", designs[:1]))
    assert out.target is None and out.best == "refined" and len(out.designs) == 1


def test_file_cut_in_half_is_rejected(tmp_path, designs, target):
    path = write_design_file(tmp_path / "d.h5", designs, target)
    data = path.read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(DesignFileError) as info:
        read_design_file(cut)
    message = str(info.value)
    assert str(cut) in message and ("truncated" in message or "damaged" in message)


def test_interrupted_write_leaves_previous_file(tmp_path, designs, target, monkeypatch):
    path = write_design_file(tmp_path / "d.h5", designs[:1])
    before = path.read_bytes()
    real = dfmod._write_design
    calls = []

    def crash_on_second(group, name, d, tgt, *layout_and_validation):
        calls.append(name)
        if len(calls) == 2:  # one design written, the file half done
            raise RuntimeError("power cut")
        return real(group, name, d, tgt, *layout_and_validation)

    monkeypatch.setattr(dfmod, "_write_design", crash_on_second)
    with pytest.raises(RuntimeError, match="power cut"):
        write_design_file(path, designs, target)
    assert path.read_bytes() == before
    assert read_design_file(path).designs[0].name == "refined"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.h5"]  # no temporary file left behind


def _damaged(tmp_path, designs, change):
    path = write_design_file(tmp_path / "d.h5", designs)
    with h5py.File(path, "a") as f:
        change(f)
    return path


@pytest.mark.parametrize("change,words", [
    (lambda f: f.attrs.__setitem__("format", "something-else"), ["not a Friction Studio design file"]),
    (lambda f: f.attrs.__setitem__("format_version", 7), ["format_version 7", "newer"]),
    (lambda f: f.attrs.__delitem__("format_version"), ["lacks attribute format_version"]),
    (lambda f: f.__delitem__("designs/refined/curve/friction_N"),
     ["missing dataset /designs/refined/curve/friction_N"]),
    (lambda f: f.__delitem__("designs"), ["missing group /designs"]),
    (lambda f: (f.__delitem__("designs/refined/theta"), f["designs/refined"].create_dataset("theta", data=np.ones(22))),
     ["/designs/refined/theta has shape (22,), expected (23,)"]),
    (lambda f: f["designs/refined/asperities/height_mm"].__setitem__(3, np.nan),
     ["/designs/refined/asperities/height_mm holds nan at index 3"]),
    (lambda f: f["designs/refined/curve/friction_N"].attrs.__setitem__("unit", "mN"), ["unit 'mN', expected 'N'"]),
    (lambda f: f["designs/refined/theta"].__setitem__(20, 99.0), ["/designs/refined/theta", "E_star"]),
    (lambda f: f["designs/refined"].attrs.__setitem__("N", 300), ["N = 300"]),
    (lambda f: f.attrs.__setitem__("best", "nobody"), ["best = 'nobody'"]),
])
def test_damaged_file_names_the_dataset_at_fault(tmp_path, designs, change, words):
    path = _damaged(tmp_path, designs[:1], change)
    with pytest.raises(DesignFileError) as info:
        read_design_file(path)
    message = str(info.value)
    assert message.startswith(str(path))
    for word in words:
        assert word in message


def test_non_hdf5_and_missing_files_are_refused(tmp_path):
    text = tmp_path / "notes.h5"
    text.write_text("just text")
    with pytest.raises(DesignFileError, match="not an HDF5 file"):
        read_design_file(text)
    with pytest.raises(DesignFileError, match="file not found"):
        read_design_file(tmp_path / "absent.h5")
    with pytest.raises(DesignFileError, match="at least one design"):
        write_design_file(tmp_path / "empty.h5", [])


def test_a_future_version_only_needs_a_new_reader(tmp_path, designs, monkeypatch):
    path = _damaged(tmp_path, designs[:1], lambda f: f.attrs.__setitem__("format_version", 2))
    with pytest.raises(DesignFileError, match="format_version 2 by a newer"):  # no reader yet: refused
        read_design_file(path)

    def read_v2(f, where):  # a version 2 whose layout is version 1's: it migrates through that reader
        migrated = READERS[1](f, where)
        migrated.format_version = 2
        return migrated

    monkeypatch.setitem(READERS, 2, read_v2)
    out = read_design_file(path)
    assert isinstance(out, DesignFile) and out.format_version == 2 and out.path == str(path)
    read = out.design()  # the file's content, reached through the registered reader
    assert (read.name, read.N, read.seed) == (designs[0].name, designs[0].N, designs[0].seed)
    np.testing.assert_array_equal(read.theta, designs[0].theta)
    np.testing.assert_array_equal(read.friction_N, designs[0].friction_N)


def test_simulate_command_reproduces_the_stored_curve(tmp_path, designs, target, capsys):
    path = write_design_file(tmp_path / "d.h5", designs, target)
    assert cli.main(["simulate", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "load (N),friction (N)" and len(out) == 130
    stored_best = read_design_file(path).design()
    np.testing.assert_allclose([float(line.split(",")[1]) for line in out[1:129]], stored_best.friction_N,
                               rtol=1e-9)
    difference = float(out[-1].rsplit(" ", 1)[1])
    assert difference < 1e-9
    csv_path = tmp_path / "curve.csv"
    assert cli.main(["simulate", str(path), "--design", "refined", "--out", str(csv_path)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["design"] == "refined" and summary["max_relative_difference"] < 1e-9
    np.testing.assert_allclose(read_target_csv(csv_path).friction_N, designs[0].friction_N, rtol=1e-9)


def test_simulate_command_reports_bad_input(tmp_path, designs, capsys):
    path = write_design_file(tmp_path / "d.h5", designs[:1])
    assert cli.main(["simulate", str(path), "--design", "ghost"]) == 2
    assert "no design named 'ghost'" in capsys.readouterr().err
    assert cli.main(["simulate", str(tmp_path / "none.h5")]) == 2
