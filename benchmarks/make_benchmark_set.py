"""Re-create the fixed inverse-design benchmark set resources/benchmarks/design-targets.json.

    python benchmarks/make_benchmark_set.py [--simulated 40] [--out resources/benchmarks/design-targets.json]

Simulated targets: θ from a scrambled Sobol draw of the design box with seed 9999 (the training
data use other seeds), N log-spaced over 16..256, realisation seeds from the same generator,
simulated exactly (float64). Analytic targets: laws a user would ask for (linear, power laws,
bilinear), at a small and a large asperity count; they may lie partly outside the design box.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402

from studio.physics import (LOAD_GRID_N, MAX_ASPERITIES, MIN_ASPERITIES, THETA_SIZE, enable_float64,  # noqa: E402
                            from_unit, simulate)

enable_float64()  # an entry point: the targets are float64 laws

SET_SEED = 9999
DEFAULT_OUT = os.path.join(os.path.dirname(__file__), "..", "resources", "benchmarks", "design-targets.json")

# name → (formula shown to users, F(P) [N] for P [N])
ANALYTIC_LAWS = {
    "linear-mu0.5": ("F = 0.5 P", lambda p: 0.5 * p),
    "linear-mu0.2": ("F = 0.2 P", lambda p: 0.2 * p),
    "power-0.7": ("F = 0.4 P^0.7", lambda p: 0.4 * p ** 0.7),
    "power-1.3": ("F = 0.1 P^1.3", lambda p: 0.1 * p ** 1.3),
    "bilinear": ("F = 0.4 P for P < 5 N, then 2 + 0.15 (P - 5)",
                 lambda p: np.where(p < 5.0, 0.4 * p, 2.0 + 0.15 * (p - 5.0))),
}
ANALYTIC_N = (32, 128)


def build(simulated: int = 40) -> dict:
    from scipy.stats import qmc

    rng = np.random.default_rng(SET_SEED)
    m = max(0, int(np.ceil(np.log2(simulated))))  # Sobol balance needs a power of two; keep the first `simulated`
    units = qmc.Sobol(THETA_SIZE, scramble=True, seed=rng).random_base2(m)[:simulated]
    counts = np.unique(np.round(np.geomspace(MIN_ASPERITIES, MAX_ASPERITIES, simulated)).astype(int))
    counts = np.resize(counts, simulated)  # log-spaced over 16..256, repeated if rounding merged some
    seeds = rng.integers(0, 2**31, simulated)
    targets = []
    for i in range(simulated):
        theta = from_unit(units[i])
        law = simulate(theta, int(counts[i]), int(seeds[i]))
        targets.append({"name": f"sim-{i:02d}", "kind": "simulated", "N": int(counts[i]), "seed": int(seeds[i]),
                        "theta": theta.tolist(), "friction_N": law.tolist()})
    for name, (formula, law) in ANALYTIC_LAWS.items():
        for n in ANALYTIC_N:
            targets.append({"name": f"{name}-N{n}", "kind": "analytic", "N": n, "formula": formula,
                            "friction_N": np.asarray(law(LOAD_GRID_N), dtype=np.float64).tolist()})
    return {"format": "friction-studio-benchmark-targets", "format_version": 1, "set_seed": SET_SEED,
            "load_N": LOAD_GRID_N.tolist(), "targets": targets}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--simulated", type=int, default=40)
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    data = build(args.simulated)
    out = os.path.abspath(args.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    from studio.files import atomic_write_text
    atomic_write_text(out, json.dumps(data, separators=(",", ":")))
    n_sim = sum(t["kind"] == "simulated" for t in data["targets"])
    print(json.dumps({"out": out, "targets": len(data["targets"]), "simulated": n_sim,
                      "analytic": len(data["targets"]) - n_sim}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
