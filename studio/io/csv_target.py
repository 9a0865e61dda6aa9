"""Measured or hand-made friction curves from CSV files, resampled onto the model's load grid.

What is read
    Two columns, normal load and friction force, one row per measurement, in the
    dialects tribometer software and spreadsheets write:
    - with or without a header row (a second header row holding only units is merged);
    - comment lines starting with `#`, `%` or `//` anywhere, blank lines anywhere;
    - delimiter `,`, `;`, tab or runs of spaces (picked from the file);
    - decimal comma (`0,25`) when the delimiter is `;`, tab or spaces;
    - UTF-8 with or without BOM, or Windows-1252 (µ, °, ² in headers);
    - units from the header: `load (mN)`, `Fn [kN]`, `friction/N`, `Ft_mN`: N, mN, µN (uN),
      kN for either column; a pressure (Pa, kPa, MPa) needs the nominal contact area
      (`area_mm2`) and becomes a force p·A; a friction coefficient column (`mu`, `µ`, `COF`)
      becomes F = µ·P. Without a unit, newtons are assumed (and noted);
    - more than two columns: the load and friction columns are recognised by header name
      (load/normal/Fn/pressure and friction/tangential/Ft/shear/lateral/COF), or chosen with
      `column=` (the friction column: 0-based index or header name; or a pair (load, friction)).
    Rows not sorted by load are sorted (and noted).

Measured records (studio.io.record)
    Loading and unloading branches are found in file order and one is chosen (`branch=`: loading,
    the default, unloading or mean); repeated loads are averaged; outliers and noise are flagged with
    the rows named; measured-looking records are smoothed (`smoothing=`: auto, off or a width in % of
    the load). Each step is noted.

What is refused (CsvError: file, 1-based line and problem)
    missing, empty, binary or huge (> 50 MB) file; a non-numeric cell; a row with the
    wrong number of values; NaN or infinity; a negative load or friction, or zero friction
    at a positive load; fewer than 3 distinct loads; a branch the record does not have;
    no positive load; loads spanning more than six decades; a `max_load_N` that is not positive
    and finite, or below the largest measured load; an unknown unit; a pressure without area.

The load range (studio.design.load_range)
    P_max is the largest measured load (or `max_load_N=`, the command line's `--max-load`, at or
    above it), and the grid is P_max·j/128, so no measured point is ever dropped: the designs are
    made for the canonical 10 N problem and scaled exactly (physics.md §2).

Resampling onto that grid
    By the one target rule of studio.design.targets (the same as a drawn stroke's): linear
    inside the measured load range (`mask` True), a power law through each end point outside
    it (`mask` False, excluded from every error), so the CVAE has a full 128-point condition.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from studio.design import load_range
from studio.design.targets import resample_to_grid, specified_mask
from studio.errors import StudioError
from studio.files import atomic_write_bytes
from studio.io.record import DEFAULT_BRANCH, RecordError, prepare_record

MAX_FILE_BYTES = 50 * 1024 * 1024
MIN_POINTS = 3
COMMENT_PREFIXES = ("#", "%", "//")

_FORCE_UNITS = {"n": 1.0, "mn": 1e-3, "un": 1e-6, "µn": 1e-6, "μn": 1e-6, "kn": 1e3}
_PRESSURE_UNITS = {"pa": 1e-6, "kpa": 1e-3, "mpa": 1.0}  # → MPa, and MPa · mm² = N
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DECIMAL_COMMA = re.compile(r"[+-]?[0-9]*,[0-9]+(?:[eE][+-]?[0-9]+)?")  # `0,25`, `-1,5e-3`
_BRACKETED_SYMBOL = re.compile(r"[\(\[\{]\s*[A-Za-zµμ°%²/·\-1]{0,5}\s*[\)\]\}]")
_OTHER_UNITS = {"s", "ms", "min", "h", "mm", "µm", "um", "m", "%", "°c", "hz", "mm/s",
                "m/s", "µm/s", "um/s", "nm/s", "nm"}  # unit rows of other columns
_NOT_FINITE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
_UNIT_IN_NAME = re.compile(r"[\(\[\{]\s*([^\)\]\}]*?)\s*[\)\]\}]|(?:/|_|\s|\bin\s)\s*([A-Za-zµμ]+)\s*$")
_LOAD_WORDS = re.compile(r"load|normal|\bfn\b|\bf_?n\b|\bfz\b|\bp\b|pressure|force_n", re.IGNORECASE)
_FRICTION_WORDS = re.compile(r"friction|tangential|lateral|shear|\bft\b|\bf_?t\b|\bfx\b|\bff\b|cof|\bmu\b|"
                             r"^\s*[µμ]\s*(?:$|[\(\[])", re.IGNORECASE)
_COEFFICIENT_WORDS = re.compile(r"cof|coefficient|\bmu\b|^\s*[µμ]\s*(?:$|[\(\[])|\([-–1]\)|\[[-–1]\]",
                                re.IGNORECASE)


class CsvError(StudioError, ValueError):
    """A CSV target that cannot be read; the message names the file, the line and the problem."""


@dataclass
class CsvTarget:
    """A friction curve read from CSV, on its load grid P_max·j/128.

    load_N: (128,) the grid; load_N[-1] = max_load_N (P_max). friction_N: (128,) resampled friction [N].
    mask: (128,) True inside the measured load range (interpolated), False where extrapolated.
    raw_load_N, raw_friction_N: the measured points in newtons (the chosen branch's rows, repeats and
    outliers included), sorted by load; raw_line: their file lines; outlier: True for rows flagged as
    outliers (studio.io.record). noise_percent: the record's scatter (None: too few rows to tell);
    smoothing_percent: the smoothing applied (0: none); branch: the branch used; branches: those found.
    source: "csv:<file name>". notes: what the reader assumed or fixed, for the user.
    """

    load_N: np.ndarray
    friction_N: np.ndarray
    mask: np.ndarray
    raw_load_N: np.ndarray
    raw_friction_N: np.ndarray
    source: str
    notes: list[str] = field(default_factory=list)
    columns: tuple[str, str] = ("", "")
    raw_line: np.ndarray | None = None
    outlier: np.ndarray | None = None
    noise_percent: float | None = None
    smoothing_percent: float = 0.0
    branch: str = DEFAULT_BRANCH
    branches: tuple[str, ...] = (DEFAULT_BRANCH,)

    @property
    def max_load_N(self) -> float:
        """P_max: the largest load of the grid."""
        return float(self.load_N[-1])

    def to_target(self, N: int, note: str = ""):
        """The design target (studio.design.core.Target) for N asperities, on this load range."""
        from studio.design.core import Target

        return Target(friction_N=self.friction_N, N=N, mask=self.mask, source=self.source,
                      note=note or "; ".join(self.notes), max_load_N=self.max_load_N)


def read_target_csv(path, *, column=None, area_mm2: float | None = None, max_load_N: float | None = None,
                    branch: str = DEFAULT_BRANCH, smoothing="auto") -> CsvTarget:
    """Read a load–friction CSV file and resample it onto its load grid (see the module docstring).

    branch: "loading", "unloading" or "mean"; smoothing: "auto", "off" or a width in % of the load
    (studio.io.record)."""
    text, name = read_csv_text(path)
    return parse_target_text(text, name, column=column, area_mm2=area_mm2, max_load_N=max_load_N, branch=branch,
                             smoothing=smoothing)


def read_csv_text(path) -> tuple[str, str]:
    """(decoded text, file name) of a CSV file, refusing missing, folder, huge and binary files."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise CsvError(f"{path}: file not found") from None
    except OSError as exc:
        raise CsvError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if path.is_dir():
        raise CsvError(f"{path}: is a folder, not a CSV file")
    if size > MAX_FILE_BYTES:
        raise CsvError(f"{path}: file is {size / 1e6:.0f} MB; a friction curve CSV is at most "
                       f"{MAX_FILE_BYTES // (1024 * 1024)} MB")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CsvError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return decode_text(data, path.name), path.name


def decode_text(data: bytes, name: str) -> str:
    """Bytes of a CSV file → text (UTF-8 with or without BOM, else Windows-1252); refuse binary files."""
    if not data.strip():
        raise CsvError(f"{name}: file is empty")
    head = data[:8192]
    if b"\x00" in head:
        raise CsvError(f"{name}: looks like a binary file (NUL bytes), not a CSV text file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    _refuse_binary(text, name)
    return text


def _refuse_binary(text: str, name: str) -> None:
    sample = text[:8192]
    control = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n\f\v")
    if "\x00" in sample or control > max(2, len(sample) // 100):
        raise CsvError(f"{name}: looks like a binary file (control characters), not a CSV text file")


def parse_target_text(text: str, name: str = "pasted text", *, column=None,
                      area_mm2: float | None = None, max_load_N: float | None = None,
                      branch: str = DEFAULT_BRANCH, smoothing="auto") -> CsvTarget:
    """Parse CSV text (already decoded) into a CsvTarget; `name` is used in messages and the source.

    max_load_N: P_max of the grid; None takes the largest measured load. branch, smoothing: read_target_csv."""
    if not isinstance(text, str):
        raise CsvError(f"{name}: expected text, got {type(text).__name__}")
    text = text.lstrip("\ufeff")
    _refuse_binary(text, name)
    if area_mm2 is not None:
        try:
            area_mm2 = float(area_mm2)
        except (TypeError, ValueError):
            raise CsvError(f"{name}: nominal area {area_mm2!r} is not a number") from None
        if not (math.isfinite(area_mm2) and area_mm2 > 0):
            raise CsvError(f"{name}: nominal area must be a positive number of mm², got {area_mm2!r}")
    header, header_line, data_rows, notes, delimiter = _rows(text, name)
    width = len(data_rows[0][1])
    first_line = data_rows[0][0]
    if width < 2:
        raise CsvError(f"{name}, line {first_line}: one value per row; need two columns (load, friction)")
    for number, cells in data_rows:
        if len(cells) != width:
            raise CsvError(f"{name}, line {number}: {len(cells)} values, expected {width} as on line {first_line}")
    names = header if header is not None and len(header) == width else None
    load_col, friction_col, how = _choose_columns(names, width, column, name)
    if how:
        notes.append(how)
    load_name = names[load_col] if names else f"column {load_col + 1}"
    friction_name = names[friction_col] if names else f"column {friction_col + 1}"

    values = np.empty((len(data_rows), 2))
    line_numbers = np.array([number for number, _ in data_rows])
    for r, (number, cells) in enumerate(data_rows):
        for c, col in enumerate((load_col, friction_col)):
            values[r, c] = _number(cells[col], delimiter, name, number, col)
    load_scale, _ = _unit_scale(names[load_col] if names else "", name, header_line, area_mm2, notes,
                                        "load", load_name)
    friction_scale, friction_kind = _unit_scale(names[friction_col] if names else "", name, header_line, area_mm2,
                                                notes, "friction", friction_name)
    with np.errstate(over="ignore", invalid="ignore"):
        load = values[:, 0] * load_scale
        friction = values[:, 1] * friction_scale
        if friction_kind == "coefficient":
            friction = values[:, 1] * load
    _check_values(load, friction, line_numbers, name, load_name, friction_name)
    try:
        record = prepare_record(load, friction, line_numbers, branch=branch, smoothing=smoothing)
    except RecordError as exc:
        raise CsvError(f"{name}: {exc}") from None
    notes += record.notes
    load, friction = record.load_N, record.friction_N
    if load.size < MIN_POINTS:
        raise CsvError(f"{name}, line {int(record.measured_line.max())}: only {load.size} distinct load(s) "
                       f"(repeats averaged); need at least {MIN_POINTS} (load, friction) points")
    # each point's line for messages: the first measured row at (or just above) its load
    at = np.clip(np.searchsorted(record.measured_load_N, load), 0, record.measured_load_N.size - 1)
    line_numbers = record.measured_line[at]
    grid = load_range.load_grid(_max_load(load, line_numbers, name, max_load_N))
    mask = specified_mask(load, grid)
    if not mask.any():
        raise CsvError(f"{name}: loads span {load[0]:g}–{load[-1]:g} N, which covers none of the "
                       f"load grid ({grid[0]:g}–{grid[-1]:g} N); add points in that range")
    friction_grid = resample_to_grid(load, friction, grid, mask, notes)
    if not np.all(np.isfinite(friction_grid)) or np.any(friction_grid <= 0):
        raise CsvError(f"{name}: the curve cannot be extended over the load grid as a positive finite law "
                       f"(values too large or small); check the units")
    return CsvTarget(load_N=grid.copy(), friction_N=friction_grid, mask=mask, raw_load_N=record.measured_load_N,
                     raw_friction_N=record.measured_friction_N, source=f"csv:{name}", notes=notes,
                     columns=(load_name, friction_name), raw_line=record.measured_line, outlier=record.outlier,
                     noise_percent=record.noise_percent, smoothing_percent=record.smoothing_percent,
                     branch=record.branch, branches=record.branches)


def _max_load(load, lines, name, max_load_N) -> float:
    """P_max of a CSV's grid: its largest load, or `max_load_N` if given (never below the data)."""
    try:
        load_range.check_loads(load, lines, name)
        if max_load_N is None:
            if not load[-1] > 0:
                raise CsvError(f"{name}, line {int(lines[-1])}: every load is 0 N; the curve needs loads > 0")
            return float(load[-1])
        value = load_range.check_max_load(max_load_N, f"{name}: --max-load")
    except load_range.LoadRangeError as exc:
        raise CsvError(str(exc)) from None
    if value < load[-1]:
        raise CsvError(f"{name}, line {int(lines[-1])}: load {load[-1]:g} N is above the largest load asked for "
                       f"({value:g} N); raise it to at least {load[-1]:g} N (no measured point is dropped)")
    return value


@dataclass
class CsvTable:
    """Every column of a numeric CSV table, in the dialects this module reads (module docstring).

    names: header names (None without a header); values: (rows, columns) floats, all finite;
    lines: (rows,) 1-based file line of each row; header_line: the header's line (0 without);
    notes: what the reader skipped or assumed. For readers of other tables (RSF records).
    """

    names: list[str] | None
    values: np.ndarray
    lines: np.ndarray
    header_line: int
    notes: list[str]


def parse_table(text: str, name: str = "pasted text") -> CsvTable:
    """Parse CSV text into a CsvTable: same comments, delimiters, decimal comma, header and unit-row
    rules as parse_target_text, with no assumption on what the columns are."""
    text = text.lstrip("\ufeff")
    _refuse_binary(text, name)
    header, header_line, data_rows, notes, delimiter = _rows(text, name)
    width = len(data_rows[0][1])
    for number, cells in data_rows:
        if len(cells) != width:
            raise CsvError(f"{name}, line {number}: {len(cells)} values, expected {width} as on line {data_rows[0][0]}")
    values = np.array([[_number(cell, delimiter, name, number, col) for col, cell in enumerate(cells)]
                       for number, cells in data_rows], dtype=np.float64)
    names = header if header is not None and len(header) == width else None
    return CsvTable(names, values, np.array([number for number, _ in data_rows]), header_line or 0, notes)


def _rows(text: str, name: str):
    """(header, header line, numeric data rows, notes, delimiter) of CSV text: the dialect rules."""
    lines = _content_lines(text)
    if not lines:
        raise CsvError(f"{name}: file is empty (no data lines, only blanks or comments)")
    delimiter = _pick_delimiter([line for _, line in lines])
    rows = [(number, _split(line, delimiter)) for number, line in lines]
    return (*_header_and_data(rows, delimiter, name), delimiter)


def column_unit(column_name: str) -> str | None:
    """The unit in brackets of a column name (`time (s)`, `v [µm/s]`), or a known force unit after
    `/`, `_` or a space; None when the name has none (see _unit_of)."""
    return _unit_of(column_name)


def _content_lines(text: str) -> list[tuple[int, str]]:
    """(1-based line number, stripped line) of every line that is not blank or a comment."""
    out = []
    for number, line in enumerate(_LINE_BREAK.split(text), start=1):  # as editors count lines
        stripped = line.strip()
        if not stripped or stripped.startswith(COMMENT_PREFIXES):
            continue
        out.append((number, stripped))
    return out


def _pick_delimiter(lines: list[str]) -> str:
    """Tab, then semicolon, then comma, if the first lines use them; otherwise whitespace (None)."""
    sample = lines[:50]
    for delimiter in ("\t", ";", ","):
        if sum(delimiter in line for line in sample) >= max(1, len(sample) // 2):
            if delimiter == "," and _spaces_with_decimal_comma(sample):
                return None
            return delimiter
    return None


def _spaces_with_decimal_comma(lines: list[str]) -> bool:
    """True for `0,5  1,25` rows: numbers with a decimal comma separated by spaces."""
    numeric = [line.split() for line in lines if _is_numeric_row(line.split(), None)]
    return bool(numeric) and all(len(cells) >= 2 for cells in numeric) and any(
        "," in cell for cells in numeric for cell in cells)


def _split(line: str, delimiter: str | None) -> list[str]:
    parts = line.split(delimiter)
    if delimiter is None:  # `load (mN)  friction (mN)`: a unit in brackets belongs to the name before it
        merged = []
        for part in parts:
            if merged and part[:1] in "([{" and not merged[-1][-1:] in ")]}" and _parse_cell(part, None) is None:
                merged[-1] += " " + part
            else:
                merged.append(part)
        parts = merged
    cells = [cell.strip().strip('"').strip("'").strip() for cell in parts]
    while len(cells) > 1 and cells[-1] == "":  # a trailing delimiter
        cells.pop()
    return cells


def _parse_cell(cell: str, delimiter: str | None) -> float | None:
    """The number in a cell, NaN/inf as such, or None when it is not a number."""
    if delimiter != "," and _DECIMAL_COMMA.fullmatch(cell):
        cell = cell.replace(",", ".")
    if _NUMBER.fullmatch(cell) or _NOT_FINITE.fullmatch(cell):
        return float(cell)
    return None


def _is_numeric_row(cells: list[str], delimiter: str | None) -> bool:
    return all(_parse_cell(cell, delimiter) is not None for cell in cells)


def _header_and_data(rows, delimiter, name):
    """Split rows into header names (or None), the header's line number, numeric data rows and notes.

    Lines before the first numeric row are the header: the last one with the data's
    width names the columns (a line of units only below it is merged into the names);
    any other earlier lines are skipped as preamble and noted.
    """
    notes = []
    first_data = next((i for i, (_, cells) in enumerate(rows) if _is_numeric_row(cells, delimiter)), None)
    if first_data is None:
        number, cells = rows[0]
        bad = next(cell for cell in cells if _parse_cell(cell, delimiter) is None)
        raise CsvError(f"{name}, line {number}: no numeric data rows found (first value that is not a "
                       f"number: {_quote(bad)})")
    data_rows = rows[first_data:]
    width = len(data_rows[0][1])
    for number, cells in data_rows:
        for col, cell in enumerate(cells):
            if _parse_cell(cell, delimiter) is None:
                raise CsvError(f"{name}, line {number}, column {col + 1}: {_quote(cell)} is not a number")
    head = rows[:first_data]
    header = header_line = None
    if head:
        named = [i for i, (_, cells) in enumerate(head) if len(cells) == width]
        if named:
            last = named[-1]
            header, header_line = list(head[last][1]), head[last][0]
            if last > 0 and len(head[last - 1][1]) == width and _all_units(header) \
                    and not _all_units(head[last - 1][1]):
                header = [f"{n} ({u.strip('()[]{} ')})" for n, u in zip(head[last - 1][1], header)]
                last -= 1
            preamble = [number for number, _ in head[:last]]
            if preamble:
                notes.append(f"skipped {len(preamble)} preamble line(s) before the header "
                             f"(lines {preamble[0]}–{preamble[-1]})")
        else:
            notes.append(f"skipped {len(head)} line(s) before the data (lines {head[0][0]}–{head[-1][0]}): "
                         f"none has {width} columns to name them")
    return header, header_line, data_rows, notes


def _all_units(cells: list[str]) -> bool:
    """A row of units only: each cell a known unit (`mN`, `s`, `-`) or a short symbol in brackets (`[lbf]`)."""
    return all(_unit_token(cell) is not None or cell.strip().lower() in _OTHER_UNITS
               or _BRACKETED_SYMBOL.fullmatch(cell.strip()) for cell in cells)


def _unit_token(text: str) -> str | None:
    """A recognised unit name (lower case) or None."""
    t = text.strip().lower().replace("μ", "µ")
    if t in _FORCE_UNITS or t in _PRESSURE_UNITS or t in ("-", "1", ""):
        return t
    return None


def _unit_of(column_name: str) -> str | None:
    """The unit written in a column name (`load (mN)`, `Fn [N]`, `friction/N`, `Ft_mN`) or None.

    A unit in brackets is returned whatever it is (so an unsupported one can be reported);
    a trailing word after `/`, `_` or a space counts only when it is a known unit
    (`normal load` has none).
    """
    m = _UNIT_IN_NAME.search(column_name.strip())
    if not m:
        return None
    if m.group(1) is not None:
        return m.group(1).strip()
    word = m.group(2).strip()
    return word if _unit_token(word) is not None else None


def _unit_scale(column_name, name, header_line, area_mm2, notes, role, label):
    """(factor to newtons, kind) for a column; kind is 'force' or 'coefficient'."""
    where = f"{name}, line {header_line}" if header_line else name
    if role == "friction" and column_name and _COEFFICIENT_WORDS.search(column_name):
        notes.append(f"{label}: a friction coefficient; friction force = coefficient × load")
        return 1.0, "coefficient"
    unit = _unit_of(column_name) if column_name else None
    if unit is None:
        notes.append(f"{label}: no unit in the header, assumed N")
        return 1.0, "force"
    key = unit.lower().replace("μ", "µ")
    if key in _FORCE_UNITS:
        if key != "n":
            notes.append(f"{label}: converted from {unit} to N")
        return _FORCE_UNITS[key], "force"
    if key in _PRESSURE_UNITS:
        if area_mm2 is None:
            raise CsvError(f"{where}: column {_quote(column_name)} is a pressure in {unit}; give the nominal "
                           "contact area in mm² to turn it into a force")
        notes.append(f"{label}: pressure in {unit} × nominal area {area_mm2:g} mm² → force in N")
        return _PRESSURE_UNITS[key] * area_mm2, "force"
    if key in ("", "-", "1"):
        notes.append(f"{label}: no unit in the header, assumed N")
        return 1.0, "force"
    raise CsvError(f"{where}: unit {_quote(unit)} of column {_quote(column_name)} is not supported "
                   "(use N, mN, µN or kN; Pa, kPa or MPa with a nominal area)")


def _choose_columns(names, width, column, name):
    """(load column, friction column, note) — 0-based indices."""
    def resolve(spec, role):
        if isinstance(spec, (bool, np.bool_)):
            raise CsvError(f"{name}: {role} column must be an index or a header name, got {spec!r}")
        if isinstance(spec, (int, np.integer)):
            index = int(spec)
            if not 0 <= index < width:
                raise CsvError(f"{name}: {role} column index {index} is out of range; the file has {width} "
                               f"columns (0–{width - 1})")
            return index
        if isinstance(spec, str):
            if spec.strip().isdigit():
                return resolve(int(spec), role)
            if names:
                wanted = spec.strip().lower()
                for i, n in enumerate(names):
                    if n.strip().lower() == wanted:
                        return i
                for i, n in enumerate(names):
                    if n.strip().lower().startswith(wanted):
                        return i
            raise CsvError(f"{name}: no {role} column named {_quote(spec)}; columns are "
                           + (", ".join(_quote(n) for n in names) if names else f"unnamed (1–{width})"))
        raise CsvError(f"{name}: {role} column must be an index or a header name, got {spec!r}")

    if isinstance(column, (tuple, list)):
        if len(column) != 2:
            raise CsvError(f"{name}: give the columns as (load, friction), got {column!r}")
        load_col, friction_col = resolve(column[0], "load"), resolve(column[1], "friction")
        how = ""
    elif column is not None:
        friction_col = resolve(column, "friction")
        load_col = _find(names, _LOAD_WORDS, exclude=friction_col)
        if load_col is None:
            load_col = 0 if friction_col != 0 else 1
        how = ""
    elif width == 2:
        load_col, friction_col, how = 0, 1, ""
    else:
        load_col = _find(names, _LOAD_WORDS)
        friction_col = _find(names, _FRICTION_WORDS, exclude=load_col)
        if load_col is None or friction_col is None:
            listing = ", ".join(_quote(n) for n in names) if names else "no header"
            raise CsvError(f"{name}: {width} columns ({listing}); say which holds the friction force "
                           "(column index from 0 or header name)")
        how = f"used columns {_quote(names[load_col])} (load) and {_quote(names[friction_col])} (friction)"
    if load_col == friction_col:
        raise CsvError(f"{name}: load and friction cannot be the same column ({load_col})")
    return load_col, friction_col, how


def _find(names, pattern, exclude=None):
    if not names:
        return None
    for i, n in enumerate(names):
        if i != exclude and pattern.search(n):
            return i
    return None


def _number(cell, delimiter, name, line, col) -> float:
    value = _parse_cell(cell, delimiter)
    if value is None:  # checked before; kept so a caller never gets a None
        raise CsvError(f"{name}, line {line}, column {col + 1}: {_quote(cell)} is not a number")
    if not math.isfinite(value):
        raise CsvError(f"{name}, line {line}, column {col + 1}: {_quote(cell)} is not a finite number")
    return value


def _check_values(load, friction, lines, name, load_name, friction_name):
    for values, label in ((load, load_name), (friction, friction_name)):
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise CsvError(f"{name}, line {lines[bad[0]]}: {label} overflows once converted to newtons")
    neg = np.flatnonzero(load < 0)
    if neg.size:
        raise CsvError(f"{name}, line {lines[neg[0]]}: negative load {load[neg[0]]:g} N ({load_name}); "
                       "loads must be ≥ 0")
    neg = np.flatnonzero(friction < 0)
    if neg.size:
        raise CsvError(f"{name}, line {lines[neg[0]]}: negative friction {friction[neg[0]]:g} N "
                       f"({friction_name}); give friction magnitudes (≥ 0)")
    zero = np.flatnonzero((friction == 0) & (load > 0))
    if zero.size:
        raise CsvError(f"{name}, line {lines[zero[0]]}: zero friction at load {load[zero[0]]:g} N; the "
                       "model's friction is positive at every load > 0")


def _quote(text: str, limit: int = 40) -> str:
    text = str(text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return repr(text)


def write_curve_csv(path, load_N, friction_N, header=("load (N)", "friction (N)"), *, comment: str = "") -> Path:
    """Write a load–friction curve as a plain comma CSV that read_target_csv reads back (atomic).

    header: the two column names (a string "a,b" is accepted too). comment: optional
    lines written first, each prefixed with `# `.
    """
    load = np.asarray(load_N, dtype=np.float64).ravel()
    friction = np.asarray(friction_N, dtype=np.float64).ravel()
    if load.shape != friction.shape:
        raise CsvError(f"{path}: load and friction have different lengths ({load.size} and {friction.size})")
    names = header.split(",") if isinstance(header, str) else list(header)
    lines = [f"# {c}" for c in comment.splitlines()] if comment else []
    lines.append(",".join(n.strip() for n in names))
    lines += [f"{p:.10g},{f:.10g}" for p, f in zip(load, friction)]
    return atomic_write_bytes(path, ("\n".join(lines) + "\n").encode("utf-8"))


__all__ = ["CsvError", "CsvTarget", "read_target_csv", "parse_target_text", "write_curve_csv", "decode_text",
           "read_csv_text", "CsvTable", "parse_table", "column_unit"]
