"""Re-simulate a design stored in a design file from its own asperities and material.

    friction-studio simulate DESIGN.h5 [--design NAME] [--out CURVE.csv]

Uses the float64 reference model on the stored asperity list, so anyone can check a
design file independently of the seed and θ. Prints or writes the curve, and the
largest relative difference against the curve stored in the file.
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


def resimulate(design_file, name: str | None = None):
    """(design, law (128,) [N], max relative difference vs the stored curve) for one design of a DesignFile."""
    from studio.physics import MATERIAL_IDX, friction_law

    d = design_file.design(name)
    a = d.asperities
    E_star, tau0, B = (float(v) for v in d.theta[MATERIAL_IDX])
    law = np.asarray(friction_law(a.height_mm, a.radius_mm, E_star, tau0, B), dtype=np.float64)
    stored = np.asarray(d.friction_N, dtype=np.float64)
    difference = float(np.max(np.abs(law - stored) / np.abs(stored)))
    return d, law, difference


def run_simulate(args) -> int:
    from studio.io.csv_target import write_curve_csv
    from studio.io.design_file import read_design_file
    from studio.physics import LOAD_GRID_N

    f = read_design_file(args.design_file)
    d, law, difference = resimulate(f, args.design)
    if args.out:
        write_curve_csv(args.out, LOAD_GRID_N, law, ("load (N)", "friction (N)"),
                        comment=f"design {d.name} of {args.design_file}, re-simulated from its asperities")
        print(json.dumps({"design": d.name, "out": str(args.out), "max_relative_difference": difference}))
    else:
        out = sys.stdout
        out.write("load (N),friction (N)\n")
        for p, fr in zip(LOAD_GRID_N, law):
            out.write(f"{p:.10g},{fr:.10g}\n")
        out.write(f"# design {d.name}: max relative difference vs stored curve {difference:.3e}\n")
    return 0
