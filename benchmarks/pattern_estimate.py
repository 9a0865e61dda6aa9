"""How well the contact-pattern models' interaction estimate follows the BEM, in one run.

    python benchmarks/pattern_estimate.py [--data data/patterns-v2] [--shards K] [--json OUT.json]

For every isolated or interacting (layout, load) pair of a contact-pattern dataset (docs/patterns.md), the
estimate of studio.physics.patterns.interaction_estimate beside the BEM's area change: correlation, median
absolute error [percentage points], and the share of pairs whose class (|BEM change| > 2 %) the estimate
alone gets right with the 2 % threshold, for variants of the estimate (rounds of the load part, the
contact-shape term on or off) and its time per layout. The shipped variant is the default (8 rounds, shape).
Prints one JSON line and a table.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402

VARIANTS = (("loads only, 4 rounds (the first version)", 4, False), ("loads only, 8 rounds", 8, False),
            ("loads + shape, 4 rounds", 4, True), ("loads + shape, 8 rounds (shipped)", 8, True),
            ("loads + shape, 12 rounds", 12, True))


def main(argv=None) -> int:
    from studio.data.patterns import load_patterns
    from studio.models.patterns_training import sample_stats
    from studio.physics.patterns import AREA_TOLERANCE_PERCENT, INTERACTING, ISOLATED, classify, interaction_estimate
    from studio.physics.theta import E_STAR_IDX

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="data/patterns-v2", help="contact-pattern dataset (default data/patterns-v2)")
    ap.add_argument("--shards", type=int, default=None, help="only shards 0 … K − 1 (default: all)")
    ap.add_argument("--json", default=None, help="also write the JSON here")
    args = ap.parse_args(argv)
    data = load_patterns(args.data, shards=args.shards)
    stats = sample_stats(data)
    ok = data["sample_status"] == 0
    label = classify(stats["area_change_percent"], stats["coalesced_load_share"], stats["largest_load_share"])
    bem = stats["area_change_percent"]
    chosen = ok & np.isin(label, [ISOLATED, INTERACTING])
    rows = []
    for name, steps, shape in VARIANTS:
        estimate = np.full(bem.size, np.nan)
        t0, layouts = time.perf_counter(), 0
        for row in range(data["layout_N"].size):
            mine = np.flatnonzero((data["sample_layout_row"] == row) & ok)
            if not mine.size:
                continue
            n = int(data["layout_N"][row])
            h, R, x, y = (data[f"layout_{k}"][row, :n].astype(np.float64)
                          for k in ("height_mm", "radius_mm", "x_mm", "y_mm"))
            E = float(data["layout_theta"][row][E_STAR_IDX])
            flat = data["sample_flat_independent_mm"][mine].astype(np.float64)
            load = data["sample_independent_load_N"][mine, :n].astype(np.float64)
            estimate[mine] = interaction_estimate(x, y, R, E, h[None, :] - flat[:, None], load, steps=steps,
                                                  shape=shape)[0]
            layouts += 1
        seconds = time.perf_counter() - t0
        e, b = estimate[chosen], bem[chosen]
        rows.append({"variant": name, "rounds": steps, "shape": shape, "pairs": int(chosen.sum()),
                     "correlation": float(np.corrcoef(e, b)[0, 1]),
                     "median_abs_error_points": float(np.median(np.abs(e - b))),
                     "class_from_estimate_percent": float(100 * np.mean((np.abs(e) > AREA_TOLERANCE_PERCENT)
                                                                       == (label[chosen] == INTERACTING))),
                     "ms_per_layout": 1000 * seconds / max(layouts, 1)})
    out = {"benchmark": "pattern_estimate", "data": args.data, "shards": len(data["manifest"]["shards"]),
           "rows": rows}
    print(json.dumps(out))
    if args.json:
        from studio.files import atomic_write_text
        atomic_write_text(args.json, json.dumps(out, indent=1))
    print(f"\n{'variant':<44}{'corr':>8}{'median |err|':>14}{'class from |est| > 2 %':>24}{'ms/layout':>11}")
    for r in rows:
        print(f"{r['variant']:<44}{r['correlation']:>8.4f}{r['median_abs_error_points']:>14.3f}"
              f"{r['class_from_estimate_percent']:>23.2f}%{r['ms_per_layout']:>11.2f}")
    print(f"({rows[0]['pairs']} isolated or interacting pairs of {args.data})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
