"""The design engines as the studio calls them: candidates after every target edit, refinement jobs.

All engine calls of the GUI are here. `DesignEngines` knows which engines exist (the registry
studio.design.engines.ENGINES of EngineSpecs, or stand-ins in tests), calls them through
`studio.design.engines.call` (which gives each only what its spec says it takes), and
runs refinements of the real engines in worker processes (studio.design.processes), so a
job's Python work never holds the GUI process's GIL. `Candidates` keeps the board's
candidates in step with the target; `start_refinement` puts a refinement job in the jobs table.
"""
from __future__ import annotations

import itertools
import logging
import time

from PySide6.QtCore import QObject, QTimer, Signal

from studio.design.core import Design, Target
from studio.errors import StudioError
from studio.gui.workers import EngineJob
from studio.state import Job, StudioState

log = logging.getLogger("studio.gui")

CANDIDATE_DEBOUNCE_MS = 120
JOB_WORKERS = 1  # idle, warmed worker processes kept ready for refinement jobs (~0.6 GB each)


class DesignEngines:
    """The engines the studio calls, by name, and the worker processes refinements run in."""

    def __init__(self, table: dict | None = None, *, processes: bool = True):
        self.table = table  # name → EngineSpec; None: studio.design.engines.ENGINES, imported on first use
        # Only the real engines run in worker processes: the workers import them by name.
        self.pool = None
        if table is None and processes:
            from studio.design.processes import EngineProcessPool
            self.pool = EngineProcessPool(spare=JOB_WORKERS)

    def get(self, name: str):
        """The EngineSpec of `name` (what it takes, what it is called): studio.design.engines."""
        if self.table is None:
            from studio.design.engines import ENGINES
            self.table = ENGINES
        return self.table[name]

    def generator(self, name: str, target: Target, *, seed: int, time_budget_s: float, control, models: dict,
                  start: Design | None = None, count: int | None = None, in_process: bool = False):
        """A running engine (a generator of Progress returning designs), given what its spec says it takes.

        in_process: run it in a worker process when the pool exists (refinements; the shipped
        models are loaded there)."""
        from studio.design.engines import call

        spec = self.get(name)
        if in_process and self.pool is not None:
            return self.pool.run(name, target, control=control, seed=seed, time_budget_s=time_budget_s, start=start)
        return call(spec, target, seed=seed, time_budget_s=time_budget_s, control=control, start=start, count=count,
                    **models)

    def warm(self, target: Target) -> None:
        """Have idle job workers ready, the refinement programs for this asperity bucket compiled.

        Asked for when candidates are shown: the workers are separate processes below even the
        candidate engine's priority, so this costs the GUI thread nothing and the next candidates little."""
        if self.pool is None:
            return
        try:
            self.pool.prestart(target=target)
        except (StudioError, OSError) as exc:  # jobs then start their own worker, or fail with a message
            log.info("could not prepare job workers: %s", exc)

    def shutdown(self) -> None:
        """End the worker processes (those that do not stop within 0.5 s are terminated)."""
        if self.pool is not None:
            try:
                self.pool.shutdown(timeout_s=0.5)
            except OSError as exc:  # closing must go on; the workers are daemons and end with the studio
                log.error("could not stop the job workers cleanly: %s", exc)


class Candidates(QObject):
    """The board's candidates follow the target: one engine run per edit, debounced, stale ones dropped.

    An edit after a quiet spell starts the candidates at once (a preset, an N change, a handle
    released: no waiting); edits that follow within CANDIDATE_DEBOUNCE_MS of the last one are
    merged into one more run when they stop (a freehand drag, a spin box held down)."""

    shown = Signal(int)   # generation number, after the board holds the new candidates
    message = Signal(str)  # what happened and how long it took (status bar)
    failed = Signal(str)

    def __init__(self, state: StudioState, engines: DesignEngines, budget_s: float = 2.0, parent=None):
        super().__init__(parent)
        self.state, self.engines, self.budget_s = state, engines, budget_s
        self.job: EngineJob | None = None
        self.generation = 0
        self.pending = False  # a trailing run is due when the debounce ends
        self.closing = False
        self.changed_at = 0.0  # when the edit that the next run answers was made
        self.timings: dict[str, float] = {}  # latency_s, engine_s, gallery_s, wait_s of the last shown run
        self.debounce = QTimer(self)
        self.debounce.setSingleShot(True)
        self.debounce.setInterval(CANDIDATE_DEBOUNCE_MS)
        self.debounce.timeout.connect(self._debounce_ended)
        state.target.changed.connect(lambda t: self.request(t.changed_at))
        state.settings.changed.connect(lambda _s, names: self.request() if {"K", "candidate_seed"} & set(names)
                                       else None)
        state.material.changed.connect(lambda _m: self.request())  # the user's material: new candidates

    def request(self, changed_at: float | None = None) -> None:
        """New candidates for the current target and settings; `changed_at`: when the edit was made."""
        if self.closing:
            return
        self.changed_at = self.changed_at or changed_at or time.perf_counter()
        if self.debounce.isActive():
            self.pending = True  # the trailing run, when the edits stop
            self.debounce.start()
            return
        self.pending = False
        self.debounce.start()  # the quiet spell this run opens
        self._run()

    def busy(self) -> bool:
        """An engine run is going on or due (extras such as the cards' facts wait for it)."""
        return self.job is not None or self.debounce.isActive() or self.pending

    def _debounce_ended(self) -> None:
        if self.pending:
            self.pending = False
            self._run()

    def _run(self) -> None:
        target, settings = self.state.material.constrain(self.state.target.target), self.state.settings
        if target is None or self.closing:
            return
        if self.job is not None:
            self.job.cancel()  # stale: its results would be discarded anyway
        self.generation += 1
        generation, count, models = self.generation, settings.K, dict(self.state.models)
        seed = settings.candidate_seed  # fixed, so the same target (e.g. after undo) gives the same candidates
        try:
            self.engines.get("candidates")
        except (KeyError, ImportError) as exc:
            self.failed.emit(f"No candidate engine available ({exc}); refine from a design file instead.")
            return
        job = EngineJob(lambda control: self.engines.generator("candidates", target, seed=seed,
                                                               time_budget_s=self.budget_s, control=control,
                                                               count=count, models=models), name="candidates")
        job.finished.connect(lambda designs, g=generation, t=target: self._done(g, t, designs))
        job.failed.connect(lambda msg, g=generation: g == self.generation and self.failed.emit(
            f"Candidates failed: {msg}"))
        job.ended.connect(lambda j=job: self._forget(j))
        self.job = job
        self._started_at = time.perf_counter()
        self._asked_at, self.changed_at = self.changed_at or self._started_at, 0.0
        self.message.emit("Proposing candidates…")
        job.start()

    def _forget(self, job: EngineJob) -> None:
        if self.job is job:
            self.job = None

    def _done(self, generation: int, target: Target, designs: list) -> None:
        if generation != self.generation or self.closing:
            return  # a newer target is on its way: discard
        t_show = time.perf_counter()
        designs = list(designs or [])
        self.state.board.replace_candidates(designs[: self.state.settings.K])
        now = time.perf_counter()
        self.timings = {"engine_s": t_show - self._started_at, "gallery_s": now - t_show,
                        "wait_s": self._started_at - self._asked_at, "latency_s": now - self._asked_at}
        best = min((d.error_percent for d in designs if d.error_percent is not None), default=None)
        self.engines.warm(target)
        self.message.emit(f"{len(designs)} candidates in {1000 * (now - self._started_at):.0f} ms"
                          + (f", best sMAPE {best:.2f} %" if best is not None else ""))
        self.shown.emit(generation)

    def stop(self) -> None:
        self.closing = True
        self.debounce.stop()
        if self.job is not None:
            self.job.cancel()


_seeds = itertools.count(1)


def start_refinement(state: StudioState, engines: DesignEngines, runner, design: Design | None, method: str,
                     budget_s: float) -> Job:
    """A refinement job from `design` (None: a new search) for the current target, in the jobs table.

    Raises StudioError when there is no target or the method is unknown."""
    if state.target.target is None:
        raise StudioError("Set a target before refining.")
    try:
        spec = engines.get(method)
    except (KeyError, ImportError) as exc:
        raise StudioError(f"Refinement method {method!r} is not available ({exc}).") from None
    target = state.material.constrain(state.target.target_for(state.target.N if design is None else design.N))
    from_design = design is not None and spec.takes_start
    name = f"{method} #{len(state.jobs.items) + 1}" + (f" from {design.name}" if from_design else " (new search)")
    if design is not None and not from_design:
        log.info("engine %r takes no start design: %s searches for the target from scratch", method, name)
    seed, models = next(_seeds), dict(state.models)
    job = Job(name, method, target=target, start_design=design if from_design else None)
    return runner.start(job, lambda control: engines.generator(method, target, seed=seed, time_budget_s=budget_s,
                                                               control=control, models=models,
                                                               start=job.start_design, in_process=True))
