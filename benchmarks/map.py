"""Design map: PCA against UMAP on the same latent codes, in one run.

    python benchmarks/map.py [--data /work/main/data/train-v2] [--samples 4000] [--json OUT]

For the codes of `--samples` designs (studio.design.map; the dataset's test split with its stored
laws, or without --data the generator's designs with the head's laws), each projection is timed
(UMAP twice: its first call compiles with numba) and scored:
  trustworthiness   sklearn.manifold.trustworthiness (k = 10): are the 2-D neighbours latent neighbours?
  property R²       how well the mean of a point's 10 nearest 2-D neighbours predicts its property
                    (μ at 5 N, power-law exponent, N), beside the same in the full latent space
                    (the ceiling): a map coloured by a property is readable when this is high.
Prints one JSON line and a table.
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

NEIGHBOURS = 10


def neighbour_r2(points, values, k: int = NEIGHBOURS) -> float:
    """R² of each value predicted by the mean of its k nearest other points' values."""
    from scipy.spatial import cKDTree

    _, idx = cKDTree(points).query(points, k=k + 1)
    pred = values[idx[:, 1:]].mean(1)
    return float(1.0 - ((values - pred) ** 2).sum() / ((values - values.mean()) ** 2).sum())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None, help="dataset folder (its test split); default: the generator's designs")
    ap.add_argument("--samples", type=int, default=4000)
    ap.add_argument("--model", default=None, help="Janus weights (default: the shipped models/janus-compact)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)

    import numpy as np
    import torch
    from sklearn.manifold import trustworthiness

    torch.set_num_threads(1)
    from studio.design.map import MapRequest, design_property, map_sample, project
    from studio.models import load_janus

    janus = load_janus(args.model, device="cpu")
    request = MapRequest(samples=args.samples, data_dir=args.data)
    theta, n, _, laws = map_sample(request)
    t0 = time.perf_counter()
    codes = janus.encode(theta, n)
    encode_s = time.perf_counter() - t0
    if laws is None:
        laws = janus.predict_law(codes, n)
    props = {name: design_property(name, laws, n) for name in ("mu", "exponent", "N")}
    out = {"samples": len(codes), "data": args.data or "generator (train-v2 seed), head's laws",
           "encode_s": encode_s, "latent": {k: neighbour_r2(codes, v) for k, v in props.items()}, "methods": {}}
    for method in ("pca", "umap"):
        times = []
        for _ in range(2 if method == "umap" else 1):
            t0 = time.perf_counter()
            xy, _, _ = project(codes, method, seed=0)
            times.append(time.perf_counter() - t0)
        out["methods"][method] = {"seconds": times, "trustworthiness": float(trustworthiness(codes, xy,
                                                                                             n_neighbors=NEIGHBOURS)),
                                  "property_r2": {k: neighbour_r2(xy, v) for k, v in props.items()}}
    if args.json:
        from studio.files import atomic_write_text
        atomic_write_text(args.json, json.dumps(out, indent=1))
    print(json.dumps(out))
    print(f"{out['samples']} designs ({out['data']}); encoding {encode_s:.2f} s; R² from the {NEIGHBOURS} nearest "
          "neighbours' mean")
    print(f"{'space':<8} {'seconds':>16} {'trust':>6} {'R² μ(5 N)':>10} {'R² exponent':>12} {'R² N':>6}")
    rows = [("latent", None)] + list(out["methods"].items())
    for name, m in rows:
        r2 = out["latent"] if m is None else m["property_r2"]
        secs = "-" if m is None else " / ".join(f"{t:.2f}" for t in m["seconds"])
        trust = "-" if m is None else f"{m['trustworthiness']:.3f}"
        print(f"{name:<8} {secs:>16} {trust:>6} {r2['mu']:10.3f} {r2['exponent']:12.3f} {r2['N']:6.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
