"""Do the contact-pattern labels depend on the grid? The dataset's grid beside validation's and a finer one.

    python benchmarks/pattern_labels.py [--designs 30] [--first 5000] [--seed 19] [--json PATH]

Designs `first` .. `first + designs − 1` of the pattern dataset's recipe (studio.data.patterns: the same
layout rules, clearances and loads; indices past the dataset's own, so none of them is in it), their
first layout at every other of its loads, each solved at 4 (the dataset's), 5 (validation's) and 8
cells per contact radius. Prints one JSON line (label agreement, area-change differences, CPU
seconds per solve at each grid) and a short table.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402

GRIDS = (4.0, 5.0, 8.0)


def main(argv=None) -> int:
    from studio.data.patterns import PatternParameters, lay_out, layout_plan
    from studio.data.sampling import sample_designs
    from studio.physics import LOAD_GRID_N, realize
    from studio.physics.theta import E_STAR_IDX
    from studio.physics.contact import ContactError, Interface
    from studio.physics.patterns import PATTERNS, solve_pattern

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--designs", type=int, default=30)
    ap.add_argument("--first", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=19)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    params = PatternParameters(seed=args.seed, designs=args.first + args.designs)
    theta, counts, seeds = sample_designs(args.seed, args.first, args.designs)
    load_before = os.getloadavg()[0]
    rows = []
    for i in range(args.designs):
        a = realize(theta[i].astype(np.float64), int(counts[i]), int(seeds[i]))
        E = float(theta[i][E_STAR_IDX])
        rules, clearances, loads = layout_plan(params, args.first + i)
        x, y, _ = lay_out(a.height_mm, a.radius_mm, E, rules[0], clearances[0])
        itf = Interface.of(a.height_mm, a.radius_mm, x, y, E)
        for load in LOAD_GRID_N[loads[0][1::2]]:
            row = {"design": args.first + i, "rule": rules[0], "clearance_mm": clearances[0], "load_N": float(load)}
            try:
                for cells in GRIDS:
                    t0 = time.process_time()
                    name, stats = solve_pattern(itf, float(load), cells_per_radius=cells, budget_cells=1024 ** 2)
                    row[str(cells)] = {"pattern": name, "area_change_percent": stats.area_change_percent,
                                       "coalesced_load_share": stats.coalesced_load_share,
                                       "largest_load_share": stats.largest_load_share,
                                       "cpu_s": time.process_time() - t0}
            except ContactError as exc:
                print(f"design {args.first + i} at {load:g} N: {exc}", file=sys.stderr)
                continue
            rows.append(row)
            print(row["design"], f"{load:6.3f}", *(f"{row[str(c)]['pattern']:>11} {row[str(c)]['area_change_percent']:+7.3f}"
                                                    for c in GRIDS), file=sys.stderr, flush=True)
    ref = str(GRIDS[-1])
    summary = {}
    for cells in GRIDS[:-1]:
        key = str(cells)
        agree = [r[key]["pattern"] == r[ref]["pattern"] for r in rows]
        diff = [abs(r[key]["area_change_percent"] - r[ref]["area_change_percent"]) for r in rows]
        summary[f"{key}_vs_{ref}"] = {"label_agreement": float(np.mean(agree)), "pairs": len(rows),
                                      "area_change_abs_diff_median": float(np.median(diff)),
                                      "area_change_abs_diff_p95": float(np.percentile(diff, 95)),
                                      "area_change_abs_diff_max": float(np.max(diff))}
    cpu = {str(c): float(np.median([r[str(c)]["cpu_s"] for r in rows])) for c in GRIDS}
    counts_by_grid = {str(c): {p: sum(r[str(c)]["pattern"] == p for r in rows) for p in PATTERNS} for c in GRIDS}
    result = {"benchmark": "pattern_labels", "designs": args.designs, "first": args.first, "seed": args.seed,
              "reference_cells_per_radius": GRIDS[-1], "agreement": summary, "cpu_s_median": cpu,
              "patterns": counts_by_grid,
              "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)]}
    if args.json:
        from studio.files import atomic_write_text
        atomic_write_text(args.json, json.dumps({**result, "rows": rows}, indent=1))
    print(json.dumps(result))
    print(f"{'cells/radius':>12} {'agree with 8':>13} {'|ΔA| median':>12} {'p95':>7} {'max':>7} {'CPU s':>7}")
    for cells in GRIDS[:-1]:
        s = summary[f"{cells}_vs_{ref}"]
        print(f"{cells:>12g} {100 * s['label_agreement']:>12.1f}% {s['area_change_abs_diff_median']:>12.3f} "
              f"{s['area_change_abs_diff_p95']:>7.3f} {s['area_change_abs_diff_max']:>7.3f} {cpu[str(cells)]:>7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
