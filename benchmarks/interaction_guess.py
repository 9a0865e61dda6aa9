"""How well the spacing search's guess knows the BEM's interaction error, in one run.

    python benchmarks/interaction_guess.py [--designs FILE.json] [--targets all|A:B|name,name]
                                           [--clearances 0.05,0.4] [--loads 16] [--json OUT.json]

The hybrid designs of the simulated benchmark targets (benchmarks/hybrid_designs.py, the same designs
benchmarks/bem.py judges), each laid out at the given clearances; at each layout the interaction error
(sMAPE of F = τ0·A + B·P against the independent-asperity law, `--loads` loads) from:
  BEM          studio.design.validation.validate_layout (the truth the search ends on),
  estimate     studio.design.validation.estimated_interaction_error (the search's first guess and the
               Validation tab's clearance estimate: loads moved by the neighbours' push, contacts
               sharpened by its curvature; milliseconds),
  first-order  studio.physics.contact.first_order_contacts (loads moved with Hertz pressure fields,
               each contact's shape kept; the guess before the estimate).
Prints one JSON line and a table (and each guess's ratio to the BEM's error).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402

from benchmarks.hybrid_designs import hybrid_designs, realised  # noqa: E402
from studio.physics import enable_float64  # noqa: E402

enable_float64()


def main(argv=None) -> int:
    from studio.design.benchmark import select
    from studio.design.validation import estimated_interaction_error, validate_layout, validation_loads
    from studio.jobs import drive
    from studio.physics import smape
    from studio.physics.contact import ContactError, Interface, first_order_contacts, independent_contacts
    from studio.physics.layout import plan_layout

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--designs", default=None, help="hybrid designs JSON (benchmarks/hybrid_designs.py); made if absent")
    ap.add_argument("--targets", default="all", help="all, A:B (a slice) or names (default all)")
    ap.add_argument("--clearances", default="0.05,0.4", help="clearances [mm], comma-separated (default 0.05,0.4)")
    ap.add_argument("--loads", type=int, default=16, help="loads per validation (default 16)")
    ap.add_argument("--json", default=None, help="also write the JSON here")
    args = ap.parse_args(argv)
    designs = select(hybrid_designs(5.0, cache=args.designs, log=lambda s: print(s, file=sys.stderr)), args.targets)
    loads = validation_loads(args.loads)
    rows = []
    for d in designs:
        a, E, tau0, B = realised(d)
        h, R = a.height_mm, a.radius_mm
        for c in (float(v) for v in args.clearances.split(",")):
            layout = plan_layout(h, R, E, clearance_mm=c)
            row = {"target": d["name"], "N": int(d["N"]), "clearance_mm": c}
            t0 = time.perf_counter()
            row["estimate_percent"] = estimated_interaction_error(h, R, layout.x_mm, layout.y_mm, E, tau0, B, loads)
            row["estimate_ms"] = 1000 * (time.perf_counter() - t0)
            itf = Interface.of(h, R, layout.x_mm, layout.y_mm, E)
            t0 = time.perf_counter()
            _, _, area_1 = first_order_contacts(itf, loads)
            _, _, area_0 = independent_contacts(itf, loads)
            row["first_order_percent"] = float(smape(tau0 * area_1.sum(axis=1) + B * loads,
                                                     tau0 * area_0.sum(axis=1) + B * loads))
            row["first_order_ms"] = 1000 * (time.perf_counter() - t0)
            try:
                v = drive(validate_layout(h, R, layout, E, tau0, B, loads=args.loads, grid_check=False))
                row["bem_percent"], row["bem_s"] = v.interaction_error_percent, v.elapsed_s
            except ContactError as exc:
                row["bem_percent"], row["bem_note"] = None, str(exc)
            rows.append(row)
            print(f"{d['name']} c={c:g}: BEM {row['bem_percent']}, estimate {row['estimate_percent']:.3f}, "
                  f"first-order {row['first_order_percent']:.3f}", file=sys.stderr, flush=True)
    solved = [r for r in rows if r["bem_percent"]]
    summary = {}
    for key in ("estimate_percent", "first_order_percent"):
        ratio = np.array([r[key] / r["bem_percent"] for r in solved])
        diff = np.array([abs(r[key] - r["bem_percent"]) for r in solved])
        summary[key] = {"ratio_to_bem_min": float(ratio.min()), "ratio_to_bem_median": float(np.median(ratio)),
                        "ratio_to_bem_max": float(ratio.max()), "abs_diff_median": float(np.median(diff)),
                        "abs_diff_max": float(diff.max()),
                        "same_side_of_1_percent": int(sum((r[key] <= 1.0) == (r["bem_percent"] <= 1.0)
                                                          for r in solved))}
    out = {"benchmark": "interaction_guess", "layouts": len(rows), "solved": len(solved), "summary": summary,
           "rows": rows}
    print(json.dumps(out))
    if args.json:
        from studio.files import atomic_write_text
        atomic_write_text(args.json, json.dumps(out, indent=1))
    print(f"\n{'target':<8}{'N':>5}{'clear.':>8}{'BEM %':>8}{'estimate':>10}{'first-order':>13}")
    for r in rows:
        bem = "–" if r["bem_percent"] is None else f"{r['bem_percent']:.3f}"
        print(f"{r['target']:<8}{r['N']:>5}{r['clearance_mm']:>8g}{bem:>8}{r['estimate_percent']:>10.3f}"
              f"{r['first_order_percent']:>13.3f}")
    for key, s in summary.items():
        print(f"{key}: ratio to the BEM {s['ratio_to_bem_min']:.2f}–{s['ratio_to_bem_max']:.2f} (median "
              f"{s['ratio_to_bem_median']:.2f}), |difference| median {s['abs_diff_median']:.3f}, max "
              f"{s['abs_diff_max']:.3f} points; on the BEM's side of 1 %: {s['same_side_of_1_percent']} of {len(solved)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
