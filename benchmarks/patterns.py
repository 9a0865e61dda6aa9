"""Contact pattern of one design at all 128 grid loads: the CNN-MLP beside the BEM it stands in for, in one run.

    python benchmarks/patterns.py [--model models/patterns.safetensors] [--designs 10] [--repeats 5] [--bem-loads 1]
                                  [--json OUT.json]

For `designs` Sobol designs (seed 20 of studio.data.sampling, none in the pattern dataset's seed 19)
laid out with the studio's layout (studio.physics.layout.layout_for): the wall time of
PatternPredictor.predict for the 128 loads of the grid (image, independent model, interaction
estimate and network; median of `repeats` after one warm-up call), goal ≤ 20 ms; beside it, in the
same run, the BEM (studio.physics.contact.solve_at, the dataset's grid) at `bem-loads` loads of the
same layout, whose per-load time × 128 is what the prediction replaces. Prints one JSON line (with
uptime's load average: this machine is shared) and a table.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402

from studio.physics import enable_float64  # noqa: E402

enable_float64()  # an entry point

GOAL_MS = 20.0


def main(argv=None) -> int:
    import torch

    from studio.data.sampling import sample_designs
    from studio.models.patterns import DEFAULT_PATTERNS, load_pattern_model
    from studio.physics import LOAD_GRID_N, layout_for, realize
    from studio.physics.contact import ContactError, Interface, solve_at
    from studio.physics.theta import E_STAR_IDX

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(DEFAULT_PATTERNS))
    ap.add_argument("--designs", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--bem-loads", type=int, default=1, help="BEM solves per design (loads spread over the grid)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the studio's worker uses the default)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    predictor = load_pattern_model(args.model)
    theta, n, seeds = sample_designs(20, 0, args.designs)
    rows = []
    for i in range(args.designs):
        t = theta[i].astype(np.float64)
        a = realize(t, int(n[i]), int(seeds[i]))
        E = float(t[E_STAR_IDX])
        layout = layout_for(a, E)
        call = lambda: predictor.predict(a.height_mm, a.radius_mm, layout.x_mm, layout.y_mm, a.component, t,  # noqa
                                         layout.clearance_mm, 0, LOAD_GRID_N)
        call()  # warm-up: first calls compile the independent model for this N
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            p = call()
            times.append(time.perf_counter() - t0)
        itf = Interface.of(a.height_mm, a.radius_mm, layout.x_mm, layout.y_mm, E)
        bem = []
        for k in np.linspace(LOAD_GRID_N.size // 4, LOAD_GRID_N.size - 1, args.bem_loads).astype(int):
            t0 = time.perf_counter()
            try:
                solve_at(itf, float(LOAD_GRID_N[k]), cells_per_radius=4.0)
            except ContactError:
                continue
            bem.append(time.perf_counter() - t0)
        rows.append({"design": i, "N": int(n[i]), "predict_128_ms": 1e3 * float(np.median(times)),
                     "bem_per_load_s": float(np.median(bem)) if bem else None,
                     "patterns": {name: int(np.sum(p.pattern == j)) for j, name in enumerate(p.names)}})
    ms = np.array([r["predict_128_ms"] for r in rows])
    bem = np.array([r["bem_per_load_s"] for r in rows if r["bem_per_load_s"] is not None])
    result = {"benchmark": "patterns", "model": args.model, "designs": args.designs, "repeats": args.repeats,
              "threads": args.threads, "predict_128_ms_median": float(np.median(ms)),
              "predict_128_ms_max": float(ms.max()), "goal_ms": GOAL_MS,
              "goal_met": bool(np.median(ms) <= GOAL_MS),
              "bem_per_load_s_median": float(np.median(bem)) if bem.size else None,
              "bem_128_loads_s_estimate": float(128 * np.median(bem)) if bem.size else None,
              "load_average": list(os.getloadavg()), "rows": rows}
    print(json.dumps(result))
    print(f"{'design':>6} {'N':>4} {'predict 128 loads':>18} {'BEM one load':>13}  patterns (count of 128)")
    for r in rows:
        bem_s = "–" if r["bem_per_load_s"] is None else f"{r['bem_per_load_s']:.2f} s"
        counts = ", ".join(f"{k} {v}" for k, v in r["patterns"].items() if v)
        print(f"{r['design']:>6} {r['N']:>4} {r['predict_128_ms']:>15.1f} ms {bem_s:>13}  {counts}")
    print(f"median {np.median(ms):.1f} ms for 128 loads (goal ≤ {GOAL_MS:g} ms: "
          f"{'met' if result['goal_met'] else 'missed'}); BEM median {result['bem_per_load_s_median']} s a load; "
          f"load average {os.getloadavg()[0]:.2f}")
    if args.json:
        from studio.files import atomic_write_text

        atomic_write_text(args.json, json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
