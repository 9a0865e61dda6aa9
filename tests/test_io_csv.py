"""CSV targets: real-world dialects, clear errors naming the line, resampling onto the load grid."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from studio.errors import StudioError
from studio import files
from studio.io.csv_target import (
    MAX_FILE_BYTES,
    CsvError,
    CsvTarget,
    parse_target_text,
    read_target_csv,
    write_curve_csv,
)
from studio.design.load_range import load_grid
from studio.physics import LOAD_GRID_N

EXAMPLES = Path(__file__).resolve().parents[1] / "resources" / "examples"

P = [0.5, 1.0, 2.0, 4.0]          # loads [N] every dialect below encodes
F = [0.25, 0.4, 0.7, 1.2]         # friction [N]

# (dialect, file bytes, read options) — every one must give exactly the points P, F in newtons.
DIALECTS = [
    ("plain comma, no header", b"0.5,0.25\n1,0.4\n2,0.7\n4,1.2\n", {}),
    ("comma with header in N", b"load (N),friction (N)\n0.5,0.25\n1,0.4\n2,0.7\n4,1.2\n", {}),
    ("semicolon, decimal comma, mN", "load (mN);friction (mN)\n500;250\n1000;400\n2000;700\n4000;1200\n".encode(), {}),
    ("semicolon decimal comma fractions", b"Fn [N];Ft [N]\n0,5;0,25\n1,0;0,4\n2,0;0,7\n4,0;1,2\n", {}),
    ("tab with comment header",
     b"# tribometer T-100\n# sample A\nFn [N]\tFt [N]\n0.5\t0.25\n1\t0.4\n2\t0.7\n4\t1.2\n", {}),
    ("tab with decimal comma", b"load [N]\tfriction [N]\n0,5\t0,25\n1\t0,4\n2\t0,7\n4\t1,2\n", {}),
    ("whitespace aligned", b"  load(N)   friction(N)\n  0.5   0.25\n  1.0   0.40\n  2.0   0.70\n  4.0   1.20\n", {}),
    ("whitespace, units in brackets", b"load (mN)   friction (mN)\n500  250\n1000  400\n2000  700\n4000  1200\n", {}),
    ("whitespace, decimal comma", b"0,5 0,25\n1,0 0,4\n2,0 0,7\n4,0 1,2\n", {}),
    ("UTF-8 BOM and CRLF", "\ufeffload (N),friction (N)\r\n0.5,0.25\r\n1,0.4\r\n2,0.7\r\n4,1.2\r\n".encode(), {}),
    ("Windows-1252 micro sign", "Fn (µN);Ft (µN)\n500000;250000\n1000000;400000\n2000000;700000\n4000000;1200000\n"
     .encode("cp1252"), {}),
    ("kN and scientific notation", b"load [kN],friction [kN]\n5e-4,2.5E-4\n1e-3,4e-4\n2e-3,7e-4\n4e-3,1.2e-3\n", {}),
    ("slash units", b"load/N,friction/mN\n0.5,250\n1,400\n2,700\n4,1200\n", {}),
    ("underscore units", b"load_mN;friction_mN\n500;250\n1000;400\n2000;700\n4000;1200\n", {}),
    ("name row and unit row", b"load,friction\nmN,N\n500,0.25\n1000,0.4\n2000,0.7\n4000,1.2\n", {}),
    ("unit row under three names", b"time;load;friction\ns;mN;[mN]\n0;500;250\n1;1000;400\n2;2000;700\n3;4000;1200\n",
     {}),
    ("%, // comments and blank lines", b"% exported by LabView\n\n// columns: load, friction\n0.5,0.25\n\n1,0.4\n"
     b"% pause\n2,0.7\n4,1.2\n\n", {}),
    ("trailing delimiter and quotes", b'"load (N)";"friction (N)";\n"0,5";"0,25";\n1;0,4;\n2;0,7;\n4;1,2;\n', {}),
    ("metadata preamble",
     b"Instrument: UMT-3\nDate: 2024-05-01\nload (N),friction (N)\n0.5,0.25\n1,0.4\n2,0.7\n4,1.2\n", {}),
    ("three columns found by header", b"time (s),Fn (N),Ft (N)\n0,0.5,0.25\n1,1,0.4\n2,2,0.7\n3,4,1.2\n", {}),
    ("three columns, friction by name", b"Fz (N),Fx (N),Fy (N)\n0.5,0.25,9\n1,0.4,9\n2,0.7,9\n4,1.2,9\n",
     {"column": "Fx (N)"}),
    ("three columns, friction by index", b"0.5,9,0.25\n1,9,0.4\n2,9,0.7\n4,9,1.2\n", {"column": 2}),
    ("columns as (load, friction)", b"a,b,c\n9,0.25,0.5\n9,0.4,1\n9,0.7,2\n9,1.2,4\n", {"column": ("c", "b")}),
    ("pressure in kPa with area", b"pressure (kPa),friction (N)\n10,0.25\n20,0.4\n40,0.7\n80,1.2\n",
     {"area_mm2": 50.0}),
    ("pressure in MPa with area", b"p [MPa];Ft [N]\n0,01;0,25\n0,02;0,4\n0,04;0,7\n0,08;1,2\n", {"area_mm2": 50.0}),
    ("plain words, no units", b"Normal load,Friction force\n0.5,0.25\n1,0.4\n2,0.7\n4,1.2\n", {}),
    ("friction coefficient column", b"Normal load [N],COF\n0.5,0.5\n1,0.4\n2,0.35\n4,0.3\n", {}),
    ("unsorted rows", b"2,0.7\n0.5,0.25\n4,1.2\n1,0.4\n", {}),
]


@pytest.mark.parametrize("dialect,data,options", DIALECTS, ids=[d[0] for d in DIALECTS])
def test_real_world_dialects_are_read(tmp_path, dialect, data, options):
    path = tmp_path / "curve.csv"
    path.write_bytes(data)
    t = read_target_csv(path, **options)
    np.testing.assert_allclose(t.raw_load_N, P, rtol=1e-12)
    np.testing.assert_allclose(t.raw_friction_N, F, rtol=1e-12)
    assert t.source == "csv:curve.csv"
    grid = load_grid(4.0)  # the largest measured load decides the load range: nothing is dropped
    np.testing.assert_allclose(t.load_N, grid, rtol=1e-12)
    assert t.max_load_N == pytest.approx(4.0, rel=1e-12)
    assert t.mask.sum() == np.count_nonzero((grid >= 0.5 - 1e-12) & (grid <= 4.0 + 1e-12))


def test_unsorted_rows_are_sorted_and_noted():
    t = parse_target_text("2,0.7\n0.5,0.25\n4,1.2\n1,0.4\n", "u.csv")
    assert any("sorted" in note for note in t.notes)
    assert np.all(np.diff(t.raw_load_N) > 0)


def test_units_are_noted():
    t = parse_target_text("load (mN);friction (mN)\n500;250\n1000;400\n2000;700\n", "m.csv")
    assert any("mN" in note for note in t.notes)
    t = parse_target_text("0.5,0.25\n1,0.4\n2,0.7\n", "n.csv")
    assert any("assumed N" in note for note in t.notes)


def test_inside_the_measured_range_the_curve_is_interpolated_linearly():
    load = np.array([0.3, 1.1, 2.7, 6.0, 9.5])
    friction = np.array([0.2, 0.5, 0.9, 2.2, 3.0])
    t = parse_target_text("\n".join(f"{p},{f}" for p, f in zip(load, friction)), "lin.csv", max_load_N=10.0)
    inside = (LOAD_GRID_N >= 0.3) & (LOAD_GRID_N <= 9.5)
    np.testing.assert_array_equal(t.mask, inside)
    np.testing.assert_allclose(t.friction_N[inside], np.interp(LOAD_GRID_N[inside], load, friction), rtol=1e-12)


def test_outside_the_range_a_power_law_continues_the_curve():
    load = np.linspace(1.0, 5.0, 9)
    friction = 0.3 * load ** 0.8
    t = parse_target_text("\n".join(f"{float(p)!r},{float(f)!r}" for p, f in zip(load, friction)), "pow.csv",
                          max_load_N=10.0)  # a range above the data: extrapolated there
    above, below = LOAD_GRID_N > 5.0, LOAD_GRID_N < 1.0
    assert not t.mask[above].any() and not t.mask[below].any()
    np.testing.assert_allclose(t.friction_N[above], 0.3 * LOAD_GRID_N[above] ** 0.8, rtol=1e-9)
    np.testing.assert_allclose(t.friction_N[below], 0.3 * LOAD_GRID_N[below] ** 0.8, rtol=1e-9)


@pytest.mark.parametrize("friction", [
    [0.5, 0.4, 0.3, 0.2],          # decreasing measured friction
    [0.1, 1.0, 1.01, 1.0],         # a flat, noisy top
    [1e-6, 2e-6, 5e-6, 1e-5],      # tiny forces
])
def test_extrapolation_is_positive_and_non_decreasing(friction):
    text = "\n".join(f"{p},{f}" for p, f in zip([2.0, 3.0, 4.0, 5.0], friction))
    t = parse_target_text(text, "x.csv", max_load_N=10.0)
    for part in (LOAD_GRID_N < 2.0, LOAD_GRID_N > 5.0):
        ext = t.friction_N[part]
        assert np.all(ext > 0) and np.all(np.diff(ext) >= 0)
    assert t.to_target(N=64).mask.sum() == t.mask.sum()  # a valid design target


# (file text, line the message must name (or None), words the message must contain)
FAILURES = [
    ("load,friction\n1,2\n2,abc\n3,4\n", 3, ["'abc'", "not a number"]),
    ("1,2\n2,3\n3,4,5\n", 3, ["3 values", "expected 2"]),
    ("1;2\n2;nan\n3;4\n", 2, ["not a finite number"]),
    ("1;2\n2;inf\n3;4\n", 2, ["not a finite number"]),
    ("1,2\n-2,3\n3,4\n", 2, ["negative load"]),
    ("1,2\n2,-3\n3,4\n", 2, ["negative friction"]),
    ("1,2\n2,0\n3,4\n", 2, ["zero friction"]),
    ("# header\n1,2\n2,3\n\n2,4\n", 5, ["only 2 distinct load(s)", "repeats averaged", "at least 3"]),
    ("1,2\n2,3\n", 2, ["only 2", "at least 3"]),
    ("1e-7,1e-8\n0.5,0.2\n1,0.3\n", 1, ["1e-07–1 N", "7.0 decades", "at most 6"]),
    ("# loads\n0,0.1\n0,0.2\n", 3, ["only 1 distinct load(s)"]),
    ("1\n2\n3\n", 1, ["two columns"]),
    ("load (lbf),friction (lbf)\n1,2\n2,3\n3,4\n", 1, ["'lbf'", "not supported"]),
    ("pressure (kPa),friction (N)\n1,2\n2,3\n3,4\n", 1, ["pressure", "area"]),
    ("# units below\nload,friction\n[lbf],[lbf]\n1,2\n2,3\n3,4\n", 3, ["'lbf'", "not supported"]),
    ("a,b,c\n1,2,3\n2,3,4\n3,4,5\n", None, ["3 columns", "friction"]),
    ("load,friction\nabc,def\n", 1, ["no numeric data"]),
    ("# only comments\n\n% and more\n", None, ["empty"]),
]


@pytest.mark.parametrize("text,line,words", FAILURES, ids=[w[0] for _, _, w in FAILURES])
def test_bad_csv_names_file_line_and_problem(tmp_path, text, line, words):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(CsvError) as info:
        read_target_csv(path)
    message = str(info.value)
    assert message.startswith("bad.csv")
    if line is not None:
        assert f"line {line}" in message
    for word in words:
        assert word in message
    assert isinstance(info.value, StudioError)


def test_empty_binary_missing_and_huge_files_are_refused(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(CsvError, match="empty.csv: file is empty"):
        read_target_csv(empty)
    binary = tmp_path / "image.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(CsvError, match="binary"):
        read_target_csv(binary)
    with pytest.raises(CsvError, match="file not found"):
        read_target_csv(tmp_path / "missing.csv")
    huge = tmp_path / "huge.csv"
    with open(huge, "wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk used
    with pytest.raises(CsvError, match="huge.csv: file is 52 MB"):
        read_target_csv(huge)


def test_bad_column_choice_is_explained():
    text = "Fz (N),Fx (N)\n1,2\n2,3\n3,4\n"
    with pytest.raises(CsvError, match="no friction column named 'Ft'"):
        parse_target_text(text, "c.csv", column="Ft")
    with pytest.raises(CsvError, match="index 5 is out of range"):
        parse_target_text(text, "c.csv", column=5)


def test_shipped_examples_read(tmp_path):
    files = sorted(EXAMPLES.glob("*.csv"))
    assert len(files) >= 4
    for path in files:
        t = read_target_csv(path)
        assert t.mask.sum() > 64, path.name
        t.to_target(N=64)  # each is a valid design target


def test_example_target_is_exactly_on_the_grid():
    t = read_target_csv(EXAMPLES / "example_target.csv")
    assert t.mask.all()
    np.testing.assert_allclose(t.raw_load_N, LOAD_GRID_N, rtol=1e-12)
    np.testing.assert_array_equal(t.friction_N, t.raw_friction_N)
    assert np.all(np.diff(t.friction_N) >= 0)


def test_written_curve_reads_back(tmp_path):
    law = 0.2 + 0.3 * LOAD_GRID_N ** 0.7
    path = write_curve_csv(tmp_path / "curve.csv", LOAD_GRID_N, law, ("load (N)", "friction (N)"), comment="a\nb")
    t = read_target_csv(path)
    np.testing.assert_allclose(t.friction_N, law, rtol=1e-9)
    assert t.mask.all()


def test_interrupted_curve_write_leaves_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "curve.csv"
    path.write_text("previous")

    def half_then_crash(target, data):
        with files.atomic_write(target) as tmp:
            Path(tmp).write_bytes(data[: len(data) // 2])
            raise OSError("disk full")

    monkeypatch.setattr("studio.io.csv_target.atomic_write_bytes", half_then_crash)
    with pytest.raises(OSError):
        write_curve_csv(path, LOAD_GRID_N, LOAD_GRID_N, ("load (N)", "friction (N)"))
    assert path.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["curve.csv"]  # no temporary file left


# ---------------------------------------------------------------------------------------- fuzzing
_cells = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(min_value=-1, max_value=20).map(lambda v: f"{v:.3f}"),
    st.floats(min_value=0, max_value=20).map(lambda v: f"{v:.2f}".replace(".", ",")),
    st.sampled_from(["", "load (mN)", "friction [kN]", "Fn", "COF", "p (kPa)", "µ", "nan", "-0", "1e400",
                     '"', "#", "1,2,3", "\t", "(N)", "load/N", "1_0", "٣"]),
    st.text(max_size=6),
)
_number_cells = st.one_of(st.floats(min_value=0.01, max_value=12).map(lambda v: f"{v:.4g}"),
                         st.floats(min_value=0.01, max_value=12).map(lambda v: f"{v:.3f}".replace(".", ",")),
                         st.floats(min_value=0, max_value=1e4).map(lambda v: f"{v:.3e}"))


@st.composite
def _tables(draw):
    """Mostly well-formed tables (so some parse), with random damage: cells, widths, header, comments."""
    width = draw(st.sampled_from([2, 2, 2, 1, 3]))
    rows = draw(st.lists(st.lists(_number_cells, min_size=width, max_size=width),
                         min_size=draw(st.sampled_from([0, 3, 3, 3])), max_size=12))
    if draw(st.booleans()):
        rows.insert(0, draw(st.lists(_cells, min_size=width, max_size=width)))
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):
        if rows:
            r = draw(st.integers(0, len(rows) - 1))
            if draw(st.booleans()) and rows[r]:
                rows[r][draw(st.integers(0, len(rows[r]) - 1))] = draw(_cells)
            else:
                rows[r] = draw(st.lists(_cells, max_size=5))
    return rows


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=_tables(), delimiter=st.sampled_from([",", ";", "\t", " ", "  "]),
       newline=st.sampled_from(["\n", "\r\n", "\r"]),
       column=st.one_of(st.none(), st.none(), st.integers(-1, 4), st.sampled_from(["Fn", "x", "2"])),
       area=st.one_of(st.none(), st.none(), st.floats(allow_nan=True)))
def test_fuzzed_tables_parse_or_raise_csv_error(rows, delimiter, newline, column, area):
    text = newline.join(delimiter.join(row) for row in rows)
    _parse_or_csv_error(text, column=column, area_mm2=area)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300))
def test_fuzzed_text_parses_or_raises_csv_error(text):
    _parse_or_csv_error(text)


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=300))
def test_fuzzed_bytes_parse_or_raise_csv_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "f.csv"
    path.write_bytes(data)
    try:
        t = read_target_csv(path)
    except CsvError as exc:
        assert str(exc).strip()
    else:
        _check_result(t)


def _parse_or_csv_error(text, **options):
    try:
        t = parse_target_text(text, "fuzz.csv", **options)
    except CsvError as exc:
        event("refused")
        assert str(exc).strip()
        assert str(exc).startswith("fuzz.csv")
    else:
        event("parsed")
        _check_result(t)


def _check_result(t: CsvTarget):
    assert t.friction_N.shape == (128,) and t.mask.shape == (128,) and t.mask.any()
    assert np.all(np.isfinite(t.friction_N)) and np.all(t.friction_N > 0)
    assert np.unique(t.raw_load_N).size >= 3 and np.all(np.diff(t.raw_load_N) >= 0)  # repeats kept, sorted
