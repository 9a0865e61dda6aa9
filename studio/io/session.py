"""Session files: the studio's working state as JSON (atomic), with autosave and crash recovery.

A session holds the target (law on the grid, mask, N, source, note, the largest load of its
grid `max_load_N` (absent: 10 N, as written before), the sketch's handles, the measured points of an
imported record `measured`: [load_N, friction_N, outlier] (absent: none)), the designs on the
board (canonical θ, N, seed, method, model, error, name, elapsed, max_load_N),
the pinned and selected design names, and the job settings (free JSON values). Designs
are stored as (θ, N, seed) only: they are exactly reproducible, so asperities and laws
are recomputed when needed.

Autosave and recovery. The GUI saves to `autosave_path()` every little while; each save
carries a fresh `revision`. On a clean exit it calls `mark_clean_exit()`, which records
the revision of the last autosave. At start, `has_recoverable_session()` is True when an
autosave exists whose revision the clean-exit marker does not record, i.e. the last run
ended without a clean exit after its last autosave.

The state folder: $FRICTION_STUDIO_STATE_DIR if set; else on Linux $XDG_STATE_HOME or
~/.local/state, on macOS ~/Library/Application Support, on Windows %LOCALAPPDATA% — each
followed by `friction-studio`. No Qt here (QStandardPaths lives in the GUI's world).
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import os
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from studio.design.core import Design, Target
from studio.errors import StudioError
from studio.files import atomic_write_text
from studio.physics import LOAD_GRID_N, THETA_SIZE

FORMAT = "friction-studio-session"
FORMAT_VERSION = 1
APP_DIR = "friction-studio"
AUTOSAVE_NAME = "autosave.json"
CLEAN_EXIT_NAME = "clean-exit.json"
MAX_SESSION_BYTES = 64 * 1024 * 1024


class SessionError(StudioError, ValueError):
    """A session file that cannot be saved or loaded; names the file and the field at fault."""


@dataclass
class Session:
    """The studio's working state."""

    target: Target | None = None
    handles: list[tuple[float, float]] = field(default_factory=list)  # sketch handles (load_N, friction_N)
    measured: list[tuple[float, float, bool]] = field(default_factory=list)  # an imported record's points
    designs: list[Design] = field(default_factory=list)
    pinned: list[str] = field(default_factory=list)
    selected: str | None = None
    settings: dict = field(default_factory=dict)  # job settings: method, K, time budget, seed, ... (JSON values)
    saved: str = ""
    revision: str = ""


# ------------------------------------------------------------------------------------------- save / load

def session_to_json(session: Session) -> dict:
    """The JSON document of a session (plain lists and scalars)."""
    t = session.target
    target = None
    if t is not None:
        target = {"friction_N": _floats(t.friction_N), "mask": [bool(m) for m in t.mask], "N": int(t.N),
                  "source": str(t.source), "note": str(t.note), "max_load_N": float(t.max_load_N)}
    try:
        settings = json.loads(json.dumps(session.settings, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise SessionError(f"session settings are not plain JSON values: {exc}") from None
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "saved": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "revision": uuid.uuid4().hex,
        "target": target,
        "handles": [[float(p), float(f)] for p, f in session.handles],
        "measured": [[float(p), float(f), bool(o)] for p, f, o in session.measured],
        "designs": [_design_to_json(d) for d in session.designs],
        "pinned": [str(n) for n in session.pinned],
        "selected": session.selected,
        "settings": settings,
    }


def _design_to_json(d: Design) -> dict:
    return {"name": d.name, "theta": _floats(d.theta), "N": int(d.N), "seed": int(d.seed), "method": d.method,
            "model": d.model, "error_percent": None if d.error_percent is None else float(d.error_percent),
            "elapsed_s": float(d.elapsed_s), "max_load_N": float(d.max_load_N)}


def _floats(values) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype=np.float64).ravel()]


def save_session(path, session: Session) -> Path:
    """Write `session` to `path` as JSON, atomically; returns the path. Sets session.saved/revision."""
    doc = session_to_json(session)
    try:
        text = json.dumps(doc, indent=1, allow_nan=False)
    except ValueError as exc:
        raise SessionError(f"{path}: session holds a value JSON cannot store ({exc})") from None
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, text)
    except OSError as exc:
        raise SessionError(f"{path}: cannot write the session ({exc.strerror or exc})") from None
    session.saved, session.revision = doc["saved"], doc["revision"]
    return path


def load_session(path) -> Session:
    """Read and validate a session file."""
    path = Path(path)
    where = str(path)
    try:
        if path.stat().st_size > MAX_SESSION_BYTES:
            raise SessionError(f"{where}: file is too large for a session ({path.stat().st_size / 1e6:.0f} MB)")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SessionError(f"{where}: file not found") from None
    except IsADirectoryError:
        raise SessionError(f"{where}: is a folder, not a session file") from None
    except OSError as exc:
        raise SessionError(f"{where}: cannot read ({exc.strerror or exc})") from None
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise SessionError(f"{where}: not a session file (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise SessionError(f"{where}, line {exc.lineno}: not valid JSON ({exc.msg}); the file is damaged or "
                           "truncated") from None
    except ValueError as exc:
        raise SessionError(f"{where}: {exc}") from None
    return session_from_json(doc, where)


def _reject_constant(name):
    raise ValueError(f"{name} is not allowed in a session file")


def session_from_json(doc, where: str = "session") -> Session:
    """Validate a session JSON document and build the Session."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SessionError(f"{where}: not a Friction Studio session (field format is not {FORMAT!r})")
    version = doc.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise SessionError(f"{where}: field format_version must be an integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise SessionError(f"{where}: session format_version {version} comes from a newer Friction Studio; "
                           f"this version reads ≤ {FORMAT_VERSION}")
    session = Session(saved=str(doc.get("saved", "")), revision=str(doc.get("revision", "")))
    t = doc.get("target")
    if t is not None:
        session.target = _target_from_json(_expect(t, dict, where, "target"), where)
    session.handles = [_pair(h, where, f"handles[{i}]")
                       for i, h in enumerate(_expect(doc.get("handles", []), list, where, "handles"))]
    session.measured = [_measured_point(m, where, f"measured[{i}]")
                        for i, m in enumerate(_expect(doc.get("measured", []), list, where, "measured"))]
    designs = _expect(doc.get("designs", []), list, where, "designs")
    session.designs = [_design_from_json(d, where, f"designs[{i}]") for i, d in enumerate(designs)]
    session.pinned = [_expect(n, str, where, f"pinned[{i}]")
                      for i, n in enumerate(_expect(doc.get("pinned", []), list, where, "pinned"))]
    selected = doc.get("selected")
    session.selected = None if selected is None else _expect(selected, str, where, "selected")
    session.settings = _expect(doc.get("settings", {}), dict, where, "settings")
    return session


def _expect(value, kind, where, name):
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        expected = {dict: "an object", list: "a list", str: "text", int: "an integer"}.get(kind, kind.__name__)
        raise SessionError(f"{where}: field {name} must be {expected}, got {type(value).__name__}")
    return value


def _number(value, where, name) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SessionError(f"{where}: field {name} must be a finite number, got {value!r}")
    return float(value)


def _vector(value, length, where, name) -> np.ndarray:
    items = _expect(value, list, where, name)
    if len(items) != length:
        raise SessionError(f"{where}: field {name} has {len(items)} values, expected {length}")
    return np.array([_number(v, where, f"{name}[{i}]") for i, v in enumerate(items)])


def _pair(value, where, name) -> tuple[float, float]:
    v = _vector(value, 2, where, name)
    return float(v[0]), float(v[1])


def _measured_point(value, where, name) -> tuple[float, float, bool]:
    """[load_N, friction_N, outlier] of a measured point (absent in sessions before issue 22)."""
    items = _expect(value, list, where, name)
    if len(items) != 3 or not isinstance(items[2], bool):
        raise SessionError(f"{where}: field {name} must be [load, friction, outlier true/false]")
    return _number(items[0], where, f"{name}[0]"), _number(items[1], where, f"{name}[1]"), items[2]


def _target_from_json(t: dict, where) -> Target:
    friction = _vector(t.get("friction_N"), LOAD_GRID_N.size, where, "target.friction_N")
    mask = _expect(t.get("mask"), list, where, "target.mask")
    if len(mask) != LOAD_GRID_N.size or not all(isinstance(m, bool) for m in mask):
        raise SessionError(f"{where}: field target.mask must be {LOAD_GRID_N.size} true/false values")
    try:
        return Target(friction_N=friction, N=_expect(t.get("N"), int, where, "target.N"), mask=np.array(mask),
                      source=str(t.get("source", "session")), note=str(t.get("note", "")),
                      max_load_N=_number(t.get("max_load_N", 10.0), where, "target.max_load_N"))
    except StudioError as exc:
        raise SessionError(f"{where}: field target: {exc}") from None


def _design_from_json(d, where, name) -> Design:
    d = _expect(d, dict, where, name)
    theta = _vector(d.get("theta"), THETA_SIZE, where, f"{name}.theta")
    error = d.get("error_percent")
    try:
        return Design(theta=theta, N=_expect(d.get("N"), int, where, f"{name}.N"),
                      seed=_expect(d.get("seed"), int, where, f"{name}.seed"),
                      method=str(d.get("method", "")), model=str(d.get("model", "")),
                      elapsed_s=_number(d.get("elapsed_s", 0.0), where, f"{name}.elapsed_s"),
                      error_percent=None if error is None else _number(error, where, f"{name}.error_percent"),
                      name=str(d.get("name", "")),
                      max_load_N=_number(d.get("max_load_N", 10.0), where, f"{name}.max_load_N"))
    except SessionError:
        raise
    except StudioError as exc:
        raise SessionError(f"{where}: field {name}: {exc}") from None


# --------------------------------------------------------------------------------- autosave and recovery

def state_dir() -> Path:
    """The per-user folder for autosaves and the clean-exit marker (see the module docstring)."""
    override = os.environ.get("FRICTION_STUDIO_STATE_DIR")
    if override:
        return Path(override)
    home = Path.home()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = str(home / "Library" / "Application Support")
    else:
        base = os.environ.get("XDG_STATE_HOME") or str(home / ".local" / "state")
    return Path(base) / APP_DIR


def autosave_path() -> Path:
    """Where the GUI autosaves the session."""
    return state_dir() / AUTOSAVE_NAME


def clean_exit_path() -> Path:
    return state_dir() / CLEAN_EXIT_NAME


def mark_clean_exit() -> None:
    """Record that the studio closed cleanly after its last autosave."""
    revision = _autosave_revision()
    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    path = clean_exit_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({"revision": revision, "time": now}))


def has_recoverable_session() -> bool:
    """True when an autosave exists that was written after the last clean exit (the studio crashed)."""
    revision = _autosave_revision()
    if revision is None:
        return False
    try:
        marker = json.loads(clean_exit_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True
    return not isinstance(marker, dict) or marker.get("revision") != revision


def _autosave_revision() -> str | None:
    try:
        doc = json.loads(autosave_path().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return "damaged"
    return str(doc.get("revision", "")) if isinstance(doc, dict) else "damaged"
