"""Check a design's fabrication layout with a boundary-element solve of the whole part.

    friction-studio validate DESIGN.h5 [--design NAME] [--loads K] [--tolerance PCT] [--out REPORT]
                             [--auto-spacing] [--dry-run]

Solves the laid-out caps as one elastic body at K loads up to the design's largest load, compares
its law with the independent-asperity law the design was made with (studio.design.validation),
stores the result in DESIGN.h5 as the design's optional validation group (unless --dry-run) and
prints one JSON line. With --auto-spacing a layout outside the tolerance is spread to the
smallest clearance the BEM accepts, and that layout and its validation are stored. Exit status:
0 within tolerance, 1 outside it, 2 on bad input (one-line message; the file is left as it was).
"""
from __future__ import annotations

import json
import sys

import numpy as np


def register(subparsers) -> None:
    from studio.design.validation import DEFAULT_LOADS, DEFAULT_TOLERANCE_PERCENT

    p = subparsers.add_parser("validate", help="check a design's layout with a boundary-element solve (BEM)",
                              description=__doc__.splitlines()[0])
    p.add_argument("design_file", metavar="DESIGN.h5", help="design file written by friction-studio")
    p.add_argument("--design", metavar="NAME", default=None, help="design to validate (default: the best)")
    p.add_argument("--loads", metavar="K", type=int, default=DEFAULT_LOADS,
                   help=f"number of loads, evenly spaced up to the largest (default {DEFAULT_LOADS})")
    p.add_argument("--tolerance", metavar="PCT", type=float, default=DEFAULT_TOLERANCE_PERCENT,
                   help=f"largest accepted sMAPE between the BEM and independent laws, in %% (default "
                        f"{DEFAULT_TOLERANCE_PERCENT:g})")
    p.add_argument("--out", metavar="REPORT", default=None, help="also write the full report here (JSON)")
    p.add_argument("--auto-spacing", action="store_true",
                   help="if outside the tolerance, find the smallest clearance that passes and store that layout")
    p.add_argument("--dry-run", action="store_true", help="do not store the result in DESIGN.h5")
    p.set_defaults(run=run_validate)


def run_validate(args) -> int:
    from studio.design.validation import find_spacing, validate_design, validation_loads, design_material
    from studio.files import atomic_write_text
    from studio.jobs import drive
    from studio.io.design_file import read_design_file, update_design_file
    from studio.physics.layout import describe_layout, flat_lowest_mm

    validation_loads(args.loads)  # bad counts fail before the file is read
    f = read_design_file(args.design_file)
    design = f.design(args.design)
    a = design.asperities
    layout = f.layout_details.get(design.name)
    stored_layout = layout is not None
    if layout is None:  # a file from before layout groups: describe its positions as they are
        x, y = f.layouts[design.name]
        E_star = design_material(design.theta)[0]
        layout = describe_layout(a.height_mm, a.radius_mm, x, y, flat_lowest_mm(a.height_mm, a.radius_mm, E_star))
    report = lambda p: print(f"validate: {p.stage} {p.step}/{p.steps} {p.message}", file=sys.stderr)  # noqa: E731
    validation = drive(validate_design(design, layout, loads=args.loads, tolerance_percent=args.tolerance),
                       on_progress=report)
    out = {"design": design.name, **validation.summary(), "loads_N": [float(p) for p in validation.loads_N],
           "error_percent_per_load": [round(float(e), 4) for e in validation.error_percent]}
    spacing = None
    if args.auto_spacing and not validation.passed:
        E_star, tau0, B = design_material(design.theta)
        spacing = drive(find_spacing(a.height_mm, a.radius_mm, E_star, tau0, B, max_load_N=layout.max_load_N,
                                     start_clearance_mm=max(layout.clearance_mm, 1e-3), loads=args.loads,
                                     tolerance_percent=args.tolerance), on_progress=report)
        out["default_layout"] = {"clearance_mm": float(layout.clearance_mm),
                                 "interaction_error_percent": out["interaction_error_percent"]}
        out["spacing"] = {"reached": spacing.reached, "message": spacing.message, "tried": spacing.tried}
        if spacing.validation is not None:
            layout, validation = spacing.layout, spacing.validation
            out.update({"design": design.name, **validation.summary()})
            out["footprint_mm"] = list(layout.footprint_mm)
    if not args.dry_run:
        changed = spacing is not None and spacing.validation is not None
        update_design_file(args.design_file, design.name, layout=layout if (changed or not stored_layout) else None,
                           validation=validation)
        out["stored_in"] = str(args.design_file)
    if args.out:
        full = {**out, "friction_bem_N": validation.friction_bem_N.tolist(),
                "friction_independent_N": validation.friction_independent_N.tolist(),
                "area_bem_mm2": validation.area_bem_mm2.tolist(),
                "area_independent_mm2": validation.area_independent_mm2.tolist(),
                "area_cells_mm2": validation.area_cells_mm2.tolist(), "flat_bem_mm": validation.flat_bem_mm.tolist(),
                "cell_mm": validation.cell_mm.tolist(), "grid_shape": validation.grid_shape.tolist(),
                "iterations": validation.iterations.tolist(), "method": validation.method,
                "libraries": validation.libraries, "notes": validation.notes,
                "layout": {"clearance_mm": float(layout.clearance_mm), "footprint_mm": list(layout.footprint_mm),
                           "plate_mm": list(layout.plate_mm), "base_level_mm": float(layout.base_level_mm),
                           "flat_lowest_mm": float(layout.flat_lowest_mm),
                           "x_mm": np.asarray(layout.x_mm).tolist(), "y_mm": np.asarray(layout.y_mm).tolist()}}
        atomic_write_text(args.out, json.dumps(full, indent=1) + "\n")
        out["report"] = str(args.out)
    print(json.dumps(out))
    return 0 if validation.passed else 1
