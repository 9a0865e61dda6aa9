"""N: auto on random simulated targets: what it proposes, what the smaller N gives up, and how long it takes.

    python benchmarks/auto_n.py [--targets 8] [--seed 7] [--K 16] [--json OUT]

Each target is the exact law of a random θ (the box, uniform, `--seed`) at N = 256 on the 10 N grid.
studio.design.auto_n.auto_n runs the shipped CVAE's candidates at the nine default counts (the
studio's and `design --asperities auto`'s job, K per count). Reported per target: each count's best
sMAPE, the best N, the smallest good-enough N (the rule in docs/gui.md) and the sMAPE it gives up,
and the job's wall time once compiled (a first run of all nine counts first compiles each bucket:
timed apart, as `compile_s`). Prints one JSON line and a table; `uptime`'s load is recorded.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from studio.physics import enable_float64  # noqa: E402

enable_float64()  # an entry point


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--K", type=int, default=16, help="candidates per count (default 16, the studio's)")
    parser.add_argument("--json", metavar="OUT")
    args = parser.parse_args()

    import numpy as np

    from studio.design.auto_n import asperity_counts, auto_n
    from studio.design.core import Target
    from studio.files import atomic_write_bytes
    from studio.jobs import drive
    from studio.models import load_generator
    from studio.physics import THETA_SIZE, from_unit, simulate

    generator = load_generator()
    rng = np.random.default_rng(args.seed)
    thetas = [from_unit(rng.random(THETA_SIZE)) for _ in range(args.targets)]
    targets = [Target(simulate(t, 256, i), 64, source=f"random-{i}") for i, t in enumerate(thetas)]
    t0 = time.perf_counter()
    drive(auto_n(targets[0], count=args.K, generator=generator))  # compiles every bucket once
    compile_s = time.perf_counter() - t0
    rows = []
    for t in targets:
        t0 = time.perf_counter()
        r = drive(auto_n(t, count=args.K, generator=generator))
        wall = time.perf_counter() - t0
        rows.append({"target": t.source, "wall_s": round(wall, 3), **r.summary(),
                     "given_up_points": round(r.smallest_good_row.error_percent - r.best_row.error_percent, 4)})
    load = os.getloadavg()
    result = {"counts": asperity_counts(), "K": args.K, "compile_s": round(compile_s, 2),
              "load_1min": round(load[0], 2), "rows": rows,
              "median_wall_s": float(np.median([r["wall_s"] for r in rows])),
              "smallest_good_N": [r["smallest_good_N"] for r in rows], "best_N": [r["best_N"] for r in rows]}
    for r in rows:
        r.pop("rule")
    if args.json:
        atomic_write_bytes(args.json, json.dumps(result, indent=1).encode())
    print(json.dumps(result))
    print(f"{'target':10} {'best N':>6} {'best %':>7} {'small N':>7} {'small %':>7} {'given up':>8} {'wall s':>6}")
    for r in rows:
        e = dict(zip(r["counts"], r["best_smape_percent"]))
        print(f"{r['target']:10} {r['best_N']:6d} {e[r['best_N']]:7.2f} {r['smallest_good_N']:7d} "
              f"{e[r['smallest_good_N']]:7.2f} {r['given_up_points']:8.2f} {r['wall_s']:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
