"""Held-out evaluation of Janus models: the law head against the physics, and θ reconstruction.

A Janus head sees a design (through its latent code) and N, never the realisation seed, so the
law it can know is the design's *expected* law: here the geometric mean over `realisations`
seeds of the float32 physics (the optimum of its log-squared loss). Each target is therefore
scored twice: against that expected law (the figure the goal is about) and against the single
realisation stored in the data set (which no θ-level model can beat the realisation floor on; the
floor is reported as a reference row: the expected law itself against the stored one).

Rows per model (head at the posterior-mean code of the target's θ):
    forward_vs_expected      sMAPE / R² of the head's law vs the expected law of the true θ
    forward_vs_realisation   the same vs the stored single-realisation law
    consistency              the head's law of the code vs the expected law of the code's
                             decoded design (what inversion relies on: the law it promises)
    reconstruction           θ → z → θ: unit-box mean |error| (canonical order), parameter sMAPE,
                             and the decoded design's expected law vs the true θ's
"""
from __future__ import annotations

import time

import numpy as np
import jax.numpy as jnp

from studio.models.dataset import Examples
from studio.physics import bucket_width, canonical, parameter_error, simulate_batch, smape, summary, to_unit

EXPECTATION_SEED = 10_000  # seeds EXPECTATION_SEED .. + realisations − 1 make the expected law
CHUNK = 1024  # rows per compiled call (one compile per asperity bucket)


def expected_laws(theta, n_asperities, realisations: int = 128, with_half: bool = False):
    """Geometric mean over `realisations` seeds of the float32 laws of designs θ (B, 23) at N (B,).

    With `with_half`, also the mean of the first half of the realisations (its distance to the full
    mean is the size of the full mean's own sampling noise)."""
    theta = np.asarray(theta, dtype=np.float64)
    n = np.asarray(n_asperities, dtype=np.int64)
    out = np.empty((len(theta), 128))
    first_half = np.empty((len(theta), 128))
    seeds = EXPECTATION_SEED + np.arange(realisations)
    widths = np.array([bucket_width(int(k)) for k in n])
    for width in np.unique(widths):
        idx = np.flatnonzero(widths == width)
        rows_theta = np.repeat(theta[idx], realisations, axis=0)
        rows_n = np.repeat(n[idx], realisations)
        rows_seed = np.tile(seeds, len(idx))
        logs = np.empty((len(rows_theta), 128))
        for s in range(0, len(rows_theta), CHUNK):
            sl = slice(s, s + CHUNK)
            pad = CHUNK - len(rows_theta[sl])  # fixed shape: one compile per width
            th = np.concatenate([rows_theta[sl], np.repeat(rows_theta[:1], pad, 0)])
            nn = np.concatenate([rows_n[sl], np.repeat(rows_n[:1], pad)])
            ss = np.concatenate([rows_seed[sl], np.repeat(rows_seed[:1], pad)])
            laws = np.asarray(simulate_batch(th, jnp.asarray(nn, jnp.int32), jnp.asarray(ss), width=int(width)),
                              dtype=np.float64)
            logs[sl] = np.log(laws[:CHUNK - pad])
        logs = logs.reshape(len(idx), realisations, 128)
        out[idx] = np.exp(logs.mean(1))
        first_half[idx] = np.exp(logs[:, : max(1, realisations // 2)].mean(1))
    return (out, first_half) if with_half else out


def r2(pred, true) -> float:
    """Coefficient of determination over all targets and loads (residuals against each load's mean)."""
    pred, true = np.asarray(pred, dtype=np.float64), np.asarray(true, dtype=np.float64)
    ss_res = ((pred - true) ** 2).sum()
    ss_tot = ((true - true.mean(0)) ** 2).sum()
    return float(1.0 - ss_res / ss_tot)


def law_metrics(pred, true) -> dict:
    """sMAPE summary [%] per target, R² of F and of log F."""
    return {"smape": summary(smape(pred, true)), "r2": r2(pred, true), "r2_log": r2(np.log(pred), np.log(true))}


def evaluate_janus(models: dict, test: Examples, *, realisations: int = 128, log=print) -> dict:
    """Metrics of each loaded Janus model (name → JanusModel) on the test examples, plus reference rows."""
    theta = np.asarray(test.theta, dtype=np.float64)
    n = test.n_asperities.numpy().astype(np.int64)
    stored = test.friction_N.numpy().astype(np.float64)
    t0 = time.time()
    expected, first_half = expected_laws(theta, n, realisations, with_half=True)

    log(f"expected laws of {len(theta)} targets ({realisations} realisations each) in {time.time() - t0:.0f}s")
    results: dict = {"_reference": {
        "expected_vs_realisation": law_metrics(expected, stored),
        "note": "the expected law of the true θ against the stored single realisation: the floor of any "
                "model that does not know the realisation seed",
        "expectation_noise_half": law_metrics(first_half, expected),
        "note_noise": f"mean of the first {realisations // 2} realisations against the mean of all "
                      f"{realisations}: about the size of the reference's own sampling noise",
    }}
    unit_true = np.clip(to_unit(canonical(theta)), 0, 1)
    for name, model in models.items():
        t1 = time.time()
        z = model.encode(theta, n)
        law = model.predict_law(z, n)
        tl = time.perf_counter()
        model.predict_law(z, n)
        predict_ms = 1e3 * (time.perf_counter() - tl) / len(z)
        decoded = model.decode(z, n)
        decoded_expected = expected_laws(decoded, n, realisations // 4)
        unit_dec = np.clip(to_unit(canonical(decoded)), 0, 1)
        results[name] = {
            "head": model.head,
            "parameters_head": int(sum(p.numel() for p in model.model.head.parameters())),
            "parameters_total": int(sum(p.numel() for p in model.model.parameters())),
            "forward_vs_expected": law_metrics(law, expected),
            "forward_vs_realisation": law_metrics(law, stored),
            "consistency_vs_decoded_expected": law_metrics(law, decoded_expected),
            "reconstruction": {
                "unit_box_mae": float(np.abs(unit_dec - unit_true).mean()),
                "unit_box_mae_per_target": summary(np.abs(unit_dec - unit_true).mean(1)),
                "parameter_smape": summary(parameter_error(decoded, theta)),
                "functional_smape_expected": summary(smape(decoded_expected, expected)),
            },
            "predict_ms_per_design": predict_ms,
            "wall_s": round(time.time() - t1, 1),
        }
        r = results[name]
        log(f"{name}: forward vs expected sMAPE median {r['forward_vs_expected']['smape']['median']:.2f} % "
            f"p95 {r['forward_vs_expected']['smape']['p95']:.2f} % R² {r['forward_vs_expected']['r2']:.4f}; "
            f"reconstruction unit-box MAE {r['reconstruction']['unit_box_mae']:.4f} ({r['wall_s']:.0f}s)")
    return results


def table(results: dict) -> str:
    """The report's two tables (law head, reconstruction) as text."""
    ref = results["_reference"]
    head = (f"{'model':>22} | {'head params':>11} | {'vs expected med / p95':>21} | {'R² F':>6} | {'R² logF':>7} | "
            f"{'vs realisation med / p95':>24} | {'R² F':>6} | {'consistency med':>15}")
    lines = [head, "-" * len(head)]
    for name, r in results.items():
        if name.startswith("_"):
            continue
        e, s, c = r["forward_vs_expected"], r["forward_vs_realisation"], r["consistency_vs_decoded_expected"]
        lines.append(f"{name:>22.22} | {r['parameters_head']:>11,} | {e['smape']['median']:>9.2f} / "
                     f"{e['smape']['p95']:>9.2f} | {e['r2']:>6.4f} | {e['r2_log']:>7.4f} | "
                     f"{s['smape']['median']:>11.2f} / {s['smape']['p95']:>10.2f} | {s['r2']:>6.4f} | "
                     f"{c['smape']['median']:>15.2f}")
    f = ref["expected_vs_realisation"]
    lines.append(f"{'floor: expected law':>22} | {'':>11} | {'':>21} | {'':>6} | {'':>7} | "
                 f"{f['smape']['median']:>11.2f} / {f['smape']['p95']:>10.2f} | {f['r2']:>6.4f} |")
    lines.append("")
    head2 = f"{'model':>22} | {'unit-box MAE':>12} | {'param sMAPE med':>15} | {'expected-law sMAPE med / p95':>28}"
    lines += [head2, "-" * len(head2)]
    for name, r in results.items():
        if name.startswith("_"):
            continue
        rc = r["reconstruction"]
        lines.append(f"{name:>22.22} | {rc['unit_box_mae']:>12.4f} | {rc['parameter_smape']['median']:>15.2f} | "
                     f"{rc['functional_smape_expected']['median']:>13.2f} / "
                     f"{rc['functional_smape_expected']['p95']:>12.2f}")
    n = ref["expectation_noise_half"]["smape"]["median"]
    lines.append(f"(reference noise: half the realisations vs all, sMAPE median {n:.2f} %)")
    return "\n".join(lines)
