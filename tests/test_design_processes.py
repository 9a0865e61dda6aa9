"""Engines in worker processes (studio.design.processes): same designs as in a thread, pause,
resume, cancel, clear errors, and no process left behind."""
import os
import signal
import threading
import time

import numpy as np
import pytest

from studio.design import engines
from studio.design.core import Cancelled, JobControl, Target
from studio.design.processes import EngineProcessError, EngineProcessPool, run_in_process
from studio.errors import StudioError
from studio.physics import LOAD_GRID_N
from test_design_engines import _drive

N = 16  # the smallest bucket: the workers compile little


@pytest.fixture(scope="module")
def target():
    return Target(0.3 * LOAD_GRID_N ** 0.8 + 0.02, N)


@pytest.fixture(scope="module")
def pool(target):
    p = EngineProcessPool(spare=1, keep=2)
    p.prestart(target=target)
    yield p
    p.shutdown()


def test_a_job_in_a_worker_process_finds_the_same_designs_as_in_this_process(pool, target):
    kw = dict(seed=5, max_evaluations=96, time_budget_s=60.0, count=2)
    remote, progress = _drive(pool.run("cmaes", target, **kw))
    local = engines.run("cmaes", target, **kw)
    assert progress and progress[-1].fraction == 1.0
    assert len(remote) == len(local) == 2
    for r, d in zip(remote, local):
        np.testing.assert_array_equal(r.theta, d.theta)
        assert (r.N, r.seed, r.error_percent) == (d.N, d.seed, d.error_percent)
        np.testing.assert_array_equal(r.friction_N, d.friction_N)
    assert remote[0].asperities is not None and len(remote[0].asperities) == N


def test_a_worker_job_pauses_resumes_and_cancels(pool, target):
    control = JobControl()
    gen = pool.run("cmaes", target, control=control, seed=1, time_budget_s=120.0)
    first = next(gen)
    assert first.evaluations >= 0
    control.pause()
    time.sleep(0.3)  # the worker sees the pause within one generation; drain what it sent before
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and gen.gi_frame is not None:
        got = []
        t = threading.Thread(target=lambda: got.append(next(gen)), daemon=True)
        t.start()
        t.join(0.6)
        if t.is_alive():  # no progress while paused: the driver waits
            break
    assert t.is_alive(), "the paused worker kept sending progress"
    control.resume()
    t.join(10)
    assert not t.is_alive() and got, "no progress after resume"
    control.cancel()
    t0 = time.perf_counter()
    with pytest.raises(Cancelled):
        while True:
            next(gen)
    assert time.perf_counter() - t0 < 5
    # The worker is reusable after a cancel: the next job runs on the kept process.
    designs = run_in_process(pool, "cmaes", target, seed=2, max_evaluations=32, time_budget_s=60.0, count=1)
    assert len(designs) == 1 and np.isfinite(designs[0].error_percent)


def test_an_unknown_method_is_refused_with_the_names_of_the_engines(pool, target):
    with pytest.raises(StudioError, match="unknown design method 'nope'.*hybrid"):
        run_in_process(pool, "nope", target)


def test_a_worker_that_dies_mid_job_gives_a_clear_error(target):
    p = EngineProcessPool(spare=0)
    try:
        gen = p.run("cmaes", target, seed=3, time_budget_s=120.0)
        next(gen)  # the worker is running the job
        (worker,) = p._busy
        os.kill(worker.pid, signal.SIGKILL)
        with pytest.raises(EngineProcessError, match="engine process ended during the job"):
            while True:
                next(gen)
        assert p.workers == 0  # the dead worker is not kept
    finally:
        p.shutdown()


def test_an_idle_worker_that_died_is_replaced_for_the_next_job(target):
    p = EngineProcessPool(spare=1)
    try:
        p.prestart()
        (idle,) = p._idle
        os.kill(idle.pid, signal.SIGKILL)
        idle.process.join(5)
        designs = run_in_process(p, "cmaes", target, seed=6, max_evaluations=16, time_budget_s=60.0, count=1)
        assert len(designs) == 1 and np.isfinite(designs[0].error_percent)
        assert all(w.pid != idle.pid for w in p._idle)
    finally:
        p.shutdown()


def test_shutdown_ends_every_worker_even_with_a_job_running(target):
    p = EngineProcessPool(spare=1)
    p.prestart(count=2)  # one for the job, one idle
    control = JobControl()
    gen = p.run("cmaes", target, control=control, seed=4, time_budget_s=120.0)
    next(gen)
    processes = [w.process for w in list(p._busy) + p._idle]
    assert len(processes) == 2
    control.cancel()
    t0 = time.perf_counter()
    p.shutdown(timeout_s=0.5)
    with pytest.raises(Cancelled):
        while True:
            next(gen)
    assert time.perf_counter() - t0 < 5
    assert not any(proc.is_alive() for proc in processes)
    with pytest.raises(EngineProcessError, match="shut down"):
        run_in_process(p, "cmaes", target)


# A job that is not a design engine, and a slow warm-up: module-level, so a worker can import them.
def _slow_warm_up(marker: str, seconds: float) -> None:
    time.sleep(seconds)
    with open(marker, "w") as fh:
        fh.write("done")


def _counting_job(marker: str, steps: int, *, control=None):
    """A job of studio.jobs that is not an engine: yields plain dicts, returns a plain value."""
    for i in range(steps):
        if control is not None:
            control.checkpoint()
        yield {"step": i, "warm_up_done": os.path.exists(marker)}
    return {"steps": steps, "pid": os.getpid()}


def test_any_job_runs_in_a_worker_and_reports_before_a_running_warm_up_ends(tmp_path):
    marker = str(tmp_path / "warmed")
    pool = EngineProcessPool(spare=1, keep=1)
    try:
        pool.prestart()
        pool.prepare(_slow_warm_up, (marker, 3.0), key="slow")
        result, progress = _drive(pool.run_job(_counting_job, (marker, 3), prefer="slow"))
    finally:
        pool.shutdown()
    # The first report left before the warm-up ended; the rest waited for it (its programs).
    assert [p["step"] for p in progress] == [0, 1, 2]
    assert progress[0]["warm_up_done"] is False and progress[1]["warm_up_done"] is True
    assert result["steps"] == 3 and result["pid"] != os.getpid()


def test_a_refinement_reports_its_start_before_a_worker_is_started(target):
    from studio.design.core import Design
    from studio.physics import THETA_SIZE, from_unit

    start = Design.evaluate(from_unit(np.full(THETA_SIZE, 0.4)), N, 3, target, name="card-1")
    pool = EngineProcessPool(spare=0, keep=1)
    try:
        gen = pool.run("cmaes", target, start=start, seed=1, max_evaluations=32, time_budget_s=60.0, count=1)
        first = next(gen)
        assert pool.workers == 0  # reported from here, before any process exists
        assert first.iteration == 0 and first.best_error == pytest.approx(start.error_percent, rel=1e-12)
        assert "card-1" in first.message
        designs, rest = _drive(gen)
        assert rest and all(p.best is None or p.evaluations > 0 for p in rest)  # the worker did not report it again
        assert designs[0].error_percent <= start.error_percent
    finally:
        pool.shutdown()
