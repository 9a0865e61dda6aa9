"""Rate-and-state friction: simulation throughput and fitting quality, in one run.

    python benchmarks/rsf.py [--batch 1024] [--baseline 32] [--records 100] [--spring-records 0]

(1) Throughput: a batch of random protocols (100 s each, 2–5 velocity jumps at uniform random
    times, velocities log-uniform in 1–100 µm/s, one segment after the first a hold) with random
    parameters (a ∈ [0.002, 0.02], b ∈ [0.002, 0.03], Dc log-uniform in [1, 100] µm, k = κ·max(b − a, a)/Dc
    with κ log-uniform in [2, 20], so sliding is stable), 100 samples each, simulated in one batched
    call per mode and dtype (compile excluded, reported apart). Baseline: scipy solve_ivp (Radau),
    one protocol at a time, restarted at each velocity jump, on the first `--baseline` protocols and
    scaled to the batch; at the fast path's tolerance and at the reference's. Accuracy: max |Δμ|
    against the float64 reference (solve_ivp: on those protocols). An extra spring row runs float64
    arithmetic at rtol = atol = 1e-6 (against solve_ivp at the same tolerance). simulate solves spring mode in
    float64 by spring_slider_stream (lanes refilled from a queue); the rows marked "lock-step batch" run the
    differentiable spring_slider_batch (one vmapped diffeqsolve, what simulate ran before) on the same batch.
    Speed-ups by wall clock, and by this process's CPU time (all its threads), which other jobs on a shared
    machine disturb less.
(2) Fitting: `--records` synthetic velocity-step records (1 → 10 → 1 → 10 → 1 µm/s, 1 mm of slip per
    step, 2000 samples per step, i.e. sampled every 0.5 µm of slip) at random a, b (ranges above), Dc
    log-uniform in [1, 100] µm, μ0 = 0.6, V0 = 1 µm/s, aging law, imposed mode, plus Gaussian noise
    σ = 1e-4 in μ. Reported: median relative error of a, b, Dc; coverage of the 2σ intervals; time
    per fit (the first fit, which compiles, reported apart).
Prints a table and one JSON line.
"""
import argparse
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy.integrate import solve_ivp  # noqa: E402

from studio.dynamics import Protocol, RsfParams, Segment, simulate, slide, stack  # noqa: E402
from studio.dynamics.fit import Record, fit  # noqa: E402
from studio.dynamics.simulate import run_batch  # noqa: E402
from studio.physics import enable_float64  # noqa: E402

enable_float64()  # an entry point: the float64 reference rows


LOOSE = (1e-6, 1e-6)  # rtol, atol of the extra spring-mode row (float64 arithmetic, fast-path accuracy)


def random_protocols(rng, count, duration_s=100.0):
    out = []
    for _ in range(count):
        jumps = int(rng.integers(2, 6))
        cuts = np.sort(rng.uniform(0, duration_s, jumps))
        durations = np.diff(np.concatenate([[0.0], cuts, [duration_s]]))
        velocities = 10 ** rng.uniform(-6, -4, jumps + 1)
        velocities[rng.integers(1, jumps + 1)] = 0.0
        out.append(Protocol(tuple(Segment(float(d), float(v)) for d, v in zip(durations, velocities))))
    return out


def random_parameters(rng, count):
    a = rng.uniform(0.002, 0.02, count)
    b = rng.uniform(0.002, 0.03, count)
    Dc = 10 ** rng.uniform(-6, -4, count)
    k = 10 ** rng.uniform(math.log10(2), math.log10(20), count) * np.maximum(b - a, a) / Dc
    return RsfParams(mu0=0.6, a=a, b=b, Dc_m=Dc, V0_m_s=1e-6, k_per_m=k)


def radau_one(protocol, p, times, mode, rtol, atol):
    """μ at the sample times by solve_ivp Radau: spring (ln V, ln θ, δ) or imposed (ln θ)."""
    def spring(t, y, v_lp):  # np.exp: Radau's Newton trials may overflow, which it then rejects
        V = np.exp(y[0])
        rate = np.exp(-y[1]) - V / p["Dc_m"]
        return [(p["k_per_m"] * (v_lp - V) - p["b"] * rate) / p["a"], rate, V]

    def imposed(t, y, v):
        return [np.exp(-y[0]) - v / p["Dc_m"]]

    v0 = protocol.start_velocity_m_s
    y = np.array([math.log(v0), math.log(p["Dc_m"] / v0), 0.0]) if mode == "spring" else np.array([math.log(p["Dc_m"] / v0)])
    out = np.empty((len(times), len(y)))
    t0, ends = 0.0, np.cumsum(protocol.durations_s)
    for k, (end, v) in enumerate(zip(ends, protocol.velocities_m_s)):
        inside = (times >= t0) & ((times < end) | (k == len(ends) - 1))
        v = v if (v > 0 or mode == "spring") else protocol.hold_velocity_m_s
        sol = solve_ivp(spring if mode == "spring" else imposed, (t0, end), y, method="Radau", rtol=rtol, atol=atol,
                        t_eval=np.unique(np.append(times[inside], end)), args=(v,))
        if not sol.success:
            return None
        keep = np.isin(sol.t, times[inside])
        out[inside] = sol.y[:, keep].T
        y, t0 = sol.y[:, -1], end
    if mode == "spring":
        V, log_theta = np.exp(out[:, 0]), out[:, 1]
    else:
        V = np.where(protocol.velocity_at(times) > 0, protocol.velocity_at(times), protocol.hold_velocity_m_s)
        log_theta = out[:, 0]
    return p["mu0"] + p["a"] * np.log(V / 1e-6) + p["b"] * (log_theta + math.log(1e-6 / p["Dc_m"]))


def throughput(batch_size, baseline_count, seed=0):
    rng = np.random.default_rng(seed)
    protocols = random_protocols(rng, batch_size)
    params = random_parameters(rng, batch_size)
    batch = stack(protocols, samples=100)
    rows, results = [], {}
    variants = [(mode, dtype, None, False) for mode in ("imposed", "spring") for dtype in (np.float32, np.float64)]
    variants.append(("spring", np.float64, LOOSE, False))  # float64 arithmetic at a fast path's tolerance
    variants += [("spring", np.float64, LOOSE, True), ("spring", np.float64, None, True)]  # the lock-step batch

    def lock_step(tolerances):  # spring_slider_batch: one vmapped diffeqsolve
        run = run_batch(batch, params, mode="spring", dtype=np.float64, tolerances=tolerances)
        return run._replace(mu=np.asarray(run.mu), ok=np.asarray(run.ok))

    for mode, dtype, tolerances, batched in variants:
        call = (lambda: lock_step(tolerances)) if batched else (
            lambda: simulate(batch, params, mode=mode, dtype=dtype, tolerances=tolerances, check=False))
        t = time.perf_counter()
        call()
        first = time.perf_counter() - t
        t, cpu = time.perf_counter(), time.process_time()
        run = call()
        elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
        results[(mode, dtype.__name__ + ("-loose" if tolerances else "") + ("-batch" if batched else ""))] = (
            run, elapsed, first, cpu)
    subset = range(baseline_count)
    table = {}
    for mode in ("imposed", "spring"):
        ref = results[(mode, "float64")][0]
        baselines = {}
        for label, tol in (("fast tolerance", (1e-5, 1e-5)), ("loose tolerance", LOOSE),
                           ("reference tolerance", (1e-10, 1e-12))):
            if mode == "imposed" and label == "loose tolerance":
                continue
            errors, t, cpu = [], time.perf_counter(), time.process_time()
            for i in subset:
                p = {n: float(np.asarray(getattr(params, n)).ravel()[i if np.ndim(getattr(params, n)) else 0])
                     for n in ("mu0", "a", "b", "Dc_m", "k_per_m")}
                mu = radau_one(protocols[i], p, batch.times_s[i], mode, *tol)
                errors.append(np.inf if mu is None else float(np.max(np.abs(mu - ref.mu[i]))))
            per = (time.perf_counter() - t) / len(subset)
            per_cpu = (time.process_time() - cpu) / len(subset)
            baselines[label] = {"per_protocol_s": per, "batch_estimate_s": per * batch_size,
                                "batch_estimate_cpu_s": per_cpu * batch_size,
                                "max_abs_mu_error": float(np.max(errors))}
        pairs = [("float32", "fast tolerance"), ("float64", "reference tolerance")]
        if mode == "spring":
            pairs.insert(1, ("float64-loose", "loose tolerance"))
            pairs += [("float64-loose-batch", "loose tolerance"), ("float64-batch", "reference tolerance")]
        for dtype, label in pairs:
            run, elapsed, first, cpu = results[(mode, dtype)]
            base = baselines[label]
            err = float(np.nanmax(np.abs(run.mu.astype(np.float64) - ref.mu)))
            entry = {"batch_s": elapsed, "first_call_s": first, "protocols_per_s": batch_size / elapsed,
                     "ok": float(np.mean(run.ok)), "solve_ivp_batch_estimate_s": base["batch_estimate_s"],
                     "solve_ivp_tolerance": label, "speedup": base["batch_estimate_s"] / elapsed,
                     "batch_cpu_s": cpu, "solve_ivp_batch_estimate_cpu_s": base["batch_estimate_cpu_s"],
                     "speedup_cpu": base["batch_estimate_cpu_s"] / cpu,
                     "max_abs_mu_error_vs_float64": err,
                     "solve_ivp_max_abs_mu_error_vs_float64": base["max_abs_mu_error"]}
            table[f"{mode}/{dtype}"] = entry
            rows.append((mode, dtype, elapsed, batch_size / elapsed, base["batch_estimate_s"],
                         base["batch_estimate_s"] / elapsed, entry["max_abs_mu_error_vs_float64"],
                         base["max_abs_mu_error"], first, entry["ok"], entry["speedup_cpu"]))
    print(f"\n(1) {batch_size} protocols x 100 samples; solve_ivp (Radau) timed on {baseline_count}, scaled")
    print(f"{'mode/dtype':26s} {'batch s':>9s} {'prot/s':>9s} {'solve_ivp s':>12s} {'speedup':>8s} "
          f"{'max|dmu| ours':>14s} {'max|dmu| ivp':>13s} {'compile+1st s':>14s} {'ok':>5s} {'speedup, CPU time':>18s}")
    for mode, dtype, el, rate, base, sp, err, base_err, first, ok, sp_cpu in rows:
        print(f"{mode + '/' + dtype:26s} {el:9.3f} {rate:9.0f} {base:12.1f} {sp:7.0f}x {err:14.2e} {base_err:13.2e} "
              f"{first:14.1f} {ok:5.3f} {sp_cpu:17.0f}x")
    return table


def velocity_step_record(p, rng, noise, samples_per_step=2000):
    velocities = (1e-6, 1e-5, 1e-6, 1e-5, 1e-6)
    protocol = Protocol(tuple(slide(v, slip_m=1e-3) for v in velocities))
    starts = np.concatenate([[0.0], np.cumsum(protocol.durations_s)])
    times = np.concatenate([np.linspace(starts[i], starts[i + 1], samples_per_step, endpoint=False)
                            for i in range(len(velocities))] + [[starts[-1]]])
    mu = simulate(protocol, p, times_s=times).mu
    return Record(times, mu + noise * rng.standard_normal(mu.shape), protocol, source="synthetic")


def fitting(count, noise=1e-4, seed=1, mode="imposed"):
    rng = np.random.default_rng(seed)
    names = ("a", "b", "Dc_m")
    errors = {n: [] for n in names}
    covered = {n: [] for n in names}
    times, converged = [], 0
    first_fit_s = None
    for i in range(count):
        p = RsfParams(mu0=0.6, a=rng.uniform(0.002, 0.02), b=rng.uniform(0.002, 0.03), Dc_m=10 ** rng.uniform(-6, -4),
                      V0_m_s=1e-6, k_per_m=None)
        record = velocity_step_record(p, rng, noise)
        t = time.perf_counter()
        result = fit(record, mode=mode)
        elapsed = time.perf_counter() - t
        if i == 0:
            first_fit_s = elapsed
        else:
            times.append(elapsed)
        converged += result.converged
        for n in names:
            true = getattr(p, n)
            errors[n].append(abs(result.values[n] - true) / true)
            covered[n].append(abs(result.values[n] - true) <= result.two_sigma[n])
    out = {"records": count, "noise_sigma": noise, "converged": converged,
           "median_relative_error": {n: float(np.median(errors[n])) for n in names},
           "p90_relative_error": {n: float(np.percentile(errors[n], 90)) for n in names},
           "coverage_2sigma": {n: float(np.mean(covered[n])) for n in names},
           "coverage_2sigma_pooled": float(np.mean([c for n in names for c in covered[n]])),
           "median_fit_s": float(np.median(times)), "mean_fit_s": float(np.mean(times)), "first_fit_s": first_fit_s}
    print(f"\n(2) fitting {count} velocity-step records, noise sigma {noise:g}, {mode} mode: {converged} converged")
    print(f"{'parameter':10s} {'median rel err':>15s} {'p90 rel err':>12s} {'2σ coverage':>12s}")
    for n in names:
        print(f"{n:10s} {out['median_relative_error'][n]:15.3%} {out['p90_relative_error'][n]:12.3%} "
              f"{out['coverage_2sigma'][n]:12.1%}")
    print(f"{'pooled':10s} {'':15s} {'':12s} {out['coverage_2sigma_pooled']:12.1%}")
    print(f"time per fit: median {out['median_fit_s']:.3f} s, mean {out['mean_fit_s']:.3f} s "
          f"(first, compiling: {first_fit_s:.1f} s)")
    return out


def main():
    np.seterr(over="ignore", invalid="ignore")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--baseline", type=int, default=32)
    parser.add_argument("--records", type=int, default=100)
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()
    result = {"benchmark": "rsf", "load_average": load}
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if not args.skip_throughput:
        result["throughput"] = throughput(args.batch, args.baseline)
    result["fitting"] = fitting(args.records)
    result["load_average_end"] = os.getloadavg()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
