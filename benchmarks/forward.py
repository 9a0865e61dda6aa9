"""Forward-model throughput: the shipped solver against a naive bisection baseline, same run.

    python benchmarks/forward.py [--batch 1024] [--repeats 5] [--json OUT.json]

Prints one JSON object and a short table. Curves/s are for float32 batches of
random designs from the θ box (realisation included), median of `repeats` runs.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from functools import partial

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from studio.physics import friction  # noqa: E402
from studio.physics.realize import asperities_from_draws, base_draws, simulate_batch  # noqa: E402
from studio.physics.theta import from_unit  # noqa: E402

BISECTION_STEPS = 40


def _naive_single(theta, n, seed, loads, width):
    """Baseline: 40 bisection steps over every asperity for every load, d·sqrt(d)."""
    u, z_h, z_r = base_draws(seed, width)
    h, r, _ = asperities_from_draws(theta, u, z_h, z_r)
    h, r = h.astype(jnp.float32), r.astype(jnp.float32)
    mask = jnp.arange(width) < n
    c = jnp.where(mask, (4.0 / 3.0) * theta[20].astype(jnp.float32) * jnp.sqrt(r), 0.0)
    hi = jnp.full(loads.shape, jnp.max(jnp.where(mask, h, -jnp.inf)))
    lo = hi - (loads[-1] / jnp.min(jnp.where(mask, c, jnp.inf))) ** (2.0 / 3.0) - 2.0

    def step(_, bounds):
        lo, hi = bounds
        mid = 0.5 * (lo + hi)
        d = jnp.maximum(h[None, :] - mid[:, None], 0.0)
        load = jnp.sum(c * d * jnp.sqrt(d), axis=-1)
        above = load > loads  # too much load: flat is too low
        return jnp.where(above, mid, lo), jnp.where(above, hi, mid)

    lo, hi = jax.lax.fori_loop(0, BISECTION_STEPS, step, (lo, hi))
    g = 0.5 * (lo + hi)
    d = jnp.maximum(h[None, :] - g[:, None], 0.0)
    area = jnp.pi * jnp.sum(jnp.where(mask, r, 0.0) * d, axis=-1)
    return theta[21].astype(jnp.float32) * area + theta[22].astype(jnp.float32) * loads


@partial(jax.jit, static_argnames=("width",))
def naive_batch(theta, n, seed, width):
    loads = jnp.asarray(friction.LOAD_GRID_N, jnp.float32)
    return jax.vmap(_naive_single, in_axes=(0, 0, 0, None, None))(theta, n, seed, loads, width)


def _time(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", help="also write the JSON here")
    args = ap.parse_args(argv)

    rng = np.random.default_rng(0)
    theta = jnp.asarray(from_unit(rng.random((args.batch, 23))))
    seeds = jnp.asarray(rng.integers(0, 2**31, args.batch))
    rows = []
    for n in (16, 64, 256):
        ns = jnp.full((args.batch,), n)
        t0 = time.perf_counter()
        fast = jax.block_until_ready(simulate_batch(theta, ns, seeds, width=n))
        compile_s = time.perf_counter() - t0
        t_fast = _time(lambda: simulate_batch(theta, ns, seeds, width=n), args.repeats)
        slow = jax.block_until_ready(naive_batch(theta, ns, seeds, width=n))
        t_naive = _time(lambda: naive_batch(theta, ns, seeds, width=n), args.repeats)
        ref = simulate_batch(theta, ns, seeds, width=n, dtype=jnp.float64, iterations=friction.REFERENCE_ITERATIONS)
        ref = np.asarray(ref)
        rows.append({
            "N": n,
            "curves_per_s": args.batch / t_fast,
            "naive_curves_per_s": args.batch / t_naive,
            "speedup": t_naive / t_fast,
            "compile_s": compile_s,
            "max_rel_err_vs_float64": float(np.max(np.abs(np.asarray(fast) / ref - 1))),
            "naive_max_rel_err_vs_float64": float(np.max(np.abs(np.asarray(slow) / ref - 1))),
        })

    # Single-curve latency through the public one-design call, after warm-up.
    from studio.physics.realize import simulate
    th = np.asarray(theta[0])
    simulate(th, 64, 1, dtype=jnp.float32)
    lat = []
    for i in range(50):
        t0 = time.perf_counter()
        simulate(th, 64, i, dtype=jnp.float32)
        lat.append(time.perf_counter() - t0)
    result = {
        "benchmark": "forward",
        "batch": args.batch,
        "device": str(jax.devices()[0]),
        "rows": rows,
        "single_curve_latency_ms_N64": 1e3 * statistics.median(lat),
        "newton_iterations": friction.FAST_ITERATIONS,
        "bisection_steps": BISECTION_STEPS,
    }
    print(json.dumps(result))
    print(f"{'N':>5} {'curves/s':>12} {'naive/s':>12} {'speedup':>8} {'compile s':>10} {'max rel err':>12}")
    for r in rows:
        print(f"{r['N']:>5} {r['curves_per_s']:>12.0f} {r['naive_curves_per_s']:>12.0f} {r['speedup']:>8.1f} "
              f"{r['compile_s']:>10.2f} {r['max_rel_err_vs_float64']:>12.2e}")
    print(f"single-curve latency (N=64, float32): {result['single_curve_latency_ms_N64']:.3f} ms")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1)
    return result


if __name__ == "__main__":
    main()
