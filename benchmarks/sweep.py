"""Janus property sweep: designs whose exact friction coefficient at one load walks through requested values.

    python benchmarks/sweep.py [--model models/janus-compact.safetensors] [--asperities 64]
                               [--from 0.2] [--to 1.5] [--steps 50] [--load 5] [--seeds 8] [--json OUT]

Prints one JSON line and a short table: Spearman rank correlation of the decoded designs' exact
μ = F(load)/load with the requested values and the worst relative error [%], for the chosen
realisation (closest of --seeds seeds) and for the first seed alone, beside the head's own
prediction. Goal (issue 18): Spearman ≥ 0.99 and every step within 2 %.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from studio.physics import enable_float64  # noqa: E402

enable_float64()  # an entry point: the sweep reports the exact (float64) μ


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="Janus weights (default: the shipped models/janus-compact)")
    ap.add_argument("--asperities", type=int, action="append", default=None, help="N (repeatable; default 64)")
    ap.add_argument("--from", dest="lo", type=float, default=0.2)
    ap.add_argument("--to", dest="hi", type=float, default=1.5)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--load", type=float, default=5.0, help="load [N] (a load-grid point)")
    ap.add_argument("--seeds", type=int, default=8, help="realisation seeds tried per step")
    ap.add_argument("--rounds", type=int, default=3, help="correction rounds per step (1: the plain walk)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)

    import numpy as np
    import torch

    torch.set_num_threads(1)
    from studio.design.sweep import property_sweep, sweep_report
    from studio.models import load_janus

    janus = load_janus(args.model, device="cpu")
    mu = np.linspace(args.lo, args.hi, args.steps)
    out = {"model": args.model or "models/janus-compact.safetensors", "load_N": args.load, "from": args.lo,
           "to": args.hi, "steps": args.steps, "seeds": args.seeds, "rounds": args.rounds, "runs": {}}
    for n in args.asperities or [64]:
        property_sweep(janus, n, mu[:2], args.load, seeds=range(args.seeds))  # compile outside the timing
        t0 = time.perf_counter()
        steps = property_sweep(janus, n, mu, args.load, seeds=range(args.seeds), rounds=args.rounds)
        wall = time.perf_counter() - t0
        report = sweep_report(steps)
        report["wall_s"] = wall
        report["mu"] = [[s.requested_mu, s.mu, s.mu_first_seed, s.mu_predicted, s.seed] for s in steps]
        out["runs"][str(n)] = report
    if args.json:
        from studio.files import atomic_write_bytes
        atomic_write_bytes(args.json, (json.dumps(out, indent=1) + "\n").encode())
    print(json.dumps({k: v for k, v in out.items() if k != "runs"} | {
        "runs": {n: {k: v for k, v in r.items() if k != "mu"} for n, r in out["runs"].items()}}))
    print(f"sweep of μ at {args.load:g} N from {args.lo:g} to {args.hi:g} in {args.steps} steps, "
          f"{args.seeds} seeds, {args.rounds} correction round(s)")
    print(f"{'N':>4} {'which':>12} {'Spearman':>9} {'max rel %':>10} {'median rel %':>12} {'within 2 %':>10} "
          f"{'monotone':>8} {'wall s':>7}")
    for n, r in out["runs"].items():
        for name in ("chosen_seed", "first_seed", "predicted"):
            e = r[name]
            print(f"{n:>4} {name:>12} {e['spearman']:9.4f} {e['max_rel_error_percent']:10.2f} "
                  f"{e['median_rel_error_percent']:12.2f} {e['steps_within_2_percent']:>5}/{e['steps']:<4} "
                  f"{str(e['monotone']):>8} {r['wall_s']:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
