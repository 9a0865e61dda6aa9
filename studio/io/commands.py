"""Commands on design files: re-simulate a stored design; export one for fabrication.

    friction-studio simulate DESIGN.h5 [--design NAME] [--out CURVE.csv]
    friction-studio export DESIGN.h5 [--design NAME] [--stl OUT.stl] [--height-map OUT.png|.csv|.npy]
                    [--pixel-mm 0.02] [--ascii]

`simulate` uses the float64 reference model on the stored asperity list, so anyone can check a
design file independently of the seed and θ. Prints or writes the curve, and the largest relative
difference against the curve stored in the file. `export` writes the design's asperities on their
stored fabrication layout as an STL mesh and/or a height map (studio.io.export) and prints one
JSON line naming what it wrote.
"""
from __future__ import annotations

import json
import sys

import numpy as np


def register(subparsers) -> None:
    p = subparsers.add_parser("simulate", help="re-simulate a design stored in a design file",
                              description=__doc__.splitlines()[0])
    p.add_argument("design_file", metavar="DESIGN.h5", help="design file written by friction-studio")
    p.add_argument("--design", metavar="NAME", default=None, help="design to simulate (default: the best)")
    p.add_argument("--out", metavar="CURVE.csv", default=None,
                   help="write the curve here (load (N), friction (N)); default: print it")
    p.set_defaults(run=run_simulate)

    e = subparsers.add_parser("export", help="export a design of a design file as an STL mesh and/or a height map",
                              description="Write one design's asperities, on the fabrication layout stored in "
                                          "the design file, as an STL mesh [mm] and/or a height map.")
    e.add_argument("design_file", metavar="DESIGN.h5", help="design file written by friction-studio")
    e.add_argument("--design", metavar="NAME", default=None, help="design to export (default: the best)")
    e.add_argument("--stl", metavar="OUT.stl", default=None, help="write the part (plate and asperities) as STL")
    e.add_argument("--height-map", metavar="OUT", default=None,
                   help="write the surface height map: .png (16-bit, scale in its text chunk), .csv or .npy [mm]")
    e.add_argument("--pixel-mm", type=float, default=0.02, metavar="MM", help="height map pixel size (default 0.02)")
    e.add_argument("--ascii", action="store_true", help="ASCII STL instead of binary")
    e.set_defaults(run=run_export)


def resimulate(design_file, name: str | None = None):
    """(design, law (128,) [N] on the design's own grid, max relative difference vs the stored curve) for one
    design of a DesignFile (its real asperities at its real loads)."""
    from studio.physics import MATERIAL_IDX, friction_law

    d = design_file.design(name)
    a = d.asperities
    E_star, tau0, B = (float(v) for v in d.theta[MATERIAL_IDX])
    law = np.asarray(friction_law(a.height_mm, a.radius_mm, E_star, tau0, B, loads_N=d.load_N), dtype=np.float64)
    stored = np.asarray(d.friction_N, dtype=np.float64)
    difference = float(np.max(np.abs(law - stored) / np.abs(stored)))
    return d, law, difference


def run_simulate(args) -> int:
    from studio.io.csv_target import write_curve_csv
    from studio.io.design_file import read_design_file

    f = read_design_file(args.design_file)
    d, law, difference = resimulate(f, args.design)
    if args.out:
        write_curve_csv(args.out, d.load_N, law, ("load (N)", "friction (N)"),
                        comment=f"design {d.name} of {args.design_file}, re-simulated from its asperities")
        print(json.dumps({"design": d.name, "out": str(args.out), "max_relative_difference": difference}))
    else:
        out = sys.stdout
        out.write("load (N),friction (N)\n")
        for p, fr in zip(d.load_N, law):
            out.write(f"{p:.10g},{fr:.10g}\n")
        out.write(f"# design {d.name}: max relative difference vs stored curve {difference:.3e}\n")
    return 0


def run_export(args) -> int:
    from studio.errors import StudioError
    from studio.io.design_file import read_design_file
    from studio.io.export import Geometry, save_height_map, save_stl

    if not (args.stl or args.height_map):
        raise StudioError("nothing to write: give --stl OUT.stl and/or --height-map OUT.png|.csv|.npy")
    f = read_design_file(args.design_file)
    design = f.design(args.design)
    geometry = Geometry.from_design_file(f, design.name)
    out = {"design": design.name, "N": design.N}
    if args.height_map:
        out["height_map"] = str(save_height_map(args.height_map, geometry, pixel_mm=args.pixel_mm))
    if args.stl:
        out["stl"] = str(save_stl(args.stl, geometry, binary=not args.ascii))
    print(json.dumps(out))
    return 0
