"""The hybrid engine's best design for each simulated target of the benchmark set (shared by layout.py and bem.py).

    designs = hybrid_designs(budget_s=5.0, cache="FILE.json")   # [{"name", "N", "seed", "theta", ...}]

With `cache`, designs are read from that JSON file when it exists and written there when made,
so the layout and BEM benchmarks can judge the very same designs (a run of each takes the hybrid
engine ~4 min for the 40 targets).
"""
from __future__ import annotations

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402


def hybrid_designs(budget_s: float = 5.0, seed: int = 0, cache: str | None = None, log=print) -> list[dict]:
    from studio.design import Target, run
    from studio.design.benchmark import load_targets, select

    if cache and os.path.exists(cache):
        with open(cache) as fh:
            return json.load(fh)["designs"]
    out = []
    for t in select(load_targets(), "simulated"):
        target = Target(np.asarray(t["friction_N"], dtype=np.float64), int(t["N"]), source=f"bench:{t['name']}")
        t0 = time.perf_counter()
        best = run("hybrid", target, time_budget_s=budget_s, seed=seed)[0]
        out.append({"name": t["name"], "N": best.N, "seed": best.seed, "theta": best.theta.tolist(),
                    "smape_percent": best.error_percent, "design_s": time.perf_counter() - t0})
        log(f"hybrid {t['name']} N={best.N}: {best.error_percent:.3f} % in {time.perf_counter() - t0:.1f} s")
    if cache:
        from studio.files import atomic_write_text
        atomic_write_text(cache, json.dumps({"budget_s": budget_s, "seed": seed, "designs": out}))
    return out


def realised(design: dict):
    """(asperities, E* [MPa], τ0 [MPa], B) of a design dict."""
    from studio.physics import realize
    from studio.physics.theta import B_IDX, E_STAR_IDX, TAU0_IDX

    theta = np.asarray(design["theta"], dtype=np.float64)
    return (realize(theta, int(design["N"]), int(design["seed"])), float(theta[E_STAR_IDX]),
            float(theta[TAU0_IDX]), float(theta[B_IDX]))
