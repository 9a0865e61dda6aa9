"""The jobs table's content: every background job the user started (no Qt).

A job is any long piece of work the user can watch, pause and stop: a refinement today;
a BEM validation, a rate-and-state fit or a GRU training tomorrow. Whatever runs it (the
GUI's studio.gui.jobs.JobRunner drives a generator in a thread) reports here with
`report` and `end`; the table and the board observe the events. Progress can arrive a
hundred times a second, so `report` only records it and `flush` (called ~10 times a
second by the GUI) emits `changed` for the jobs that moved.

Progress is any object with a `fraction` (0..1); `iteration`, `evaluations`, `best_error`,
`best` (a Design), `elapsed_s` and `message` are shown when present, as
studio.design.core.Progress has them.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from studio.design.core import Design, Target
from studio.jobs import JobControl
from studio.state.events import Event

ACTIVE = ("running", "paused")
ENDED = ("finished", "cancelled", "failed")


@dataclass(eq=False)
class Job:
    """One background job: what it is, its control, its latest progress and its outcome."""

    name: str
    kind: str  # what the job does, shown in the table: an engine name ("hybrid"), "BEM", "RSF fit", ...
    control: JobControl = field(default_factory=JobControl)
    state: str = "running"  # running, paused, finished, cancelled or failed
    progress: object | None = None  # the latest progress report
    best: Design | None = None  # a design job's best design so far (shown as a live card on the board)
    result: object = None  # what the job returned when it finished
    error: str = ""  # why it failed
    target: Target | None = None  # a design job's target (its designs are scored against it)
    start_design: Design | None = None  # the design a refinement started from
    started_at: float = field(default_factory=time.perf_counter)
    ended_at: float | None = None
    dirty: bool = False  # progress arrived since the last flush

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    def elapsed_s(self) -> float:
        return (self.ended_at or time.perf_counter()) - self.started_at


class Jobs:
    """All jobs of the session, oldest first."""

    def __init__(self):
        self.items: list[Job] = []
        self.added = Event("a job was started; callbacks get the Job")
        self.changed = Event("a job progressed, paused or resumed; callbacks get the Job")
        self.ended = Event("a job finished, was cancelled or failed; callbacks get the Job")

    def add(self, job: Job) -> Job:
        self.items.append(job)
        self.added.emit(job)
        return job

    def active(self) -> list[Job]:
        return [j for j in self.items if j.active]

    # --- reports from whatever runs the job ------------------------------------------------------
    def report(self, job: Job, progress) -> None:
        """Record a progress report (no event: see `flush`)."""
        job.progress = progress
        best = getattr(progress, "best", None)
        if isinstance(best, Design):  # a design job's best so far (other jobs report other things)
            if best.error_percent is None and job.target is not None and best.friction_N is not None:
                best.error_percent = job.target.error(best.friction_N)
            job.best = best
        job.dirty = True

    def flush(self) -> bool:
        """Emit `changed` for every job that progressed since the last flush; True while any job is active."""
        for job in list(self.items):
            if job.dirty:
                job.dirty = False
                self.changed.emit(job)
        return bool(self.active())

    def end(self, job: Job, state: str, *, result=None, error: str = "") -> None:
        """The job stopped: 'finished' with its result, 'cancelled', or 'failed' with a one-line error."""
        if state not in ENDED:
            raise ValueError(f"a job ends finished, cancelled or failed, not {state!r}")
        if not job.active:
            return
        job.state, job.result, job.error, job.ended_at = state, result, error, time.perf_counter()
        if isinstance(result, list) and result and isinstance(result[0], Design):
            job.best = result[0]  # designs come best first
        job.dirty = False
        self.ended.emit(job)

    # --- the user's controls ------------------------------------------------------------------
    def pause(self, job: Job) -> None:
        if job.state == "running":
            job.control.pause()
            job.state = "paused"
            self.changed.emit(job)

    def resume(self, job: Job) -> None:
        if job.state == "paused":
            job.control.resume()
            job.state = "running"
            self.changed.emit(job)

    def toggle_pause(self, job: Job) -> None:
        (self.resume if job.state == "paused" else self.pause)(job)

    def cancel(self, job: Job) -> None:
        """Ask the job to stop; it ends 'cancelled' (keeping its best design) at its next checkpoint."""
        if job.active:
            job.control.cancel()

    def cancel_all(self) -> None:
        for job in self.items:
            self.cancel(job)
