"""RSF files: protocols, measured records and simulated curves as CSV.

The CSV dialects are the studio's (studio.io.csv_target.parse_table: comments, `,` `;` tab or
space delimiters, decimal comma, a header with units, a units-only second header row).
Units are read from the header (`time (s)`, `v [µm/s]`, `slip_um`); without one, SI is
assumed and noted. Errors are CsvError or ProtocolError naming the file, the line and the problem.

Protocol CSV (one row per segment):
    duration (s), slip (m), velocity (m/s)
  a segment is given by its duration or by its slip (write 0 in the other; if both are given
  they must agree); a hold is a velocity of 0 with a duration. A `slip` column may be left out.

Measured record CSV (one row per sample):
    time (s), velocity (m/s) or displacement (m), mu
  the velocity (the load point's in spring mode, the slider's in imposed mode) on a row holds
  until the next row; with a displacement column the velocity of each interval is its
  displacement over its duration. Runs of equal velocity become one segment. The record must
  start at steady sliding (the state is at steady state at t = 0). Time must increase; velocities
  must not be negative.

Curve CSV (written by `rsf simulate` and `rsf predict`): time (s), velocity (m/s) [the protocol's],
displacement (m) [the protocol's], slip (m), slider velocity (m/s), mu, theta (s) [not for a learned
model, which has no state variable]; it reads back as a record.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from studio.dynamics.fit import Record
from studio.dynamics.protocol import Protocol, ProtocolError, Segment
from studio.files import atomic_write_text
from studio.io.csv_target import CsvError, column_unit, parse_table, read_csv_text

TIME_UNITS = {"s": 1.0, "ms": 1e-3, "min": 60.0, "h": 3600.0}
VELOCITY_UNITS = {"m/s": 1.0, "mm/s": 1e-3, "µm/s": 1e-6, "um/s": 1e-6, "nm/s": 1e-9}
LENGTH_UNITS = {"m": 1.0, "mm": 1e-3, "µm": 1e-6, "um": 1e-6, "nm": 1e-9}
_SUFFIX = re.compile(r"(?:[_\s/]|\bin\s)([a-zµμ]+(?:[/_][a-z]+)?)\s*$", re.IGNORECASE)
_TIME = re.compile(r"^\s*(time|t)\b|elapsed", re.IGNORECASE)
_VELOCITY = re.compile(r"velocity|speed|^\s*v(_?lp)?\b|rate", re.IGNORECASE)
_DISPLACEMENT = re.compile(r"displacement|^\s*disp|position|distance|^\s*(x|d)(_?lp)?\b", re.IGNORECASE)
_SLIP = re.compile(r"^\s*slip\b|^\s*delta\b|^\s*δ", re.IGNORECASE)
_DURATION = re.compile(r"duration|^\s*(time|t|dt|hold)\b", re.IGNORECASE)
_MU = re.compile(r"^\s*(mu|µ|μ|cof)\b|coefficient|^\s*(mu|µ|μ)\s*[\(\[]?", re.IGNORECASE)
_SLIDER = re.compile(r"slider", re.IGNORECASE)


def _unit(column_name: str, units: dict, name: str, line: int, what: str, notes: list) -> float:
    """Factor to SI of a column from its header (bracketed or a trailing `_um_s`-style suffix)."""
    unit = column_unit(column_name)
    if unit is None:
        m = _SUFFIX.search(column_name.strip())
        candidate = m.group(1).replace("_", "/") if m else None
        if candidate and candidate.lower().replace("μ", "µ") in units:
            unit = candidate
    if unit is None or unit.strip() in ("", "-", "1"):
        notes.append(f"{column_name or what}: no unit in the header, assumed SI")
        return 1.0
    key = unit.strip().lower().replace("μ", "µ")
    if key not in units:
        raise CsvError(f"{name}, line {line}: unit {unit!r} of column {column_name!r} is not a {what} unit "
                       f"(use {', '.join(units)})")
    return units[key]


def _find(names, pattern, exclude=(), avoid=None):
    for i, n in enumerate(names):
        if i not in exclude and pattern.search(n) and not (avoid is not None and avoid.search(n)):
            return i
    return None


def _table(text: str, name: str, default_names: list):
    """(CsvTable, column names, notes); a table without a header must have the default columns."""
    table = parse_table(text, name)
    notes = list(table.notes)
    if table.names is not None:
        return table, table.names, notes
    width = table.values.shape[1]
    if width != len(default_names):
        raise CsvError(f"{name}: {width} columns without a header; name them {', '.join(default_names)}")
    notes.append(f"no header: columns taken as {', '.join(default_names)}")
    return table, default_names, notes


def read_protocol(path, *, initial_velocity_m_s: float | None = None) -> Protocol:
    """Read a protocol CSV (module docstring)."""
    text, name = read_csv_text(path)
    return parse_protocol(text, name, initial_velocity_m_s=initial_velocity_m_s)


def parse_protocol(text: str, name: str = "protocol", *, initial_velocity_m_s=None) -> Protocol:
    table, names, notes = _table(text, name, ["duration (s)", "velocity (m/s)"])
    v_col = _find(names, _VELOCITY)
    d_col = _find(names, _DURATION, exclude=(v_col,))
    s_col = _find(names, re.compile(r"slip|displacement|distance", re.IGNORECASE), exclude=(v_col, d_col))
    if v_col is None or (d_col is None and s_col is None):
        raise CsvError(f"{name}, line {table.header_line}: need a velocity column and a duration or slip column; "
                       f"found {', '.join(repr(n) for n in names)}")
    v = table.values[:, v_col] * _unit(names[v_col], VELOCITY_UNITS, name, table.header_line, "velocity", notes)
    d = (table.values[:, d_col] * _unit(names[d_col], TIME_UNITS, name, table.header_line, "time", notes)
         if d_col is not None else np.zeros(len(v)))
    s = (table.values[:, s_col] * _unit(names[s_col], LENGTH_UNITS, name, table.header_line, "length", notes)
         if s_col is not None else np.zeros(len(v)))
    segments = []
    for line, duration, slip, velocity in zip(table.lines, d, s, v):
        where = f"{name}, line {line}"
        if velocity < 0:
            raise ProtocolError(f"{where}: negative velocity {velocity:g} m/s; velocities are magnitudes "
                                "(0 for a hold)")
        if duration < 0 or slip < 0:
            raise ProtocolError(f"{where}: negative {'duration' if duration < 0 else 'slip'}")
        if slip > 0 and velocity == 0:
            raise ProtocolError(f"{where}: a slip of {slip:g} m at velocity 0; a hold is given by its duration")
        if slip > 0:
            from_slip = slip / velocity
            if duration > 0 and not math.isclose(duration, from_slip, rel_tol=1e-6):
                raise ProtocolError(f"{where}: duration {duration:g} s and slip {slip:g} m disagree at "
                                    f"{velocity:g} m/s (slip/velocity = {from_slip:g} s); give one, 0 in the other")
            duration = from_slip
        if duration <= 0:
            raise ProtocolError(f"{where}: a segment needs a duration or a slip > 0")
        segments.append(Segment(float(duration), float(velocity), int(line)))
    return Protocol(tuple(segments), initial_velocity_m_s=initial_velocity_m_s, name=name, notes=notes)


def write_protocol(path, protocol: Protocol) -> Path:
    """Write a protocol CSV that read_protocol reads back (atomic)."""
    lines = [f"# RSF protocol{': ' + protocol.name if protocol.name else ''}",
             "duration (s),slip (m),velocity (m/s)"]
    lines += [f"{s.duration_s:.12g},{s.slip_m:.12g},{s.velocity_m_s:.12g}" for s in protocol.segments]
    return atomic_write_text(path, "\n".join(lines) + "\n")


def read_record(path, *, mode: str = "imposed", merge_tolerance: float = 1e-6) -> Record:
    """Read a measured record CSV (module docstring) into a Record for studio.dynamics.fit."""
    text, name = read_csv_text(path)
    return parse_record(text, name, mode=mode, merge_tolerance=merge_tolerance)


def parse_record(text: str, name: str = "record", *, mode: str = "imposed", merge_tolerance: float = 1e-6) -> Record:
    table, names, notes = _table(text, name, ["time (s)", "velocity (m/s)", "mu"])
    t_col = _find(names, _TIME)
    mu_col = _find(names, _MU, exclude=(t_col,))
    avoid = _SLIDER if mode == "spring" else None  # spring mode is driven by the load point
    v_col = _find(names, _VELOCITY, exclude=(t_col, mu_col), avoid=avoid)
    if v_col is None:
        v_col = _find(names, _VELOCITY, exclude=(t_col, mu_col))
    x_col = None if v_col is not None else _find(names, _DISPLACEMENT, exclude=(t_col, mu_col), avoid=avoid)
    if t_col is None or mu_col is None or (v_col is None and x_col is None):
        raise CsvError(f"{name}, line {table.header_line}: need columns time, velocity (or displacement) and mu; "
                       f"found {', '.join(repr(n) for n in names)}")
    lines = table.lines
    t = table.values[:, t_col] * _unit(names[t_col], TIME_UNITS, name, table.header_line, "time", notes)
    mu = table.values[:, mu_col]
    bad = np.flatnonzero(np.diff(t) <= 0)
    if bad.size:
        i = bad[0] + 1
        raise CsvError(f"{name}, line {lines[i]}: time {t[i]:g} s does not increase (previous row: {t[i - 1]:g} s); "
                       "a record needs increasing time")
    if len(t) < 2:
        raise CsvError(f"{name}: only {len(t)} sample; a record needs many")
    if v_col is not None:
        v = table.values[:, v_col] * _unit(names[v_col], VELOCITY_UNITS, name, table.header_line, "velocity", notes)
        interval_v = v[:-1]
        neg = np.flatnonzero(v < 0)
        if neg.size:
            raise CsvError(f"{name}, line {lines[neg[0]]}: negative velocity {v[neg[0]]:g} m/s "
                           f"({names[v_col]}); velocities must be ≥ 0")
    else:
        x = table.values[:, x_col] * _unit(names[x_col], LENGTH_UNITS, name, table.header_line, "length", notes)
        interval_v = np.diff(x) / np.diff(t)
        neg = np.flatnonzero(interval_v < 0)
        if neg.size:
            raise CsvError(f"{name}, line {lines[neg[0] + 1]}: displacement decreases ({names[x_col]}): a negative "
                           "velocity; records must slide one way")
        notes.append(f"velocity from {names[x_col]} over each interval")
    segments = _segments(t, interval_v, lines, merge_tolerance)
    protocol = Protocol(tuple(segments), name=name)
    return Record(t - t[0], mu, protocol, source=name, lines=lines, notes=notes)


def _segments(t, v, lines, tolerance):
    """Runs of (nearly) equal interval velocity → segments; the run's velocity keeps its displacement."""
    segments, start = [], 0
    for i in range(1, len(v) + 1):
        if i == len(v) or not math.isclose(v[i], v[start], rel_tol=tolerance, abs_tol=0.0):
            duration = float(t[i] - t[start])
            run = v[start:i]
            velocity = float(run[0]) if np.all(run == run[0]) else float(np.sum(run * np.diff(t[start:i + 1])) / duration)
            segments.append(Segment(duration, velocity, int(lines[start])))
            start = i
    return segments


def write_curve(path, protocol: Protocol, trajectory, *, comment: str = "") -> Path:
    """Write a simulated trajectory as a curve CSV (module docstring), atomically."""
    return atomic_write_text(path, format_curve(protocol, trajectory, comment=comment))


def format_curve(protocol: Protocol, trajectory, *, comment: str = "") -> str:
    """The text of a curve CSV (module docstring)."""
    t = np.asarray(trajectory.times_s, np.float64)
    columns = {"time (s)": t, "velocity (m/s)": protocol.velocity_at(t),
               "displacement (m)": protocol.displacement_at(t), "slip (m)": trajectory.slip_m,
               "slider velocity (m/s)": trajectory.velocity_m_s, "mu": trajectory.mu}
    if trajectory.log_theta is not None:  # a learned model (rsf predict) has no state variable
        columns["theta (s)"] = np.exp(np.asarray(trajectory.log_theta, np.float64))
    lines = [f"# {c}" for c in comment.splitlines()] if comment else []
    lines.append(",".join(columns))
    rows = np.stack([np.asarray(c, np.float64) for c in columns.values()], axis=1)
    lines += [",".join(f"{value:.12g}" for value in row) for row in rows]
    return "\n".join(lines) + "\n"


__all__ = ["read_protocol", "parse_protocol", "write_protocol", "read_record", "parse_record", "write_curve",
           "format_curve"]
