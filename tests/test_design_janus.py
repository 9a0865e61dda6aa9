"""The `janus` engine and the property sweep: the engine contract (progress, cancel, pause, determinism,
exact scoring, fallback) and the sweep's bookkeeping. A small untrained Janus model (conftest's
`janus_model`) stands in for the shipped one: the contract does not depend on how good the model is (benchmarks/design.py measures that).
"""
import threading
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from studio.design import engines, search  # noqa: E402
from studio.design.core import Cancelled, JobControl, Target  # noqa: E402
from studio.design.engines import ENGINES, run  # noqa: E402
from studio.jobs import drive  # noqa: E402
from studio.design.search import realisation_seeds  # noqa: E402
from studio.physics import THETA_SIZE, from_unit, simulate  # noqa: E402

N = 32


@pytest.fixture(scope="module")
def target():
    theta = from_unit(np.random.default_rng(42).random(THETA_SIZE))
    return Target(simulate(theta, N, 5), N, source="test")


def _drive(gen):
    progress = []
    while True:
        try:
            progress.append(next(gen))
        except StopIteration as stop:
            return stop.value, progress


def test_janus_engine_reports_progress_and_returns_exactly_scored_designs(target, janus_model):
    # through the registry: `call` hands the engine its model keyword and `count`
    designs, progress = _drive(engines.call("janus", target, seed=0, janus=janus_model, count=3, starts=4,
                                            seeds_tried=8, focus=1, focus_seeds=5, polish=False))
    assert len(designs) == 3 and [d.name for d in designs] == ["janus-1", "janus-2", "janus-3"]
    errors = [d.error_percent for d in designs]
    assert errors == sorted(errors)
    for d in designs:
        assert d.method == "janus" and d.model == "janus-tiny"
        assert d.error_percent == pytest.approx(target.error(simulate(d.theta, N, d.seed)), rel=1e-12)
        assert d.seed in realisation_seeds(0, 8 + 5)
    messages = [p.message for p in progress]
    assert any("latent descent" in m for m in messages) and any("ranking" in m for m in messages)
    assert progress[-1].fraction == 1.0 and progress[-1].best is designs[0]
    # every decoded design under every seed, then the best one under five more, counted
    assert progress[-1].evaluations == 4 * 8 + 1 * 5
    assert any("more realisations of the best" in m for m in messages)
    # the default ends with a few constrained gradient steps on the best three: more evaluations, a design
    # at least as good
    polished, steps = _drive(engines.call("janus", target, seed=0, janus=janus_model, count=3, starts=4,
                                          seeds_tried=8, focus=1, focus_seeds=5))
    assert steps[-1].evaluations > 4 * 8 + 1 * 5  # (its progress reports are throttled: none may show)
    assert polished[0].error_percent <= designs[0].error_percent + 1e-9


def test_janus_engine_is_deterministic_and_its_seed_picks_the_realisations(target, janus_model):
    results = {}

    def job(key, seed):
        results[key] = run("janus", target, seed=seed, janus=janus_model, starts=4, seeds_tried=8, focus_seeds=0)

    threads = [threading.Thread(target=job, args=(i, 7)) for i in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    a, b = results[0], results[1]
    assert len(a) == len(b)
    for da, db in zip(a, b):
        np.testing.assert_array_equal(da.theta, db.theta)
        assert da.seed == db.seed and da.error_percent == db.error_percent
    other = run("janus", target, seed=8, janus=janus_model, starts=4, seeds_tried=8, focus_seeds=0)
    assert {d.seed for d in other}.isdisjoint(realisation_seeds(7, 8))
    assert set(realisation_seeds(7, 8)) == set(realisation_seeds(7, 64)[:8])  # the other engines' first eight


def test_janus_engine_cancels_between_descent_chunks(target, janus_model):
    control = JobControl()
    gen = ENGINES["janus"](target, seed=0, janus=janus_model, control=control, starts=4, iterations=40)
    first = next(gen)
    assert "latent descent" in first.message and first.evaluations == 0
    control.cancel()
    with pytest.raises(Cancelled):
        next(gen)


def test_janus_engine_paused_before_it_starts_evaluates_nothing(target, janus_model):
    control = JobControl()
    seen, result = [], {}

    def job():
        result["designs"] = run("janus", target, seed=1, janus=janus_model, control=control, starts=4,
                                seeds_tried=4, focus=0, polish=False, on_progress=seen.append)

    control.pause()
    th = threading.Thread(target=job)
    th.start()
    time.sleep(0.5)
    assert th.is_alive() and not seen
    control.resume()
    th.join(timeout=60)
    assert not th.is_alive() and result["designs"] and seen[-1].evaluations == 16


def test_janus_engine_falls_back_without_a_model(target, monkeypatch):
    def missing(kind):
        raise search._NoModel(f"models/{kind}.safetensors not found")

    monkeypatch.setattr(search, "_shipped", missing)
    designs, progress = _drive(ENGINES["janus"](target, seed=0, starts=2, seeds_tried=2, focus_seeds=2))
    assert designs and designs[0].method == "janus"
    assert "Janus model unavailable" in progress[-1].message and "not found" in progress[-1].message


def test_property_sweep_walks_the_heads_mu_and_reports_the_exact_physics(janus_model):
    from studio.design.sweep import load_index, property_sweep, sweep_report

    j = load_index(5.0)
    laws = janus_model.predict_law(np.random.default_rng(0).standard_normal((64, 4)), N)
    lo, hi = np.percentile(laws[:, j] / 5.0, [30, 70])  # a range the untrained head reaches
    requested = np.linspace(lo, hi, 5)
    steps = property_sweep(janus_model, N, requested, load_N=5.0, seeds=range(4), rounds=1)
    assert [s.requested_mu for s in steps] == pytest.approx(list(requested))
    for s in steps:
        assert s.mu_predicted == pytest.approx(s.requested_mu, rel=0.01)  # the walk reaches each value
        assert s.seed in range(4)
        assert s.mu == pytest.approx(simulate(s.theta, N, s.seed)[j] / 5.0, rel=1e-12)
        assert s.mu_first_seed == pytest.approx(simulate(s.theta, N, 0)[j] / 5.0, rel=1e-12)
    steps_apart = [np.linalg.norm(a.z - b.z) for a, b in zip(steps, steps[1:])]
    assert max(steps_apart) < 3.0  # one path: neighbours, not independent inversions
    report = sweep_report(steps)
    assert report["predicted"]["spearman"] == pytest.approx(1.0)
    assert report["chosen_seed"]["steps"] == 5
    with pytest.raises(Exception, match="not on the load grid"):
        load_index(5.01)


def test_hybrid_from_janus_starts_from_the_janus_search(target, janus_model):
    seen = []
    designs = run("hybrid_janus", target, seed=0, janus=janus_model, time_budget_s=30.0, max_evaluations=600,
                  on_progress=seen.append)
    assert designs and designs[0].method == "hybrid" and designs[0].model == "janus-tiny"
    messages = [p.message for p in seen]
    assert "latent descent" in messages[0]  # the janus search proposed first
    assert seen[-1].evaluations > 16 * 16  # and the polish and CMA-ES went on from its designs
    assert designs[0].error_percent == pytest.approx(target.error(simulate(designs[0].theta, N, designs[0].seed)),
                                                     rel=1e-12)
    assert engines.spec("hybrid_janus").takes_start and engines.spec("hybrid_janus").models == ("janus",)


def test_hybrid_refuses_an_unknown_proposer(target):
    with pytest.raises(Exception, match="unknown hybrid proposer"):
        next(search.hybrid(target, proposer="gan"))


def test_property_sweep_is_a_job_that_reports_each_step_and_can_be_cancelled(janus_model):
    from studio.design.sweep import load_index, sweep_job

    j = load_index(5.0)
    laws = janus_model.predict_law(np.random.default_rng(0).standard_normal((64, 4)), N)
    requested = np.linspace(*np.percentile(laws[:, j] / 5.0, [30, 70]), 4)
    seen = []
    steps = drive(sweep_job(janus_model, N, requested, seeds=range(2), rounds=1), None, seen.append)
    assert [p.iteration for p in seen] == [1, 2, 3, 4] and len(steps) == 4
    assert all(0 < p.fraction < 1 for p in seen)
    control = JobControl()
    job = sweep_job(janus_model, N, requested, seeds=range(2), rounds=1, control=control)
    next(job)
    control.cancel()
    with pytest.raises(Cancelled):
        next(job)  # the walk checks the control between its iterations


def test_janus_engines_design_on_the_canonical_problem_for_any_load_range(target, janus_model):
    small = Target(target.friction_N * 0.02, N, max_load_N=0.2)  # the same law on (0, 0.2 N]
    # the search (descent and ranking): bit for bit the canonical one
    canonical = run("janus", target, seed=0, janus=janus_model, starts=4, seeds_tried=4, focus_seeds=0, count=2,
                    polish=False)
    scaled = run("janus", small, seed=0, janus=janus_model, starts=4, seeds_tried=4, focus_seeds=0, count=2,
                 polish=False)
    for c, s in zip(canonical, scaled):
        np.testing.assert_array_equal(s.theta, c.theta)  # the same search on the canonical target
        assert s.max_load_N == 0.2 and s.seed == c.seed
        np.testing.assert_allclose(s.friction_N, c.friction_N * 0.02, rtol=1e-9)
        assert s.error_percent == pytest.approx(c.error_percent, abs=1e-9)
    # with the closing gradient steps (the default; a trust-region path that the last bits of the rescaled
    # target can turn): every design is still a canonical design whose law is scaled exactly
    for s in run("janus", small, seed=0, janus=janus_model, starts=4, seeds_tried=4, focus_seeds=0, count=2):
        assert s.max_load_N == 0.2
        np.testing.assert_allclose(s.friction_N, simulate(s.theta, N, s.seed) * 0.02, rtol=1e-9)
        assert s.error_percent == pytest.approx(small.error(s.friction_N), rel=1e-9)
    assert engines.spec("hybrid_janus").run.__wrapped__.keywords == {"proposer": "janus"}
