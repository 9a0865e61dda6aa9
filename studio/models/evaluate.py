"""Held-out evaluation of a generator beside two baselines (an MLP regressor, nearest-neighbour lookup).

Every candidate θ is realised with a fixed design seed (DESIGN_SEED, never the target's own seed:
an unseen target has none). Best-of-K ranks the K candidates the way the studio's candidate
engines do (studio.physics.ranking.rank: float32 law, masked sMAPE; for `WithExactTau0B`, τ0 and B
solved exactly for each candidate's realisation first) and reports the winner's error from the
exact float64 simulation. A second best-of-K figure realises candidate j with its own seed
DESIGN_SEED + j (a design is the triple θ, N, seed; the studio's candidate engine also varies
seeds), so the K designs differ in their realisation as well as in θ.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from studio.files import atomic_write, atomic_write_bytes
from studio.models.dataset import Examples
from studio.physics import THETA_SIZE, bucket_width, canonical, parameter_error, simulate, smape, summary, to_unit
from studio.physics.ranking import rank
from studio.physics.realize import simulate_fast as _simulate_fast

DESIGN_SEED = 0


def simulate_fast(theta, n_asperities, seed=DESIGN_SEED) -> np.ndarray:
    """float32 laws (B, 128) of designs θ (B, 23) with one asperity count (or N (B,), all equal) at a
    design seed, or seeds (B,): the ranking's own simulation (studio.physics.simulate_fast)."""
    n = np.unique(np.asarray(n_asperities))
    if n.size != 1:
        raise ValueError(f"simulate_fast: one asperity count per call, got {n.tolist()}")
    return _simulate_fast(theta, int(n[0]), seed)


def best_of(candidates, law_N, n_asperities: int, seed=DESIGN_SEED, *, fit: bool = False):
    """Rank K candidate designs (K, 23) for one target law the studio's way (studio.physics.ranking.rank).

    `seed` is one design seed for all, or one per candidate (K,). With `fit`, τ0 and B are solved
    exactly for each candidate's realisation first (the candidate engines do; `rank(...).theta` then
    holds the fitted candidates). Returns (order best first, errors [%] in that order).
    """
    r = rank(candidates, int(n_asperities), seed, law_N, fit=fit)
    return r.order, r.errors_percent[r.order]


def exact_error(theta, n_asperities: int, law_N, seed: int = DESIGN_SEED) -> float:
    """Functional sMAPE [%] of one design against a law, float64 simulation."""
    return float(smape(simulate(theta, int(n_asperities), seed), np.asarray(law_N, dtype=np.float64)))


def adjusted_r2(pred_theta, true_theta, predictors: int) -> float:
    """Adjusted R² of θ predictions in the unit box (canonical order), averaged over the 23 entries."""
    p = np.clip(to_unit(canonical(pred_theta)), 0, 1)
    t = np.clip(to_unit(canonical(true_theta)), 0, 1)
    ss_res = ((p - t) ** 2).sum(0)
    ss_tot = ((t - t.mean(0)) ** 2).sum(0)
    r2 = 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0)
    n = len(t)
    if n <= predictors + 1:
        return float("nan")  # adjusted R² needs more targets than predictors
    adj = 1.0 - (1.0 - r2) * (n - 1) / (n - predictors - 1)
    return float(np.mean(adj))


def diversity(candidates) -> float:
    """Mean pairwise Euclidean distance of candidates (K, 23) in the unit box, canonical order."""
    u = to_unit(canonical(candidates))
    d = np.sqrt(((u[:, None, :] - u[None, :, :]) ** 2).sum(-1))
    k = len(u)
    return float(d.sum() / (k * (k - 1))) if k > 1 else 0.0


class NearestNeighbour:
    """Baseline: the training design whose law is closest (mean |Δ log F|) to the target; K nearest for best-of-K."""

    def __init__(self, train: Examples, max_samples: int = 200_000):
        n = min(len(train), max_samples)
        self.log_law = torch.log(train.friction_N[:n].clamp(min=1e-12))
        self.theta = train.theta[:n]

    def sample(self, law_N, N, k: int = 16, seed: int = 0) -> np.ndarray:
        q = torch.log(torch.as_tensor(np.asarray(law_N, dtype=np.float32)).clamp(min=1e-12))[None]
        dist = torch.cdist(q, self.log_law, p=1)[0]
        idx = torch.topk(dist, int(k), largest=False).indices.numpy()
        return self.theta[idx]


class TrueTheta:
    """Reference, not a method: each target's own θ, K times. Realised with the design seed (or, in
    the distinct-seeds figure, K seeds) rather than the target's seed, it measures the realisation
    floor: how far a perfect θ lands from a law that another realisation produced."""

    def __init__(self, test: Examples):
        laws = test.friction_N.numpy().astype(np.float64)
        self._theta = {laws[i].tobytes(): np.asarray(test.theta[i], dtype=np.float64) for i in range(len(test))}

    def sample(self, law_N, N, k: int = 16, seed: int = 0) -> np.ndarray:
        return np.repeat(self._theta[np.asarray(law_N, dtype=np.float64).tobytes()][None], int(k), axis=0)


class WithExactTau0B:
    """A generator's candidates with τ0 and B solved exactly for the realisation each will be built
    with (studio.physics.fit_tau0_B): the law is linear in those two, so given the realised contact
    area the best pair in the box is a closed-form least-squares solution, not something to learn.
    The geometry, E* and the weights are the generator's. This is how the studio's candidate engines
    rank proposals; `evaluate_generators` ranks its raw samples with `best_of(..., fit=True)`, the
    same one path (studio.physics.ranking.rank), in one float32 simulation of the K candidates."""

    fit = True

    def __init__(self, generator):
        self.generator = generator
        self.kind = f"{getattr(generator, 'kind', 'model')}+fit"

    def sample_raw(self, law_N, N, k: int = 16, seed: int = 0) -> np.ndarray:
        """The generator's own candidates (K, 23), before the fit."""
        return np.asarray(self.generator.sample(law_N, N, k, seed), dtype=np.float64).reshape(-1, THETA_SIZE)

    def sample(self, law_N, N, k: int = 16, seed: int = 0, design_seeds=DESIGN_SEED) -> np.ndarray:
        """The candidates with τ0 and B fitted for `design_seeds` (one seed, or one per candidate)."""
        return rank(self.sample_raw(law_N, N, k, seed), int(N), design_seeds, law_N, fit=True).theta


def evaluate_generators(generators: dict, test: Examples, *, k: int = 16, log=print) -> dict:
    """Metrics of each generator (name → object with sample(law, N, k, seed)) on the test targets."""
    results = {}
    laws = test.friction_N.numpy().astype(np.float64)
    for n in sorted({bucket_width(int(n)) for n in test.n_asperities}):  # compile each padded width before timing
        simulate_fast(np.repeat(test.theta[:1], k, axis=0), np.full(k, n))
        exact_error(test.theta[0], n, laws[0])
    for name, gen in generators.items():
        t0 = time.time()
        single_err, best_err, best_err_fast, best_err_seeds, div, latency = [], [], [], [], [], []
        seeds = DESIGN_SEED + np.arange(k)
        one, best, shown = [], [], []
        for i in range(len(test)):
            n = int(test.n_asperities[i])
            tl = time.perf_counter()
            fit = getattr(gen, "fit", False)  # the studio's ranking: τ0, B fitted inside it
            raw = gen.sample_raw(laws[i], n, k, seed=i) if fit else gen.sample(laws[i], n, k, seed=i)
            r = rank(raw, n, DESIGN_SEED, laws[i], fit=fit)  # what best_of does, keeping the fitted θ
            order, err, cands = r.order, r.errors_percent[r.order], r.theta
            latency.append(time.perf_counter() - tl)
            one.append(cands[0])
            if i < 6:
                shown.append(cands)
            best.append(cands[order[0]])
            best_err_fast.append(err[0])
            single_err.append(exact_error(cands[0], n, laws[i]))
            best_err.append(exact_error(cands[order[0]], n, laws[i]))
            # fitted (if so) for the realisations they will have
            r = rank(raw, n, seeds, laws[i], fit=fit)
            best_err_seeds.append(exact_error(r.theta[r.order[0]], n, laws[i], int(seeds[r.order[0]])))
            div.append(diversity(r.theta))
        one, best = np.array(one), np.array(best)
        results[name] = {
            "parameter_smape_one_sample": summary(parameter_error(one, test.theta)),
            "adjusted_r2_one_sample": adjusted_r2(one, test.theta, predictors=129),
            "functional_smape_one_sample": summary(single_err),
            f"functional_smape_best_of_{k}": summary(best_err),
            f"functional_smape_best_of_{k}_float32_rank": summary(best_err_fast),
            f"functional_smape_best_of_{k}_distinct_seeds": summary(best_err_seeds),
            f"diversity_of_{k}_unit_box": float(np.mean(div)),
            f"latency_{k}_candidates_ms": {"median": 1e3 * float(np.median(latency[1:] or latency)),
                                          "p95": 1e3 * float(np.percentile(latency[1:] or latency, 95))},
            "wall_s": round(time.time() - t0, 1),
            "_examples": {"best": best[:6].tolist(), "one": one[:6].tolist(), "candidates": shown},
        }
        r = results[name]
        log(f"{name:>8}: param sMAPE med {r['parameter_smape_one_sample']['median']:.2f} %, "
            f"functional one-sample mean {r['functional_smape_one_sample']['mean']:.2f} % / "
            f"best-of-{k} median {r[f'functional_smape_best_of_{k}']['median']:.2f} % "
            f"p95 {r[f'functional_smape_best_of_{k}']['p95']:.2f} % "
            f"(distinct seeds: median {r[f'functional_smape_best_of_{k}_distinct_seeds']['median']:.2f} %) "
            f"({r['wall_s']:.0f}s)")
    return results


def model_facts(card: dict, path=None) -> dict:
    """What a report row says about a trained model, from its card: parameters, training wall time
    (the last run's; `training_stages` > 1 when it was fine-tuned from earlier weights), training
    samples and data set."""
    training, data = card.get("training", {}), card.get("data", {})
    stages, inner = 1, training
    while isinstance(inner.get("initialised_from"), dict):  # a fine-tune: count the runs before it
        stages += 1
        inner = inner["initialised_from"].get("card", {}).get("training", {})
    return {"file": None if path is None else str(path), "parameters": card.get("parameters"),
            "training_wall_s": training.get("wall_time_s"), "training_stages": stages,
            "train_samples": data.get("train_samples", data.get("train_samples_final")),
            "data": data.get("dir", data.get("source"))}


def table(results: dict, k: int = 16) -> str:
    """The report: one row per method; `params` and `train min` come from a row's `model` facts
    (model_facts; a trailing + marks a fine-tune whose earlier runs are not counted)."""
    width = max([10] + [len(name) for name in results])
    head = (f"{'method':>{width}} | {'param sMAPE med':>15} | {'adj R2':>6} | {'1-sample mean':>13} | "
            f"{'1-sample med':>12} | {f'best-{k} med':>11} | {f'best-{k} p95':>11} | {f'best-{k} mean':>12} | "
            f"{'seeds med':>9} | {'diversity':>9} | {'latency ms':>10} | {'params':>9} | {'train min':>9}")
    lines = [head, "-" * len(head)]
    for name, r in results.items():
        b = r[f"functional_smape_best_of_{k}"]
        facts = r.get("model") or {}
        params = "-" if facts.get("parameters") is None else f"{facts['parameters']:,}"
        minutes = "-" if facts.get("training_wall_s") is None else (
            f"{facts['training_wall_s'] / 60:.1f}" + ("+" if facts.get("training_stages", 1) > 1 else ""))
        lines.append(f"{name:>{width}} | {r['parameter_smape_one_sample']['median']:>15.2f} | "
                     f"{r['adjusted_r2_one_sample']:>6.3f} | {r['functional_smape_one_sample']['mean']:>13.2f} | "
                     f"{r['functional_smape_one_sample']['median']:>12.2f} | {b['median']:>11.2f} | "
                     f"{b['p95']:>11.2f} | {b['mean']:>12.2f} | "
                     f"{r[f'functional_smape_best_of_{k}_distinct_seeds']['median']:>9.2f} | "
                     f"{r[f'diversity_of_{k}_unit_box']:>9.3f} | "
                     f"{r[f'latency_{k}_candidates_ms']['median']:>10.1f} | {params:>9} | {minutes:>9}")
    return "\n".join(lines)


def figure(path, results: dict, test: Examples, n_examples: int = 6) -> bool:
    """PNG of example targets with each method's best-of-K design (needs matplotlib; False without it)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    from studio.physics import LOAD_GRID_N

    n_examples = min(n_examples, len(test))
    fig, axes = plt.subplots(2, (n_examples + 1) // 2, figsize=(4 * ((n_examples + 1) // 2), 7), squeeze=False)
    for i, ax in enumerate(axes.flat[:n_examples]):
        n = int(test.n_asperities[i])
        first = next(iter(results))
        cand_laws = simulate_fast(results[first]["_examples"]["candidates"][i], np.full(
            len(results[first]["_examples"]["candidates"][i]), n))
        for j, law in enumerate(cand_laws):
            ax.plot(LOAD_GRID_N, law, "-", color="0.8", lw=0.8,
                    label=f"{first}: {len(cand_laws)} candidates" if j == 0 else None)
        ax.plot(LOAD_GRID_N, test.friction_N[i].numpy(), "k-", lw=2.5, label="target")
        for name, r in results.items():
            theta = np.array(r["_examples"]["best"][i])
            law = simulate(theta, n, DESIGN_SEED)
            e = float(smape(law, test.friction_N[i].numpy().astype(np.float64)))
            ax.plot(LOAD_GRID_N, law, "--", lw=1.2, label=f"{name} best of {len(cand_laws)} ({e:.1f} %)")
        ax.set_title(f"test target {i} (N = {n})", fontsize=9)
        ax.set_xlabel("normal load P [N]")
        ax.set_ylabel("friction F [N]")
        ax.legend(fontsize=7)
    for ax in axes.flat[n_examples:]:
        ax.axis("off")
    fig.tight_layout()
    try:
        with atomic_write(path) as tmp:  # keeps the suffix, so matplotlib still writes a PNG
            fig.savefig(tmp, dpi=90)
    finally:
        plt.close(fig)
    return True


def write_json(path, payload: dict) -> None:
    clean = {k: ({m: {kk: vv for kk, vv in r.items() if not kk.startswith("_")} for m, r in v.items()}
                 if k == "results" else v) for k, v in payload.items()}
    atomic_write_bytes(Path(path), (json.dumps(clean, indent=2) + "\n").encode())
