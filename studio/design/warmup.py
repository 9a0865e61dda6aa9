"""Compile, once, what a first design and the studio's first screen run, into JAX's persistent cache.

    friction-studio warm-up [--asperities 64]

A newcomer's first `friction-studio design` otherwise pays 10–30 s of XLA compilation before its
search, and the studio's first candidates wait for the same (docs/packaging.md). The programs are
the same for every target of an asperity bucket (N padded to a multiple of 32; the engines
simulate in fixed blocks of rows), so running the real code paths once on a stand-in target
fills the cache (studio.physics.enable_compilation_cache) for every later process: the command
line, the studio and its worker processes. `bash packaging/quickstart.sh setup` runs it.
"""
from __future__ import annotations

import time

DEFAULT_ASPERITIES = (64,)  # the studio's default N and the README's example


def warm_up(asperities=DEFAULT_ASPERITIES, log=lambda text: None) -> dict:
    """Run the candidate engine, a short refinement and the inspector's band/contact computations
    for each asperity count, on a stand-in target; returns {"asperities", "seconds"}."""
    from studio.design import engines
    from studio.design.core import Target
    from studio.design.details import compute_details
    from studio.physics import LOAD_GRID_N

    t0 = time.perf_counter()
    mask = (LOAD_GRID_N >= 1.0) & (LOAD_GRID_N <= 6.0)  # a measured range, like the example CSV's
    for n in asperities:
        t = time.perf_counter()
        target = Target(0.05 + 0.3 * LOAD_GRID_N ** 0.8, int(n), mask=mask, source="warm-up")
        # Evaluation budgets: the same phases whatever the machine, and only as long as compiling takes.
        found = engines.run("candidates", target, max_evaluations=64, time_budget_s=600.0)
        best = found[0]
        engines.run("hybrid", target, start=best, max_evaluations=400, time_budget_s=600.0)
        compute_details(best)  # what the inspector shows of the selected design: band, layout, contacts
        log(f"N = {int(n)}: {time.perf_counter() - t:.1f} s")
    return {"asperities": [int(n) for n in asperities], "seconds": round(time.perf_counter() - t0, 1)}
