"""HDF5 design files, format_version 1 (../shared/spec/design-file.md; documented in docs/design-file.md).

Writing always produces the newest format, atomically (studio.files: temporary file beside the
target, then os.replace). Reading dispatches on the root attribute `format_version`
through READERS: a future version 2 adds `@reader(2)` and keeps `@reader(1)`, whose
result is the same in-memory DesignFile (that is the migration: old files are read
into the current model, and written back as the newest version when saved).

Two optional groups per design, added without a version bump because readers that do not
know them skip them: `layout` (the fabrication layout's levels and sizes, studio.physics.layout)
and `validation` (a boundary-element check of that layout, studio.design.validation).
`update_design_file` changes one design's layout and validation in place and leaves every
other byte's meaning alone (a copy is edited, then atomically replaces the file).
"""
from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

import studio
from studio.design import load_range
from studio.design.core import Design, Target
from studio.design.material import FREE, Material, MaterialError, check_range
from studio.errors import StudioError
from studio.files import atomic_write
from studio.physics import (
    B_IDX,
    E_STAR_IDX,
    LOAD_GRID_N,
    MATERIAL_IDX,
    MAX_ASPERITIES,
    MIN_ASPERITIES,
    THETA_NAMES,
    THETA_SIZE,
    THETA_UNITS,
    TAU0_IDX,
    Asperities,
)
from studio.physics.layout import Layout

FORMAT = "friction-studio-design"
FORMAT_VERSION = 1
N_LOADS = LOAD_GRID_N.size
THETA_UNIT = "per entry, see attribute units"


class DesignFileError(StudioError, ValueError):
    """A design file that cannot be written or read; names the file and the dataset/attribute at fault."""


@dataclass
class DesignFile:
    """The contents of a design file: designs best first, the optional target, and provenance."""

    designs: list[Design]
    target: Target | None = None
    best: str = ""
    format_version: int = FORMAT_VERSION
    created: str = ""
    software_version: str = ""
    layouts: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # name → (x_mm, y_mm)
    hertz_valid: dict[str, bool] = field(default_factory=dict)
    layout_details: dict[str, Layout] = field(default_factory=dict)  # name → Layout (files with a layout group)
    validations: dict = field(default_factory=dict)  # name → studio.design.validation.Validation (optional group)
    path: str = ""

    def design(self, name: str | None = None) -> Design:
        """The named design, or the best one when `name` is None."""
        wanted = self.best if name is None else name
        for d in self.designs:
            if d.name == wanted:
                return d
        if name is None and self.designs:
            return self.designs[0]
        raise DesignFileError(f"{self.path or 'design file'}: no design named {wanted!r}; it holds "
                              + ", ".join(repr(d.name) for d in self.designs))


# ----------------------------------------------------------------------------------------------- writing

def write_design_file(path, designs, target: Target | None = None, *, layouts: dict | None = None,
                      validations: dict | None = None) -> Path:
    """Write designs (best first) and the optional target to `path` (HDF5, format_version 1, atomic).

    Designs without realised asperities or law are realised and simulated here
    (float64). Each design gets a fabrication layout (studio.physics.layout), or the one in
    `layouts` under its name; a validation in `validations` under its name is written when it
    was made for that layout (a DesignFile read back has both: pass f.layout_details, f.validations).
    """
    import h5py

    designs = list(designs)
    path = Path(path)
    _check_designs(designs, path)
    with atomic_write(path) as tmp:
        with h5py.File(tmp, "w") as f:
            write_design_h5(f, designs, target, layouts=layouts, validations=validations)
    return path


def write_design_h5(f, designs, target: Target | None = None, *, layouts: dict | None = None,
                    validations: dict | None = None) -> None:
    """Write into an open, empty h5py.File (or group); the path-level writer wraps this atomically."""
    designs = list(designs)
    _check_designs(designs, getattr(f, "filename", "design file"))
    names = _unique_names(designs)
    errors = {}
    f.attrs["format"] = FORMAT
    f.attrs["format_version"] = np.int64(FORMAT_VERSION)
    f.attrs["created"] = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    f.attrs["software_version"] = studio.__version__
    if target is not None:
        _write_target(f, target, designs)
        # One file, one load range: designs are written at the target's (scaled exactly, load_range).
        designs = [load_range.at_load_range(d, target.max_load_N) for d in designs]
    group = f.create_group("designs")
    for d, name in zip(designs, names):
        errors[name] = _write_design(group, name, d, target, (layouts or {}).get(d.name),
                                     (validations or {}).get(d.name))
    scored = {n: e for n, e in errors.items() if e is not None and np.isfinite(e)}
    f.attrs["best"] = min(scored, key=scored.get) if scored else names[0]
    f.attrs["design_order"] = np.array(names, dtype=h5_str())


def h5_str():
    import h5py

    return h5py.string_dtype("utf-8")


def _check_designs(designs, where) -> None:
    if not designs:
        raise DesignFileError(f"{where}: nothing to write; a design file holds at least one design")
    for i, d in enumerate(designs):
        if not isinstance(d, Design):
            raise DesignFileError(f"{where}: item {i} is a {type(d).__name__}, not a Design")


def _unique_names(designs) -> list[str]:
    names, seen = [], set()
    for i, d in enumerate(designs):
        base = (d.name or f"design_{i + 1}").replace("/", "_").strip() or f"design_{i + 1}"
        if base in (".", ".."):
            base = f"design_{i + 1}"
        name, k = base, 2
        while name in seen:
            name, k = f"{base}_{k}", k + 1
        seen.add(name)
        names.append(name)
    return names


def _dataset(group, name, data, unit, dtype=np.float64, **attrs):
    ds = group.create_dataset(name, data=np.asarray(data, dtype=dtype))
    ds.attrs["unit"] = unit
    for key, value in attrs.items():
        ds.attrs[key] = value
    return ds


def _write_target(f, target: Target, designs) -> None:
    g = f.create_group("target")
    _dataset(g, "load_N", target.load_N, "N")
    _dataset(g, "friction_N", target.friction_N, "N")
    _dataset(g, "mask", target.mask, "-", dtype=bool)
    g.attrs["source"] = str(target.source)
    g.attrs["note"] = str(target.note)
    g.attrs["N"] = np.int64(target.N)
    g.attrs["max_load_N"] = float(target.max_load_N)
    g.attrs["validity"] = str(target.validity)  # (addition, issue 21) small-strain validity as a constraint
    if not target.material.free:  # (addition, issue 21) the user's material: one [lo, hi] per given quantity
        mg = g.create_group("material")
        for field, attr in MATERIAL_ATTRS.items():
            r = getattr(target.material, field)
            if r is not None:
                mg.attrs[attr] = np.asarray(r, dtype=np.float64)
        mg.attrs["preset"] = str(target.material.name)


def _write_design(group, name: str, d: Design, target: Target | None, layout: Layout | None = None,
                  validation=None) -> float | None:
    """One /designs/<name> group, in real geometry at the design's load range; returns its functional error [%]."""
    from studio.design.details import design_layout

    a = d.real_asperities()
    law = np.asarray(d.real_law(), dtype=np.float64)
    E_star, tau0, B = (float(v) for v in d.theta[MATERIAL_IDX])
    if layout is None or np.asarray(layout.x_mm).shape != a.height_mm.shape:
        layout = design_layout(d)
    x_mm, y_mm = layout.x_mm, layout.y_mm
    g = group.create_group(name)
    _dataset(g, "theta", load_range.real_theta(d.theta, d.max_load_N), THETA_UNIT,
             names=np.array(THETA_NAMES, dtype=h5_str()), units=np.array(THETA_UNITS, dtype=h5_str()))
    ag = g.create_group("asperities")
    _dataset(ag, "height_mm", a.height_mm, "mm")
    _dataset(ag, "radius_mm", a.radius_mm, "mm")
    _dataset(ag, "component", a.component, "-", dtype=np.int32)
    _dataset(ag, "x_mm", x_mm, "mm")
    _dataset(ag, "y_mm", y_mm, "mm")
    cg = g.create_group("curve")
    _dataset(cg, "load_N", d.load_N, "N")
    _dataset(cg, "friction_N", law, "N")
    if d.band_p05 is not None and d.band_p95 is not None:
        _dataset(cg, "band_p05", d.band_p05, "N")
        _dataset(cg, "band_p95", d.band_p95, "N")
    error = target.error(law) if target is not None else d.error_percent
    g.attrs["N"] = np.int64(d.N)
    g.attrs["seed"] = np.int64(d.seed)
    g.attrs["E_star_MPa"] = E_star
    g.attrs["tau0_MPa"] = tau0
    g.attrs["B"] = B
    g.attrs["method"] = str(d.method)
    g.attrs["model"] = str(d.model)
    if error is not None:
        g.attrs["smape_percent"] = float(error)
    g.attrs["hertz_valid"] = bool(d.hertz_valid)
    g.attrs["elapsed_s"] = float(d.elapsed_s)
    g.attrs["max_load_N"] = float(d.max_load_N)
    g.attrs["radius_floor_mm"] = load_range.radius_floor_mm(d.max_load_N)
    warnings = d.fabrication_warnings()
    if warnings:
        g.attrs["fabrication_warnings"] = json.dumps(warnings)
    _write_layout_group(g, layout)
    if validation is not None and validation.matches_layout(x_mm, y_mm):
        _write_validation_group(g, validation)
    return error


def _write_layout_group(g, layout: Layout) -> None:
    """/designs/<name>/layout: the levels and sizes of the layout in asperities/x_mm, y_mm (optional group)."""
    lg = g.create_group("layout")
    _dataset(lg, "touching", layout.touching, "-", dtype=bool)
    for key in ("base_level_mm", "flat_lowest_mm", "clearance_mm", "relief_mm"):
        lg.attrs[key] = float(getattr(layout, key))
    lg.attrs["max_load_N"] = float(layout.max_load_N)
    lg.attrs["footprint_mm"] = np.asarray(layout.footprint_mm, dtype=np.float64)
    lg.attrs["plate_mm"] = np.asarray(layout.plate_mm, dtype=np.float64)
    lg.attrs["algorithm"] = str(layout.algorithm)
    lg.attrs["notes"] = json.dumps(list(layout.notes))


# Datasets of the validation group: name → (unit, dtype); per load (K,), per load and asperity (K, N).
_VALIDATION_PER_LOAD = {"load_N": "N", "friction_bem_N": "N", "friction_independent_N": "N",
                        "area_bem_mm2": "mm2", "area_independent_mm2": "mm2", "area_cells_mm2": "mm2",
                        "error_percent": "%", "flat_bem_mm": "mm", "cell_mm": "mm"}
_VALIDATION_ATTRS = ("interaction_error_percent", "tolerance_percent", "grid_change_percent", "clearance_mm",
                     "max_load_N", "elapsed_s", "cells_per_radius")


def _write_validation_group(g, v) -> None:
    """/designs/<name>/validation: a BEM validation of this design's layout (optional group)."""
    vg = g.create_group("validation")
    vg.attrs["group_version"] = np.int64(1)
    for key in _VALIDATION_ATTRS:
        vg.attrs[key] = float(getattr(v, key))
    vg.attrs["passed"] = bool(v.passed)
    vg.attrs["method"] = str(v.method)
    vg.attrs["created"] = str(v.created)
    vg.attrs["libraries"] = json.dumps(v.libraries)
    vg.attrs["notes"] = json.dumps(list(v.notes))
    names = {"load_N": v.loads_N, **{k: getattr(v, k) for k in _VALIDATION_PER_LOAD if k != "load_N"}}
    for key, unit in _VALIDATION_PER_LOAD.items():
        _dataset(vg, key, names[key], unit)
    _dataset(vg, "iterations", v.iterations, "-", dtype=np.int64)
    _dataset(vg, "grid_shape", v.grid_shape, "-", dtype=np.int64)
    _dataset(vg, "asperity_load_N", v.asperity_load_N, "N")
    _dataset(vg, "asperity_area_mm2", v.asperity_area_mm2, "mm2")
    _dataset(vg, "x_mm", v.x_mm, "mm")
    _dataset(vg, "y_mm", v.y_mm, "mm")


def update_design_file(path, name: str, *, layout: Layout | None = None, validation=None) -> Path:
    """Give design `name` of the file at `path` a new layout and/or validation, in place and atomically.

    The rest of the file is kept as it is (a copy is edited, then replaces the file). A new layout
    drops the design's old validation unless `validation` is given for the new layout.
    """
    import shutil

    import h5py

    path = Path(path)
    current = read_design_file(path)
    design = current.design(name)
    if layout is not None and np.asarray(layout.x_mm).shape != (design.N,):
        raise DesignFileError(f"{path}: the layout has {np.asarray(layout.x_mm).size} positions, design "
                              f"{design.name!r} has {design.N} asperities")
    x, y = (layout.x_mm, layout.y_mm) if layout is not None else current.layouts[design.name]
    if validation is not None and not validation.matches_layout(x, y):
        raise DesignFileError(f"{path}: the validation was made for another layout than design {design.name!r}'s")
    with atomic_write(path) as tmp:
        shutil.copyfile(path, tmp)
        with h5py.File(tmp, "r+") as f:
            g = f["designs"][design.name]
            if layout is not None:
                for key, values in (("x_mm", layout.x_mm), ("y_mm", layout.y_mm)):
                    del g["asperities"][key]
                    _dataset(g["asperities"], key, values, "mm")
                if "layout" in g:
                    del g["layout"]
                _write_layout_group(g, layout)
                if "validation" in g and validation is None:
                    del g["validation"]  # it was made for the old layout
            if validation is not None:
                if "validation" in g:
                    del g["validation"]
                _write_validation_group(g, validation)
    return path


# ----------------------------------------------------------------------------------------------- reading

READERS: dict[int, Callable] = {}


def reader(version: int):
    """Register the reader of one format_version: fn(h5py.File, where: str) -> DesignFile."""
    def register(fn):
        READERS[version] = fn
        return fn
    return register


def read_design_file(path) -> DesignFile:
    """Read and validate a design file of any known format_version."""
    import h5py

    path = Path(path)
    where = str(path)
    if not path.exists():
        raise DesignFileError(f"{where}: file not found")
    if path.is_dir():
        raise DesignFileError(f"{where}: is a folder, not a design file")
    try:
        is_hdf5 = h5py.is_hdf5(path)
    except OSError as exc:
        raise DesignFileError(f"{where}: cannot be read ({exc})") from None
    if not is_hdf5:
        raise DesignFileError(f"{where}: not an HDF5 file (a design file is HDF5, usually *.h5)")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise DesignFileError(f"{where}: HDF5 file is damaged or truncated and cannot be opened ({_short(exc)})") \
            from None
    with f:
        result = read_design_h5(f, where)
    result.path = where
    return result


def read_design_h5(f, where: str = "design file") -> DesignFile:
    """Read an open h5py.File: checks format and version, then hands over to that version's reader."""
    try:
        fmt = _text_attr(f, "format", where, "/")
        if fmt != FORMAT:
            raise DesignFileError(f"{where}: not a Friction Studio design file (root attribute format = {fmt!r}, "
                                  f"expected {FORMAT!r})")
        version = _int_attr(f, "format_version", where, "/")
        if version not in READERS:
            newest = max(READERS)
            if version > newest:
                raise DesignFileError(f"{where}: written in format_version {version} by a newer Friction Studio; "
                                      f"this version reads format_version ≤ {newest}: please update")
            raise DesignFileError(f"{where}: unknown format_version {version} (known: {sorted(READERS)})")
        return READERS[version](f, where)
    except DesignFileError:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as exc:
        raise DesignFileError(f"{where}: damaged or truncated file ({_short(exc)})") from None


@reader(1)
def _read_v1(f, where: str) -> DesignFile:
    target = None
    if "target" in f:
        g = _group(f, "target", where)
        target_max_load = _grid_max_load(g, where, "/target")
        friction = _vector(g, "friction_N", where, "/target/friction_N", N_LOADS, "N")
        mask = _vector(g, "mask", where, "/target/mask", N_LOADS, "-", dtype=bool)
        target_meta = (_text_attr(g, "source", where, "/target", default="file"),
                       _text_attr(g, "note", where, "/target", default=""),
                       _int_attr(g, "N", where, "/target", default=None),
                       _read_material(g, where),
                       # files before issue 21 made designs without the constraint
                       _text_attr(g, "validity", where, "/target", default="off"))
    designs_group = _group(f, "designs", where)
    names = list(designs_group.keys())
    if "design_order" in f.attrs:
        order = [_decode(n) for n in np.asarray(f.attrs["design_order"]).ravel()]
        names = [n for n in order if n in designs_group] + [n for n in names if n not in order]
    if not names:
        raise DesignFileError(f"{where}: /designs holds no design")
    out = DesignFile(designs=[], format_version=1, created=_text_attr(f, "created", where, "/", default=""),
                     software_version=_text_attr(f, "software_version", where, "/", default=""))
    for name in names:
        g = _group(designs_group, name, where, f"/designs/{name}")
        design, layout, valid = _read_design_v1(g, name, where)
        out.designs.append(design)
        out.layouts[name] = layout
        out.hertz_valid[name] = valid
        for key, (read_group, into) in OPTIONAL_GROUPS.items():  # readers from before a group skip it
            if key in g:
                getattr(out, into)[name] = read_group(g, name, where, design.N, layout)
        design.layout = out.layout_details.get(name)  # the layout the file was made with: shown and fabricated
        design.validation = out.validations.get(name)  # its BEM check, if the file holds one
    best = _text_attr(f, "best", where, "/", default=names[0])
    if best not in names:
        raise DesignFileError(f"{where}: root attribute best = {best!r} names no design in /designs")
    out.best = best
    if target is None and "target" in f:
        source, note, target_N, material, validity = target_meta
        N = target_N if target_N is not None else out.design(best).N
        try:
            target = Target(friction_N=friction, N=N, mask=mask, source=source, note=note, max_load_N=target_max_load,
                            material=material, validity=validity)
        except StudioError as exc:
            raise DesignFileError(f"{where}: /target is not a valid target: {exc}") from None
    out.target = target
    return out


MATERIAL_ATTRS = {"E_star": "E_star_MPa", "tau0": "tau0_MPa", "B": "B"}  # /target/material's attributes


def _read_material(g, where) -> Material:
    """/target/material (absent: free) as a Material; DesignFileError naming the attribute."""
    if "material" not in g:
        return FREE
    mg = _group(g, "material", where, "/target/material")
    ranges = {}
    for field, attr in MATERIAL_ATTRS.items():
        if attr in mg.attrs:
            lo, hi = _pair_attr(mg, attr, where, "/target/material")
            try:
                ranges[field] = check_range(field, lo, hi, f"{where}: /target/material attribute {attr}")
            except MaterialError as exc:
                raise DesignFileError(str(exc)) from None
    return Material(**ranges, name=_text_attr(mg, "preset", where, "/target/material", default=""))


def _read_design_v1(g, name, where):
    at = f"/designs/{name}"
    curve = _group(g, "curve", where, f"{at}/curve")
    max_load = _grid_max_load(curve, where, f"{at}/curve", _float_attr(g, "max_load_N", where, at, default=None))
    # A file holds real θ; the design keeps the canonical one (studio.design.load_range).
    theta = load_range.canonical_theta(_vector(g, "theta", where, f"{at}/theta", THETA_SIZE, None), max_load)
    N = _int_attr(g, "N", where, at)
    if not MIN_ASPERITIES <= N <= MAX_ASPERITIES:
        raise DesignFileError(f"{where}: {at} attribute N = {N} is outside [{MIN_ASPERITIES}, {MAX_ASPERITIES}]")
    asp = _group(g, "asperities", where, f"{at}/asperities")
    height = _vector(asp, "height_mm", where, f"{at}/asperities/height_mm", N, "mm")
    radius = _vector(asp, "radius_mm", where, f"{at}/asperities/radius_mm", N, "mm")
    component = _vector(asp, "component", where, f"{at}/asperities/component", N, "-", dtype=np.int32)
    x_mm = _vector(asp, "x_mm", where, f"{at}/asperities/x_mm", N, "mm")
    y_mm = _vector(asp, "y_mm", where, f"{at}/asperities/y_mm", N, "mm")
    if np.any(radius <= 0):
        raise DesignFileError(f"{where}: {at}/asperities/radius_mm has a radius ≤ 0 at index "
                              f"{int(np.flatnonzero(radius <= 0)[0])}")
    friction = _vector(curve, "friction_N", where, f"{at}/curve/friction_N", N_LOADS, "N")
    band = (None, None)
    if "band_p05" in curve or "band_p95" in curve:
        band = (_vector(curve, "band_p05", where, f"{at}/curve/band_p05", N_LOADS, "N"),
                _vector(curve, "band_p95", where, f"{at}/curve/band_p95", N_LOADS, "N"))
    seed = _int_attr(g, "seed", where, at)
    error = _float_attr(g, "smape_percent", where, at, default=None)
    try:
        design = Design(theta=theta, N=N, seed=seed, method=_text_attr(g, "method", where, at, default=""),
                        model=_text_attr(g, "model", where, at, default=""),
                        elapsed_s=_float_attr(g, "elapsed_s", where, at, default=0.0),
                        error_percent=error, name=name,
                        asperities=Asperities(height, radius, component), friction_N=friction,
                        band_p05=band[0], band_p95=band[1], max_load_N=max_load)
    except StudioError as exc:
        raise DesignFileError(f"{where}: {at}/theta: {exc}") from None
    for attr, index in (("E_star_MPa", E_STAR_IDX), ("tau0_MPa", TAU0_IDX), ("B", B_IDX)):
        value = _float_attr(g, attr, where, at, default=float(theta[index]))
        if not np.isclose(value, theta[index], rtol=1e-12, atol=0):
            raise DesignFileError(f"{where}: {at} attribute {attr} = {value:g} disagrees with theta[{index}] = "
                                  f"{theta[index]:g}")
    valid = bool(_attr(g, "hertz_valid", where, at, default=True))
    return design, (x_mm, y_mm), valid


def _grid_max_load(group, where, at, max_load_N=None) -> float:
    """P_max of a group's `load_N` grid: `max_load_N` (a design's attribute) if given, else the grid's last load
    (10 N in files written before load ranges); the grid must be P_max·j/128."""
    grid = _vector(group, "load_N", where, f"{at}/load_N", N_LOADS, "N")
    value = grid[-1] if max_load_N is None else max_load_N
    if not (np.isfinite(value) and value > 0):
        raise DesignFileError(f"{where}: {at} has the largest load {value:g} N; it must be positive and finite")
    if not np.allclose(grid, load_range.load_grid(value), rtol=1e-12, atol=0):
        raise DesignFileError(f"{where}: dataset {at}/load_N is not the 128-point load grid {value:g}·j/128 N")
    return float(value)


def _read_layout_group(g, name, where, n, xy) -> Layout:
    at = f"/designs/{name}/layout"
    lg = _group(g, "layout", where, at)
    touching = _vector(lg, "touching", where, f"{at}/touching", n, "-", dtype=bool)
    values = {key: _float_attr(lg, key, where, at) for key in ("base_level_mm", "flat_lowest_mm", "clearance_mm",
                                                                "relief_mm", "max_load_N")}
    sizes = {key: _pair_attr(lg, key, where, at) for key in ("footprint_mm", "plate_mm")}
    return Layout(x_mm=xy[0], y_mm=xy[1], touching=touching, **values, **sizes,
                  algorithm=_text_attr(lg, "algorithm", where, at, default=""),
                  notes=tuple(_json_attr(lg, "notes", where, at, default=[])))


def _read_validation_group(g, name, where, n, xy=None):
    from studio.design.validation import Validation

    at = f"/designs/{name}/validation"
    vg = _group(g, "validation", where, at)
    load = vg["load_N"] if "load_N" in vg else None
    k = load.shape[0] if load is not None and len(load.shape) == 1 else None
    if k is None or k == 0:
        raise DesignFileError(f"{where}: {at}/load_N is missing or not a list of loads")
    per_load = {key: _vector(vg, key, where, f"{at}/{key}", k, unit) for key, unit in _VALIDATION_PER_LOAD.items()}
    arrays = {key: _matrix(vg, key, where, f"{at}/{key}", (k, n), unit) for key, unit in
              (("asperity_load_N", "N"), ("asperity_area_mm2", "mm2"))}
    shape = _matrix(vg, "grid_shape", where, f"{at}/grid_shape", (k, 2), "-", dtype=np.int64)
    attrs = {key: _float_attr(vg, key, where, at) for key in _VALIDATION_ATTRS}
    return Validation(
        loads_N=per_load.pop("load_N"), **per_load, **arrays, grid_shape=shape,
        iterations=_vector(vg, "iterations", where, f"{at}/iterations", k, "-", dtype=np.int64),
        x_mm=_vector(vg, "x_mm", where, f"{at}/x_mm", n, "mm"), y_mm=_vector(vg, "y_mm", where, f"{at}/y_mm", n, "mm"),
        **attrs, libraries=_json_attr(vg, "libraries", where, at, default={}),
        method=_text_attr(vg, "method", where, at, default=""), notes=_json_attr(vg, "notes", where, at, default=[]),
        created=_text_attr(vg, "created", where, at, default=""))


# Optional groups of /designs/<name> this reader knows: group name → (reader, DesignFile field).
OPTIONAL_GROUPS = {"layout": (_read_layout_group, "layout_details"),
                   "validation": (_read_validation_group, "validations")}


# ----------------------------------------------------------------------------------------------- helpers

_MISSING = object()


def _group(parent, name, where, at=None):
    import h5py

    at = at or f"/{name}"
    if name not in parent:
        raise DesignFileError(f"{where}: missing group {at}")
    g = parent[name]
    if not isinstance(g, h5py.Group):
        raise DesignFileError(f"{where}: {at} is a dataset, expected a group")
    return g


def _vector(group, name, where, at, length, unit, *, dtype=np.float64, expect=None):
    import h5py

    if name not in group:
        raise DesignFileError(f"{where}: missing dataset {at}")
    ds = group[name]
    if not isinstance(ds, h5py.Dataset):
        raise DesignFileError(f"{where}: {at} is a group, expected a dataset")
    if ds.shape != (length,):
        raise DesignFileError(f"{where}: dataset {at} has shape {ds.shape}, expected ({length},)")
    if unit is not None and "unit" in ds.attrs:
        found = _decode(ds.attrs["unit"])
        if found != unit:
            raise DesignFileError(f"{where}: dataset {at} has unit {found!r}, expected {unit!r}")
    raw = ds[()]
    if dtype is bool:
        if raw.dtype != np.bool_:
            raise DesignFileError(f"{where}: dataset {at} holds {raw.dtype}, expected bool")
        return np.asarray(raw, dtype=bool)
    if not (np.issubdtype(raw.dtype, np.number)):
        raise DesignFileError(f"{where}: dataset {at} holds {raw.dtype}, expected numbers")
    values = np.asarray(raw, dtype=dtype)
    if np.issubdtype(values.dtype, np.floating):
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise DesignFileError(f"{where}: dataset {at} holds {values[bad[0]]} at index {int(bad[0])}; "
                                  "every value must be a finite number")
    if expect is not None and not np.allclose(values, expect, rtol=1e-12, atol=0):
        raise DesignFileError(f"{where}: dataset {at} is not the model's 128-point load grid")
    return values


def _matrix(group, name, where, at, shape, unit, *, dtype=np.float64):
    import h5py

    if name not in group or not isinstance(group[name], h5py.Dataset):
        raise DesignFileError(f"{where}: missing dataset {at}")
    ds = group[name]
    if ds.shape != tuple(shape):
        raise DesignFileError(f"{where}: dataset {at} has shape {ds.shape}, expected {tuple(shape)}")
    if unit is not None and "unit" in ds.attrs and _decode(ds.attrs["unit"]) != unit:
        raise DesignFileError(f"{where}: dataset {at} has unit {_decode(ds.attrs['unit'])!r}, expected {unit!r}")
    raw = ds[()]
    if not np.issubdtype(raw.dtype, np.number):
        raise DesignFileError(f"{where}: dataset {at} holds {raw.dtype}, expected numbers")
    values = np.asarray(raw, dtype=dtype)
    if not np.all(np.isfinite(values)):
        raise DesignFileError(f"{where}: dataset {at} holds a value that is not a finite number")
    return values


def _pair_attr(obj, key, where, at) -> tuple[float, float]:
    value = np.asarray(_attr(obj, key, where, at))
    if value.shape != (2,) or not np.issubdtype(value.dtype, np.number) or not np.all(np.isfinite(value)):
        raise DesignFileError(f"{where}: {at} attribute {key} is {value!r}, expected two finite numbers")
    return float(value[0]), float(value[1])


def _json_attr(obj, key, where, at, default=_MISSING):
    value = _text_attr(obj, key, where, at, default=None)
    if value is None:
        if default is _MISSING:
            raise DesignFileError(f"{where}: {at} lacks attribute {key}")
        return default
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        raise DesignFileError(f"{where}: {at} attribute {key} is not valid JSON text") from None


def _attr(obj, key, where, at, default=_MISSING):
    if key not in obj.attrs:
        if default is _MISSING:
            raise DesignFileError(f"{where}: {at} lacks attribute {key}")
        return default
    return obj.attrs[key]


def _text_attr(obj, key, where, at, default=_MISSING) -> str:
    value = _attr(obj, key, where, at, default)
    if value is default and default is not _MISSING:
        return default
    value = _decode(value)
    if not isinstance(value, str):
        raise DesignFileError(f"{where}: {at} attribute {key} is {value!r}, expected text")
    return value


def _int_attr(obj, key, where, at, default=_MISSING):
    value = _attr(obj, key, where, at, default)
    if value is default and default is not _MISSING:
        return default
    arr = np.asarray(value)
    if arr.shape != () or not (np.issubdtype(arr.dtype, np.integer) or
                                (np.issubdtype(arr.dtype, np.floating) and float(arr) == int(arr))):
        raise DesignFileError(f"{where}: {at} attribute {key} is {value!r}, expected an integer")
    return int(arr)


def _float_attr(obj, key, where, at, default=_MISSING):
    value = _attr(obj, key, where, at, default)
    if value is default and default is not _MISSING:
        return default
    arr = np.asarray(value)
    if arr.shape != () or not np.issubdtype(arr.dtype, np.number) or not np.isfinite(arr):
        raise DesignFileError(f"{where}: {at} attribute {key} is {value!r}, expected a finite number")
    return float(arr)


def _decode(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "OSU":
        return _decode(value[()])
    if isinstance(value, np.str_):
        return str(value)
    return value


def _short(exc, limit: int = 160) -> str:
    text = str(exc).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"
