"""Why parameter sMAPE and functional sMAPE disagree: the non-uniqueness of designs, measured.

    python benchmarks/paper_inversion.py --data DIR --pool DIR [--targets 500] [--pool-samples 900000]
        [--models models/cvae-compact.safetensors ...] [--json OUT.json] [--markdown OUT.md]

On the first `--targets` held-out targets (test split of --data; each is a design (θ, N, seed)
and its law), four measurements, all with the project's one sMAPE (studio.physics.smape) and
parameter error (studio.physics.parameter_error: canonical order, weights normalised):

1. exact invariances of the forward model: F depends on heights only through h_i − g, so adding
   one δ to every mean height leaves every law unchanged; and a component none of whose
   asperities touches the flat at 10 N contributes nothing, so its radius mean and spread are
   free. Each target's θ is moved along both (δ drawn over its feasible range, free entries drawn
   over their box) and re-simulated with the target's own seed (float64): functional sMAPE vs
   parameter sMAPE to the original θ.
2. designs of the data set that give the same law: for each target, the pool designs (train
   split of --pool) with N within ±5 % (at least ±2) whose laws are within 1 % (and 2 %, 5 %)
   sMAPE of the target law; their count and their parameter sMAPE to the target's θ.
3. the forward map's sensitivity: each target's θ perturbed multiplicatively so that its
   parameter sMAPE to θ is about 2.27 % (the paper's median), 10 % and 50 %; functional sMAPE
   with the target's own seed (parameters only) and with design seed 0 (what evaluation does).
4. for each CVAE in --models: parameter sMAPE, adjusted R² (as `friction-studio evaluate`) and
   functional sMAPE of a reconstruction (the encoder sees the target's θ: decode the posterior
   mean) against a prior draw at the card's temperature (what a user gets).

Prints one JSON line and short tables; --markdown writes the tables for docs/.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

PAPER_PARAMETER_SMAPE = 2.27  # % median, CVAE, arXiv 2511.03735 Table 1
PAPER_FUNCTIONAL_SMAPE = 37.95  # % mean, CVAE
THRESHOLDS = (1.0, 2.0, 5.0)  # functional sMAPE [%] under which two laws count as "the same"
PERTURBATIONS = (2.27, 10.0, 50.0)  # target parameter sMAPE [%] of the perturbation study


def n_band(n: int) -> int:
    """Half-width of the asperity-count band within which pool designs are compared with a target."""
    return max(2, int(round(0.05 * n)))


def law_preserving_variants(theta, n, seed, rng):
    """θ moved along the forward model's exact invariances for the realisation (θ, N, seed):
    `shifted`, one shift δ of every mean height (δ uniform over its feasible range in the box);
    `freed`, new radius means and spreads (uniform in the box) for the components none of whose
    asperities touches the flat at the largest load; `both`. Returns (dict of the three θ', number
    of free components)."""
    from studio.physics import LOAD_GRID_N, MU_H_IDX, THETA_LOWER, THETA_UPPER, indentation_mm, realize
    from studio.physics.theta import E_STAR_IDX, MU_R_IDX, N_COMPONENTS, SD_R_IDX

    theta = np.asarray(theta, dtype=np.float64)
    shifted = theta.copy()
    mu_h = theta[MU_H_IDX]
    lo, hi = THETA_LOWER[MU_H_IDX] - mu_h, THETA_UPPER[MU_H_IDX] - mu_h
    shifted[MU_H_IDX] = mu_h + rng.uniform(lo.max(), hi.min())
    asp = realize(theta, n, seed)
    touching = indentation_mm(asp.height_mm, asp.radius_mm, theta[E_STAR_IDX], [LOAD_GRID_N[-1]])[0] > 0
    free = [k for k in range(N_COMPONENTS) if not np.any(touching & (asp.component == k))]
    idx = np.array([i for k in free for i in (MU_R_IDX[k], SD_R_IDX[k])], dtype=int)
    new_values = rng.uniform(THETA_LOWER[idx], THETA_UPPER[idx])
    freed, both = theta.copy(), shifted.copy()
    freed[idx] = both[idx] = new_values
    return {"shifted": shifted, "freed": freed, "both": both}, len(free)


def perturbed(theta, target_smape, rng):
    """θ with every entry scaled by (1 + e), e ~ N(0, σ²), σ set so E|e| = target sMAPE, kept in the box."""
    from studio.physics import THETA_LOWER, THETA_UPPER

    sigma = target_smape / 100.0 / np.sqrt(2.0 / np.pi)
    return np.clip(theta * (1.0 + sigma * rng.standard_normal(theta.shape)), THETA_LOWER, THETA_UPPER)


def invariances(test, rng, log):
    from studio.physics import parameter_error, simulate_many, smape

    names = ("shifted", "freed", "both")
    func, param, free = {k: [] for k in names}, {k: [] for k in names}, []
    for i in range(len(test["N"])):
        theta, n, seed = test["theta"][i].astype(np.float64), int(test["N"][i]), int(test["seed"][i])
        variants, nfree = law_preserving_variants(theta, n, seed, rng)
        laws = simulate_many(np.stack([theta] + [variants[k] for k in names]), n, [seed] * (1 + len(names)))
        for j, k in enumerate(names):
            func[k].append(float(smape(laws[j + 1], laws[0])))
            param[k].append(float(parameter_error(variants[k], theta)))
        free.append(nfree)
    log(f"invariances: {len(free)} targets")
    out = {k: {"functional_smape": _summary(func[k]), "max_functional_smape": float(np.max(func[k])),
               "parameter_smape": _summary(param[k])} for k in names}
    out["targets_with_a_component_out_of_contact"] = float(np.mean(np.array(free) > 0))
    out["free_components_mean"] = float(np.mean(free))
    return out


def pool_neighbours(test, pool, log):
    """Per target: designs of the pool with N in the band whose laws are within each threshold."""
    from studio.physics import parameter_error, smape

    order = np.argsort(pool["N"], kind="stable")
    sorted_n = pool["N"][order]
    rng = np.random.default_rng(7)
    rows = []
    for i in range(len(test["N"])):
        n = int(test["N"][i])
        a, b = np.searchsorted(sorted_n, [n - n_band(n), n + n_band(n) + 1])
        idx = np.sort(order[a:b])
        err = smape(pool["friction"][idx], test["friction"][i][None, :])
        row = {"band": len(idx), "closest_functional": float(err.min())}
        for t in THRESHOLDS:
            hit = idx[err <= t]
            row[f"count_{t:g}"] = int(len(hit))
            if len(hit):
                p = parameter_error(pool["theta"][hit].astype(np.float64), test["theta"][i].astype(np.float64))
                row[f"param_median_{t:g}"] = float(np.median(p))
                row[f"param_min_{t:g}"] = float(np.min(p))
        random_idx = rng.choice(idx, size=min(256, len(idx)), replace=False)
        row["param_random_same_band"] = float(np.median(parameter_error(pool["theta"][random_idx].astype(np.float64),
                                                                        test["theta"][i].astype(np.float64))))
        rows.append(row)
    log(f"pool neighbours: {len(rows)} targets, pool {len(pool['N']):,}")
    out = {"pool_samples": int(len(pool["N"])), "band_median": float(np.median([r["band"] for r in rows])),
           "closest_functional": _summary([r["closest_functional"] for r in rows]),
           "param_random_same_band_median": float(np.median([r["param_random_same_band"] for r in rows]))}
    for t in THRESHOLDS:
        counts = np.array([r[f"count_{t:g}"] for r in rows])
        with_hits = [r for r in rows if r[f"count_{t:g}"] > 0]
        out[f"within_{t:g}"] = {
            "targets_with_any": float(np.mean(counts > 0)), "count_median": float(np.median(counts)),
            "count_mean": float(np.mean(counts)),
            "param_smape_median_of_medians": (float(np.median([r[f"param_median_{t:g}"] for r in with_hits]))
                                              if with_hits else None),
            "param_smape_median_of_minima": (float(np.median([r[f"param_min_{t:g}"] for r in with_hits]))
                                             if with_hits else None),
            "targets_whose_closest_theta_is_within_paper_median": (
                float(np.mean([r[f"param_min_{t:g}"] <= PAPER_PARAMETER_SMAPE for r in with_hits]))
                if with_hits else None)}
    return out


def sensitivity(test, rng, log):
    from studio.physics import parameter_error, simulate_many, smape

    out = {}
    for level in PERTURBATIONS:
        param, own, seed0 = [], [], []
        for i in range(len(test["N"])):
            theta, n, seed = test["theta"][i].astype(np.float64), int(test["N"][i]), int(test["seed"][i])
            variant = perturbed(theta, level, rng)
            laws = simulate_many(np.stack([variant, variant]), n, [seed, 0])
            param.append(float(parameter_error(variant, theta)))
            own.append(float(smape(laws[0], test["friction"][i].astype(np.float64))))
            seed0.append(float(smape(laws[1], test["friction"][i].astype(np.float64))))
        out[f"{level:g}"] = {"parameter_smape": _summary(param), "functional_smape_own_seed": _summary(own),
                             "functional_smape_design_seed_0": _summary(seed0)}
        log(f"sensitivity {level:g} %: done")
    return out


def reconstruction_vs_prior(path, test, log):
    """A CVAE's parameter and functional sMAPE when its encoder sees θ (posterior mean) and for one prior draw."""
    import torch

    from studio.models.evaluate import adjusted_r2
    from studio.models.networks import unit_to_theta
    from studio.models.store import load_model
    from studio.physics import canonical, parameter_error, simulate_many, smape, to_unit

    model, card = load_model(path, device="cpu")
    if card["kind"] != "cvae":
        return None
    tau = float(card.get("sampling", {}).get("temperature", 1.0))
    law = torch.as_tensor(test["friction"].astype(np.float32))
    n_t = torch.as_tensor(test["N"].astype(np.int64))
    unit = torch.as_tensor(np.clip(to_unit(canonical(test["theta"].astype(np.float64))), 0, 1).astype(np.float32))
    with torch.no_grad():
        cond = model.condition(law, n_t)
        mu, _ = model.encode(unit, cond)
        recon = unit_to_theta(model.decode(mu, cond))
        z = tau * torch.randn(mu.shape, generator=torch.Generator().manual_seed(0))
        prior = unit_to_theta(model.decode(z, cond))
    res = {}
    for name, theta in (("reconstruction", recon), ("prior_draw", prior)):
        own, seed0 = [], []
        for i in range(len(test["N"])):
            laws = simulate_many(np.stack([theta[i], theta[i]]), int(test["N"][i]), [int(test["seed"][i]), 0])
            target = test["friction"][i].astype(np.float64)
            own.append(float(smape(laws[0], target)))
            seed0.append(float(smape(laws[1], target)))
        res[name] = {"parameter_smape": _summary(parameter_error(theta, test["theta"].astype(np.float64))),
                     "adjusted_r2": adjusted_r2(theta, test["theta"].astype(np.float64), predictors=129),
                     "functional_smape_own_seed": _summary(own), "functional_smape_design_seed_0": _summary(seed0)}
    res["temperature"] = tau
    log(f"reconstruction vs prior: {path}")
    return res


def _summary(values) -> dict:
    from studio.physics import summary

    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in summary(values).items()}


def markdown(result) -> str:
    inv, nb, sens = result["invariances"], result["pool_neighbours"], result["sensitivity"]
    lines = [f"Held-out targets: {result['targets']} (test split of `{result['data']}`); pool: "
             f"{nb['pool_samples']:,} designs (train split of `{result['pool']}`), N band ±5 % "
             f"(median {nb['band_median']:.0f} designs per target). Command: `{result['command']}`.", "",
             "**1. Exact invariances** (same realisation seed, float64):", "",
             "| θ moved along | functional sMAPE median / max | parameter sMAPE median / p95 |", "|---|---|---|"]
    labels = {"shifted": "one shift δ of every mean height",
              "freed": f"new radius mean and spread of each component out of contact at 10 N "
                       f"({100 * inv['targets_with_a_component_out_of_contact']:.0f} % of targets have one; "
                       f"{inv['free_components_mean']:.2f} per target)",
              "both": "both"}
    for k, label in labels.items():
        v = inv[k]
        lines.append(f"| {label} | {v['functional_smape']['median']:.2g} / {v['max_functional_smape']:.2g} % | "
                     f"{v['parameter_smape']['median']:.1f} / {v['parameter_smape']['p95']:.1f} % |")
    lines += ["",
              "**2. Designs of the data set with the same law** (N within the band):", "",
              "| law within | targets with ≥ 1 | designs per target (median / mean) | parameter sMAPE to the "
             "target's θ: median of medians / median of the closest |", "|---|---|---|---|"]
    for t in THRESHOLDS:
        w = nb[f"within_{t:g}"]
        pm = "–" if w["param_smape_median_of_medians"] is None else f"{w['param_smape_median_of_medians']:.1f} %"
        pc = "–" if w["param_smape_median_of_minima"] is None else f"{w['param_smape_median_of_minima']:.1f} %"
        lines.append(f"| {t:g} % | {100 * w['targets_with_any']:.0f} % | {w['count_median']:.0f} / "
                     f"{w['count_mean']:.1f} | {pm} / {pc} |")
    lines += ["", f"Closest law in the band: functional sMAPE median {nb['closest_functional']['median']:.2f} %; "
                  f"a random design of the band is {nb['param_random_same_band_median']:.1f} % (median parameter "
                  f"sMAPE) from the target's θ.", "",
              "**3. Sensitivity of the law to parameter error** (θ scaled entry-wise by 1 + e):", "",
              "| parameter sMAPE (median) | functional sMAPE, target's seed: mean / median | design seed 0: "
              "mean / median |", "|---|---|---|"]
    for level in PERTURBATIONS:
        s = sens[f"{level:g}"]
        lines.append(f"| {s['parameter_smape']['median']:.2f} % | {s['functional_smape_own_seed']['mean']:.2f} / "
                     f"{s['functional_smape_own_seed']['median']:.2f} % | "
                     f"{s['functional_smape_design_seed_0']['mean']:.2f} / "
                     f"{s['functional_smape_design_seed_0']['median']:.2f} % |")
    if result["models"]:
        lines += ["", "**4. Reconstruction (encoder sees θ) vs a prior draw** (one θ per target):", "",
                  "| model | θ from | parameter sMAPE median | adjusted R² | functional sMAPE, target's seed: "
                  "mean / median | design seed 0: mean / median |", "|---|---|---|---|---|---|"]
        for path, r in result["models"].items():
            for name in ("reconstruction", "prior_draw"):
                s = r[name]
                lines.append(f"| `{os.path.basename(path)}` | {name.replace('_', ' ')} | "
                             f"{s['parameter_smape']['median']:.2f} % | {s['adjusted_r2']:.3f} | "
                             f"{s['functional_smape_own_seed']['mean']:.2f} / "
                             f"{s['functional_smape_own_seed']['median']:.2f} % | "
                             f"{s['functional_smape_design_seed_0']['mean']:.2f} / "
                             f"{s['functional_smape_design_seed_0']['median']:.2f} % |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="dataset whose test split holds the targets")
    parser.add_argument("--pool", required=True, help="dataset whose train split is searched for same-law designs")
    parser.add_argument("--targets", type=int, default=500)
    parser.add_argument("--pool-samples", type=int, default=900_000)
    parser.add_argument("--models", nargs="*", default=[], help="CVAEs for the reconstruction-vs-prior study")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", default=None)
    parser.add_argument("--markdown", default=None)
    args = parser.parse_args(argv)

    import torch

    from studio.data.loader import load_split
    from studio.files import atomic_write_bytes

    torch.set_num_threads(args.threads)
    log = lambda *a: print(*a, file=sys.stderr, flush=True)  # noqa: E731
    t0 = time.time()
    test = load_split(args.data, "test", max_samples=args.targets)
    pool = load_split(args.pool, "train", max_samples=args.pool_samples, fields=("theta", "N", "friction"))
    rng = np.random.default_rng(args.seed)
    result = {"benchmark": "models.paper_inversion", "data": args.data, "pool": args.pool,
              "targets": int(len(test["N"])),
              "command": "python benchmarks/paper_inversion.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "paper": {"parameter_smape_median": PAPER_PARAMETER_SMAPE,
                        "functional_smape_mean": PAPER_FUNCTIONAL_SMAPE},
              "invariances": invariances(test, rng, log),
              "pool_neighbours": pool_neighbours(test, pool, log),
              "sensitivity": sensitivity(test, rng, log),
              "models": {}}
    del pool
    for path in args.models:
        r = reconstruction_vs_prior(path, test, log)
        if r is not None:
            result["models"][path] = r
    result["wall_s"] = round(time.time() - t0, 1)
    print(json.dumps(result))
    text = markdown(result)
    print(text)
    if args.json:
        atomic_write_bytes(args.json, (json.dumps(result, indent=2) + "\n").encode())
    if args.markdown:
        atomic_write_bytes(args.markdown, text.encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
