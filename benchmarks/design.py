"""Inverse-design benchmark: every engine under the same time budget per target, in one run.

    python benchmarks/design.py [--targets all|simulated|analytic|A:B|name,name] [--engines a,b]
                                [--budget 5] [--seed 0] [--json OUT.json]
                                [--max-load P[,P...]] [--evaluations E]

--max-load runs the same targets, scaled to each load range (0, P] (physics.md §2: the 10 N law
times P/10 N on the grid P·j/128), with the same engine and budget, interleaved per target, and
summarises each range (`engine @ P N`); a range listed twice is run twice (run-to-run noise).
--evaluations caps each run's evaluations too (a budget the machine's load does not change).
--variants today,valid,own-material runs each engine as it was (small-strain validity no constraint),
with the validity constraint (the default) and with the material fixed to each simulated target's own
(E*, τ0, B), and adds the share of valid designs and the figures on the targets whose own design is valid.

Prints one JSON line (budget, per-engine summary) and a short table: mean / median / p95
functional sMAPE [%] on the simulated targets, median time [s] to reach 2 %, 1 %, 0.5 % (from
the Progress stream; n = targets that reached it), the median wall time per target, and the
analytic laws with where each is out of reach. JIT compilation happens in a warm-up before the timed runs. A full run is
4 engines × 50 targets × 5 s ≈ 17 min plus warm-up: run it with nohup.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from studio.design.benchmark import load_targets, run_benchmark, select, table, write_json  # noqa: E402
from studio.physics import enable_float64  # noqa: E402

enable_float64()  # an entry point

ALL_ENGINES = "candidates,vae_cmaes,cmaes,hybrid"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", default="all", help="all, simulated, analytic, A:B (index slice) or names")
    ap.add_argument("--engines", default=ALL_ENGINES)
    ap.add_argument("--budget", type=float, default=5.0, help="seconds per engine and target")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", default=None, help="benchmark set JSON (default resources/benchmarks/design-targets.json)")
    ap.add_argument("--json", help="also write the full result (every run) here")
    ap.add_argument("--max-load", default="10", metavar="P[,P...]",
                    help="load ranges (0, P] [N] to run the targets on, e.g. 0.2,10,500 (default 10)")
    ap.add_argument("--evaluations", type=int, default=None, metavar="E", help="at most E evaluations per run")
    ap.add_argument("--variants", default=None, metavar="V[,V...]",
                    help="issue 21's rows: today (validity no constraint), valid (the default constraint), "
                         "own-material (material fixed to each simulated target's own E*, τ0, B; validity on)")
    args = ap.parse_args(argv)
    try:
        max_loads = [float(v) for v in args.max_load.split(",") if v.strip()]
    except ValueError:
        ap.error(f"--max-load {args.max_load!r}: give loads in N such as 0.2,10,500")

    targets = select(load_targets(args.set), args.targets)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    result = run_benchmark(targets, engines, budget_s=args.budget, seed=args.seed,
                           log=lambda s: print(s, file=sys.stderr, flush=True), max_loads=max_loads,
                           max_evaluations=args.evaluations,
                           variants=[v.strip() for v in args.variants.split(",")] if args.variants else None)
    if args.json:
        write_json(args.json, result)
    print(json.dumps({"budget_s": result["budget_s"], "targets": len(targets), "summary": result["summary"]}))
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
