"""The `janus` engine: deterministic inversion through the Janus latent space, scored like every engine.

    1. latent descent: the Janus model (studio.models.janus) finds, from `starts` codes at once, latent
       codes whose predicted law (the KHRONOS head) matches the target on the masked loads
       (Levenberg-Marquardt; the surrogate objective never rises), and decodes them (valid θ by
       construction);
    2. scoring: the decoded designs are ranked the one way every candidate engine ranks
       (τ0 and B solved exactly for each realisation, float32 physics, masked sMAPE) under
       `seeds_tried` realisation seeds — the head predicts a design's expected law, and the seed
       decides where one realisation lands around it, so trying many seeds per design is cheap and
       pays (docs/janus.md measures it);
    3. the best three distinct get ADAPT_STEPS gradient steps on what is free, with the validity residual
       (studio.design.search.adapt_proposals, the candidates' step when the material is given or nothing
       is valid): the head ranks designs by their expected law, a few steps bring one realisation onto
       the target and, under the validity default (issue 21), into small strain;
    4. the best distinct designs are simulated exactly (float64) and returned, best first.

Deterministic: the codes depend on the target only; the realisation seeds on the job seed. Quick
(a fraction of a second after warm-up); it does not use the whole budget. Without a Janus model it
ranks a scrambled-Sobol screen of the box instead and says so.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

from studio.design.core import JobControl, Progress, Target
from studio.design.search import _box_screen, _Job, _load_model, _model_name, adapt_proposals, realisation_seeds
from studio.physics import to_unit

DESCENT_CHUNK = 5  # latent iterations between progress reports / checkpoints


def latent_proposals(model, target: Target, starts: int, iterations: int, checkpoint=None) -> Iterator:
    """Decoded designs (unit box) from the latent descent, in chunks: yields after each chunk of
    iterations (for progress and cancel), returns (units (S, 23), the head's sMAPE [%] (S,))."""
    z = model.starts(target.friction_N, target.N, int(starts), mask=target.mask)
    done = 0
    inv = None
    while done < iterations or inv is None:
        step = min(DESCENT_CHUNK, iterations - done)
        if checkpoint is not None:
            checkpoint()
        inv = model.invert(target.friction_N, target.N, starts=z, mask=target.mask, iterations=step, sort=False)
        z = inv.z
        done += step
        yield done
    return np.clip(to_unit(inv.theta), 0.0, 1.0), inv.smape_percent


def search_latent(job, model, *, starts: int, iterations: int, seeds_tried: int, focus: int = 0,
                  focus_seeds: int = 0) -> Iterator[Progress]:
    """The engine's search on a job (studio.design.search._Job): latent descent, then every decoded design
    ranked under `seeds_tried` realisation seeds; results go to the job's archive. Also `hybrid`'s start."""
    if model is not None:
        descent = latent_proposals(model, job.target, starts, iterations, job.checkpoint)
        while True:
            try:
                next(descent)
            except StopIteration as stop:
                units, surrogate = stop.value
                break
            job.iteration += 1
            p = job.progress("latent descent")
            if p is not None:
                yield p
        job.messages.append(f"latent descent: head's sMAPE {float(np.min(surrogate)):.2g} % (best start)")
    else:
        units = _box_screen(max(1, int(starts)) * 16, job.seed)
    # Every design under `seeds_tried` seeds, then the `focus` best designs under `focus_seeds` more: the
    # head ranks designs by their expected law; where one realisation lands is what the seeds search.
    seeds = realisation_seeds(job.seed, max(1, int(seeds_tried)) + max(0, int(focus_seeds)))
    yield from _rank_under_seeds(job, units, seeds[:max(1, int(seeds_tried))], "ranking the decoded designs")
    if focus > 0 and focus_seeds > 0 and not (job.max_evaluations is not None and job.over()):
        best = np.array([unit for unit, _ in job.distinct(int(focus))])
        yield from _rank_under_seeds(job, best, seeds[max(1, int(seeds_tried)):], "more realisations of the best")


def _rank_under_seeds(job, units: np.ndarray, seeds: list[int], message: str) -> Iterator[Progress]:
    """Every design under every seed, ranked the one way (job.objective.rank: studio.physics.ranking, τ0 and
    B fitted per realisation), ~256 rows per call."""
    per_call = max(1, 256 // len(units))
    for i in range(0, len(seeds), per_call):
        job.checkpoint()
        block = seeds[i:i + per_call]
        rows = np.repeat(units, len(block), axis=0)
        row_seeds = np.tile(block, len(units))
        fitted, err = job.objective.rank(rows, row_seeds)
        for s in block:
            mine = row_seeds == s
            job.offer_many(fitted[mine], s, err[mine])
        job.iteration += 1
        p = job.progress(message, force=i == 0)
        if p is not None:
            yield p
        if job.max_evaluations is not None and job.over():
            break


def janus(target: Target, *, seed: int = 0, time_budget_s: float = 5.0, control: JobControl | None = None,
          max_evaluations: int | None = None, count: int = 4, starts: int = 16, iterations: int = 10,
          seeds_tried: int = 16, focus: int = 4, focus_seeds: int = 64, polish: bool = True,
          **options) -> Iterator[Progress]:
    """Janus inversion: latent descent from `starts` codes, decoded, ranked under `seeds_tried` seeds, the
    best three given a few constrained gradient steps (`polish`; off: the ranking alone)."""
    messages: list[str] = []
    job = _Job(target, "janus", seed=seed, time_budget_s=time_budget_s, control=control,
               max_evaluations=max_evaluations)
    with job.off_the_clock():  # the budget is search time (a fresh worker imports torch here)
        model = _load_model("janus", options, messages)
    job.model = _model_name(model, "janus") if model else ""
    job.messages.extend(messages)
    yield from search_latent(job, model, starts=starts, iterations=iterations, seeds_tried=seeds_tried, focus=focus,
                             focus_seeds=focus_seeds)
    if polish:  # the best three get a few gradient steps (docs/janus.md), not cut by the clock
        yield from adapt_proposals(job, always=True, deterministic=True)
    designs, final = job.finish(count)
    yield final
    return designs


__all__ = ["janus", "search_latent", "latent_proposals"]

