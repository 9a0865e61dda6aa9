"""Forward-model throughput: the shipped solver against a naive bisection baseline, same run.

    python benchmarks/forward.py [--batch 1024] [--repeats 5] [--json OUT.json]
    python benchmarks/forward.py --steps-sweep 4096     # steps the solver needs, per N

Prints one JSON object and a short table. Curves/s are for float32 batches of
random designs from the θ box (realisation included): best wall time and least
process CPU time of `repeats` interleaved runs; the speed-up is the CPU-time ratio.
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

from studio.physics import enable_float64, friction  # noqa: E402
from studio.physics.realize import asperities_from_draws, base_draws, simulate_batch  # noqa: E402
from studio.physics.theta import B_IDX, E_STAR_IDX, TAU0_IDX, THETA_SIZE, from_unit  # noqa: E402

enable_float64()  # an entry point: the float64 reference the errors are measured against

BISECTION_STEPS = 40


def _naive_single(theta, n, seed, loads, width):
    """Baseline: 40 bisection steps over every asperity for every load, d·sqrt(d)."""
    u, z_h, z_r = base_draws(seed, width)
    h, r, _ = asperities_from_draws(theta, u, z_h, z_r)
    h, r = h.astype(jnp.float32), r.astype(jnp.float32)
    mask = jnp.arange(width) < n
    c = jnp.where(mask, (4.0 / 3.0) * theta[E_STAR_IDX].astype(jnp.float32) * jnp.sqrt(r), 0.0)
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
    return theta[TAU0_IDX].astype(jnp.float32) * area + theta[B_IDX].astype(jnp.float32) * loads


@partial(jax.jit, static_argnames=("width",))
def naive_batch(theta, n, seed, width):
    loads = jnp.asarray(friction.LOAD_GRID_N, jnp.float32)
    return jax.vmap(_naive_single, in_axes=(0, 0, 0, None, None))(theta, n, seed, loads, width)


def _time(fn, repeats):
    """(median wall seconds, least process CPU seconds) over `repeats` runs.

    CPU time of this process (all its threads) is what the machine spent on the work and is
    far steadier than wall time when other processes share the cores; the speed-up uses it.
    """
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        jax.block_until_ready(fn())
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), min(cpu)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--json", help="also write the JSON here")
    ap.add_argument("--steps-sweep", type=int, default=0, metavar="DESIGNS",
                    help="instead: for DESIGNS random designs per N, the share of rows the fast path calls "
                         "converged and the error vs float64 after 1–5 secant steps (no fallback)")
    args = ap.parse_args(argv)
    if args.steps_sweep:
        return steps_sweep(args.steps_sweep)

    rng = np.random.default_rng(0)
    theta = jnp.asarray(from_unit(rng.random((args.batch, THETA_SIZE))))
    seeds = jnp.asarray(rng.integers(0, 2**31, args.batch))
    rows = []
    for n in (16, 64, 256):
        ns = jnp.full((args.batch,), n)
        t0 = time.perf_counter()
        fast = jax.block_until_ready(simulate_batch(theta, ns, seeds, width=n))
        compile_s = time.perf_counter() - t0
        slow = jax.block_until_ready(naive_batch(theta, ns, seeds, width=n))
        (t_fast, c_fast), (t_naive, c_naive) = [(1e9, 1e9)] * 2
        for _ in range(args.repeats):  # interleaved, so both see the same machine load
            tf, cf = _time(lambda: simulate_batch(theta, ns, seeds, width=n), 1)
            tn, cn = _time(lambda: naive_batch(theta, ns, seeds, width=n), 1)
            t_fast, c_fast, t_naive, c_naive = min(t_fast, tf), min(c_fast, cf), min(t_naive, tn), min(c_naive, cn)
        ref = simulate_batch(theta, ns, seeds, width=n, dtype=jnp.float64, iterations=friction.REFERENCE_ITERATIONS)
        ref = np.asarray(ref)
        rows.append({
            "N": n,
            "curves_per_s": args.batch / t_fast,
            "naive_curves_per_s": args.batch / t_naive,
            "curves_per_cpu_s": args.batch / c_fast,
            "naive_curves_per_cpu_s": args.batch / c_naive,
            "speedup": c_naive / c_fast,
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
        "secant_iterations": friction.FAST_ITERATIONS,
        "bisection_steps": BISECTION_STEPS,
    }
    print(json.dumps(result))
    print(f"{'N':>5} {'curves/s':>10} {'naive/s':>10} {'curves/cpu-s':>13} {'naive/cpu-s':>12} {'speedup':>8} "
          f"{'compile s':>10} {'max rel err':>12}")
    for r in rows:
        print(f"{r['N']:>5} {r['curves_per_s']:>10.0f} {r['naive_curves_per_s']:>10.0f} {r['curves_per_cpu_s']:>13.0f} "
              f"{r['naive_curves_per_cpu_s']:>12.0f} {r['speedup']:>8.1f} {r['compile_s']:>10.2f} "
              f"{r['max_rel_err_vs_float64']:>12.2e}")
    print(f"single-curve latency (N=64, float32): {result['single_curve_latency_ms_N64']:.3f} ms")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1)
    return result


def steps_sweep(designs: int) -> list:
    """How many secant steps the fast path needs: converged share and error per step count."""
    from studio.physics.realize import _simulate_batch_jit

    rng = np.random.default_rng(1)
    theta = jnp.asarray(from_unit(rng.random((designs, THETA_SIZE))))
    seeds = jnp.asarray(rng.integers(0, 2**31, designs))
    rows = []
    print(f"secant steps after the sample pass (FAST_ITERATIONS = {friction.FAST_ITERATIONS}); 'converged' = "
          f"free last step ≤ {friction.CONVERGENCE_TOL['float32']:g} of the depth")
    print(f"{'N':>5} {'its':>5} {'converged':>9} {'max err':>9} {'p99 err':>9} {'max err converged':>18}")
    for n in (16, 64, 128, 256):
        ns = jnp.full((designs,), n)
        ref = np.asarray(_simulate_batch_jit(theta, ns, seeds, friction.REFERENCE_ITERATIONS, jnp.float64, n)[0])
        for steps in range(1, 6):
            laws, conv = _simulate_batch_jit(theta, ns, seeds, steps, jnp.float32, n)
            err = np.max(np.abs(np.asarray(laws) / ref - 1), axis=1)
            conv = np.asarray(conv)
            row = {"N": n, "iterations": steps, "converged": float(conv.mean()), "max_err": float(err.max()),
                   "p99_err": float(np.quantile(err, 0.99)),
                   "max_err_converged": float(err[conv].max()) if conv.any() else None}
            rows.append(row)
            mc = f"{row['max_err_converged']:.2e}" if conv.any() else "-"
            print(f"{n:>5} {steps:>5} {row['converged']:>9.3f} {row['max_err']:>9.2e} {row['p99_err']:>9.2e} {mc:>18}")
    print(json.dumps({"benchmark": "forward-steps", "designs": designs, "tol": friction.CONVERGENCE_TOL["float32"],
                      "rows": rows}))
    return rows


if __name__ == "__main__":
    main()
