"""studio.io: files users trust — CSV targets, HDF5 design files, session files, fabrication exports.

    read_target_csv / parse_target_text → CsvTarget      (csv_target.py, CsvError)
    write_design_file / read_design_file → DesignFile    (design_file.py, DesignFileError)
    save_session / load_session, autosave_path           (session.py, SessionError)
    height map (.npy/.csv/.png) and STL export           (export.py, ExportError)

Every write is atomic (studio/files.py, the one atomic writer). Submodules are imported lazily so that
`import studio.io` stays light (h5py and the physics load only when needed).
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "CsvError": "csv_target", "CsvTarget": "csv_target", "read_target_csv": "csv_target",
    "parse_target_text": "csv_target", "write_curve_csv": "csv_target",
    "DesignFile": "design_file", "DesignFileError": "design_file", "write_design_file": "design_file",
    "read_design_file": "design_file",
    "Session": "session", "SessionError": "session", "save_session": "session", "load_session": "session",
    "autosave_path": "session", "has_recoverable_session": "session",
    "ExportError": "export", "Geometry": "export", "save_height_map": "export", "save_stl": "export",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"studio.io.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'studio.io' has no attribute {name!r}")
